//go:build e2e && linux

package main

import "syscall"

// sysProcAttr makes the kernel kill a node if the test process dies before
// its cleanup runs (a panic or a -timeout), so no node outlives the test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
