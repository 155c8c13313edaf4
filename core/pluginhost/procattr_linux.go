package pluginhost

import "syscall"

// procAttr makes the kernel kill a plugin when the gateway dies, even by
// SIGKILL, so no orphaned plugin outlives it. (sdk/sender also watches
// its parent, for the rare case where the forking thread exits first.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
