//go:build e2e && !linux

package main

import (
	"context"
	"errors"
	"net"
	"syscall"
)

// sysProcAttr: outside Linux there is no parent-death signal; the test's
// cleanup kills the nodes.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// dialInNetns: network namespaces are Linux's; no test makes one elsewhere.
func dialInNetns(context.Context, string, string, string) (net.Conn, error) {
	return nil, errors.New("network namespaces need Linux")
}
