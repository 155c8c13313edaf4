package rules_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/srcwatch"
)

// TestBuiltinIsFresh builds every rule twice, as go generate does, and
// checks that the two builds are the same bytes (the build is reproducible)
// and the same as the committed modules (nobody forgot go generate).
//
// Another Go toolchain builds other bytes, so the second comparison only
// runs with the toolchain that built the committed modules (wasm/GOVERSION);
// with another one it is skipped, except in CI (the CI variable is set),
// where it fails.
func TestBuiltinIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every rule twice")
	}
	// The builds read the sources in other processes, which go test's cache
	// cannot see; a stale pass here is exactly the mistake this test is for.
	srcwatch.Consult(t, ".", filepath.Join("..", "sdk", "rule"))
	first, second := t.TempDir(), t.TempDir()
	generate(t, first)
	generate(t, second)

	built := moduleNames(t, first)
	if again := moduleNames(t, second); !slices.Equal(built, again) {
		t.Fatalf("the builds made different modules: %v and %v", built, again)
	}
	for _, name := range built {
		a, b := readFile(t, first, name), readFile(t, second, name)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ (%d and %d bytes): the build is not reproducible", name, len(a), len(b))
		}
	}

	want := strings.TrimSpace(string(readFile(t, "wasm", "GOVERSION")))
	have := strings.TrimSpace(string(readFile(t, first, "GOVERSION")))
	if have != want {
		msg := "the committed modules were built by " + want + ", this is " + have +
			": run go generate ./rules with " + want + ", or commit what " + have + " builds"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if committed := moduleNames(t, "wasm"); !slices.Equal(built, committed) {
		t.Errorf("the rules build %v, but wasm/ holds %v: run go generate ./rules", built, committed)
	}
	for _, name := range built {
		got, err := os.ReadFile(filepath.Join("wasm", name))
		if err != nil {
			continue // reported above
		}
		if !bytes.Equal(got, readFile(t, first, name)) {
			t.Errorf("wasm/%s does not match its source: run go generate ./rules", name)
		}
	}
}

// generate runs the go:generate command into out.
func generate(t *testing.T, out string) {
	t.Helper()
	cmd := exec.Command("go", "run", "./internal/build", "-out", out)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/build: %v\n%s", err, output)
	}
}

func moduleNames(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
