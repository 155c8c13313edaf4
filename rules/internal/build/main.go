// Command build compiles every rule in the rules folder to a WebAssembly
// module, reproducibly: the same source and Go toolchain always give the
// same bytes. go generate ./rules runs it from the rules folder.
//
//	go run ./internal/build [-out wasm]
//
// A rule is a folder holding a main.go; each becomes <out>/<folder>.wasm,
// built as a WASI reactor with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -buildvcs=false -ldflags=-buildid=
//
// -trimpath keeps file paths out, the empty build id and -buildvcs=false
// keep out what changes with every commit, and the environment variables
// that change code generation (GOFLAGS, GOWASM, GOEXPERIMENT, CGO_ENABLED)
// are set rather than inherited. The toolchain's version is written to
// <out>/GOVERSION: another toolchain builds other bytes.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

func main() {
	out := flag.String("out", "wasm", "the folder the modules are written to")
	flag.Parse()
	if err := run(context.Background(), ".", *out); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

// run builds every rule under dir into out.
func run(ctx context.Context, dir, out string) error {
	names, err := rules(dir)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no rule (a folder with a main.go) in %s", dir)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	version, err := goOutput(ctx, dir, "env", "GOVERSION")
	if err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(names))
	)
	for i, name := range names {
		wg.Go(func() {
			errs[i] = build(ctx, dir, name, filepath.Join(out, name+".wasm"))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return writeFile(filepath.Join(out, "GOVERSION"), []byte(version+"\n"))
}

// rules lists the folders of dir that hold a main.go, sorted.
func rules(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "internal" || e.Name() == "testdata" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "main.go")); err == nil {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// build compiles the rule in dir/name to the module at dst.
func build(ctx context.Context, dir, name, dst string) error {
	tmp := dst + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildmode=c-shared", "-buildvcs=false",
		"-ldflags=-buildid=", "-o", tmp, "./"+name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=", "GOWASM=", "GOEXPERIMENT=", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("building %s: %w\n%s", name, err, stderr.Bytes())
	}
	return os.Rename(tmp, dst)
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// writeFile writes through a temporary file, so that a module or version
// file is never seen half written.
func writeFile(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
