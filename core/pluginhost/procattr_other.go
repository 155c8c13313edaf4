//go:build !linux

package pluginhost

import "syscall"

// procAttr has nothing to add off Linux; sdk/sender's parent watch ends
// orphaned plugins there.
func procAttr() *syscall.SysProcAttr { return nil }
