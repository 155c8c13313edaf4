// Package wattest turns WebAssembly text into binaries for tests, with wabt's
// wat2wasm. CI installs wabt (apt-get install wabt); without it the tests
// fail with a message that says so rather than skip.
package wattest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Compile runs wat2wasm on the .wat file at path, with extra flags, and
// returns the binary. It fails t when wat2wasm is missing or refuses the file.
func Compile(t testing.TB, path string, flags ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm not found in PATH: install wabt (apt-get install -y wabt) to build the test modules: %v", err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path)+".wasm")
	args := append(append([]string{}, flags...), path, "-o", out)
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", path, err, stderr.String())
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
