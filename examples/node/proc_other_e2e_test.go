//go:build e2e && !linux

package main

import "syscall"

// sysProcAttr: outside Linux there is no parent-death signal; the test's
// cleanup kills the nodes.
func sysProcAttr() *syscall.SysProcAttr { return nil }
