//go:build unix

package assemblyscript_test

import (
	"fmt"
	"os"
	"syscall"
)

// lockBuild takes an exclusive lock on path, so that test runs sharing this
// folder (go test ./... twice at once) install and build one at a time.
// The returned func releases it.
func lockBuild(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the build: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the build: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
