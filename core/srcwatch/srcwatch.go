// Package srcwatch lets a test that builds a program from source with the
// go command tell `go test` which sources it depends on.
//
// `go test` caches a passing result and replays it while the test binary
// and the files the test itself opened are unchanged. A test that runs
// `go build` on other sources (a rule, a plugin, the gateway) reads them in
// another process, which the cache cannot see: without Consult, changing
// those sources would replay a stale pass.
package srcwatch

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Consult reads every Go source file and go.mod under dirs (recursively,
// skipping node_modules),
// so that `go test` records them and runs the test again when one changes.
func Consult(tb testing.TB, dirs ...string) {
	tb.Helper()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir // an npm install: no Go in it, and large
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
				return nil
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			tb.Fatalf("read the sources the test builds from: %v", err)
		}
	}
}
