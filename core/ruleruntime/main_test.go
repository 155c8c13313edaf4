package ruleruntime_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/callgate/callgate/core/ruleruntime/internal/wattest"

	"github.com/callgate/callgate/core/srcwatch"
)

// shared holds what every test of this package reuses: the Go reactor,
// built once, and a compilation cache directory, so that it is compiled by
// wazero once too.
var shared struct {
	dir       string
	goReactor []byte
	goErr     error
	goOnce    sync.Once
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ruleruntime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cacheDir is the compilation cache the tests share.
func cacheDir() string { return filepath.Join(shared.dir, "cache") }

// wat returns testdata/name.wat compiled with wat2wasm.
func wat(t testing.TB, name string) []byte {
	t.Helper()
	return wattest.Compile(t, filepath.Join("testdata", name+".wat"))
}

// goReactor returns testdata/goreactor built as a wasip1 reactor, built the
// first time it is asked for.
func goReactor(t testing.TB) []byte {
	srcwatch.Consult(t, filepath.Join("testdata", "goreactor"))
	t.Helper()
	shared.goOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out := filepath.Join(shared.dir, "goreactor.wasm")
		cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Dir = filepath.Join("testdata", "goreactor")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			shared.goErr = fmt.Errorf("build testdata/goreactor: %v\n%s", err, stderr.String())
			return
		}
		shared.goReactor, shared.goErr = os.ReadFile(out)
	})
	if shared.goErr != nil {
		t.Fatal(shared.goErr)
	}
	return shared.goReactor
}
