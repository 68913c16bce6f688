//go:build e2e && linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// netLab is a small network the test makes and removes: one network
// namespace per server, whose only link, e0 (10.99.0.<i+1>/24), is a veth
// whose other end is a port of a bridge in a hub namespace of its own.
// Nothing in the host's namespace is touched, so traffic flows only between
// the lab's namespaces. Taking a server's bridge port down cuts it off from
// every other server, in both directions; bringing it up heals the cut.
type netLab struct {
	t     *testing.T
	ip    string   // the ip command (iproute2)
	hub   string   // the bridge's namespace
	nodes []string // server i's namespace
}

// netnsDir is where ip netns keeps a namespace's file.
const netnsDir = "/var/run/netns"

// labs numbers the labs of this process, for unique namespace names.
var labs atomic.Int64

// newNetLab makes a lab for n servers and removes it when the test ends,
// even on failure. It skips the test where namespaces cannot be made: not
// root, no ip command, or the kernel refuses (EPERM in a container).
func newNetLab(t *testing.T, n int) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: making network namespaces needs root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skipf("skipped: no ip command (iproute2) to make network namespaces: %v", err)
	}
	prefix := fmt.Sprintf("plc%d-%d", os.Getpid(), labs.Add(1))
	l := &netLab{t: t, ip: ip, hub: prefix + "-hub"}
	if out, err := exec.Command(ip, "netns", "add", l.hub).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot make a network namespace here (ip netns add: %v: %s)", err, bytesTrim(out))
	}
	t.Cleanup(func() { l.remove(l.hub) })
	l.run(l.hub, "link", "add", "br0", "type", "bridge")
	l.run(l.hub, "link", "set", "br0", "up")
	for i := range n {
		ns := fmt.Sprintf("%s-n%d", prefix, i+1)
		l.run("", "netns", "add", ns)
		t.Cleanup(func() { l.remove(ns) })
		l.nodes = append(l.nodes, ns)
		port := l.port(i)
		l.run(l.hub, "link", "add", port, "type", "veth", "peer", "name", "e0", "netns", ns)
		l.run(l.hub, "link", "set", port, "master", "br0")
		l.run(l.hub, "link", "set", port, "up")
		l.run(ns, "link", "set", "lo", "up")
		l.run(ns, "addr", "add", l.addr(i)+"/24", "dev", "e0")
		l.run(ns, "link", "set", "e0", "up")
	}
	// Connections into the namespaces are the test's: close the idle ones
	// before the namespaces go.
	t.Cleanup(client.CloseIdleConnections)
	return l
}

// port is server i's port on the hub's bridge.
func (l *netLab) port(i int) string { return fmt.Sprintf("p%d", i+1) }

// addr is server i's IP address.
func (l *netLab) addr(i int) string { return fmt.Sprintf("10.99.0.%d", i+1) }

// place is a newClusterOf placement: server i runs in its namespace, raft
// on port 7000 and the admin listener on port 8000 of its address. The
// admin listener is not on loopback, so that followers can forward writes
// to the leader's: the node needs -admin-public.
func (l *netLab) place(i int, p *proc) {
	p.raftAddr = l.addr(i) + ":7000"
	admin := l.addr(i) + ":8000"
	p.url = "http://" + admin
	p.wrap = []string{l.ip, "netns", "exec", l.nodes[i]}
	netnsOf.Store(admin, filepath.Join(netnsDir, l.nodes[i]))
	l.t.Cleanup(func() { netnsOf.Delete(admin) })
}

// cut partitions server i from all the others.
func (l *netLab) cut(i int) {
	l.t.Helper()
	l.run(l.hub, "link", "set", l.port(i), "down")
}

// heal ends cut(i).
func (l *netLab) heal(i int) {
	l.t.Helper()
	l.run(l.hub, "link", "set", l.port(i), "up")
}

// run runs ip in namespace ns ("": the host's, for ip netns add) and fails
// the test if it fails.
func (l *netLab) run(ns string, args ...string) {
	l.t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if out, err := exec.Command(l.ip, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytesTrim(out))
	}
}

// remove deletes namespace ns, which takes its links with it (a veth's
// peer goes too). Its processes must be gone: the cluster's cleanup, which
// runs first, kills them.
func (l *netLab) remove(ns string) {
	if out, err := exec.Command(l.ip, "netns", "delete", ns).CombinedOutput(); err != nil {
		l.t.Errorf("ip netns delete %s: %v: %s", ns, err, bytesTrim(out))
	}
}

func bytesTrim(b []byte) string { return strings.TrimSpace(string(b)) }

// dialInNetns connects to addr from inside the network namespace whose
// file is nsPath. A socket belongs to the namespace of the thread that
// made it, for its whole life, so the dial runs on a goroutine locked to a
// thread that enters the namespace, and then returns to its own before
// unlocking. The thread must outlive the dial: the nodes run with
// Pdeathsig, which fires when the thread that started them ends, and any
// thread may have started one. Only if the return fails does the
// goroutine end locked, and the runtime ends that thread rather than
// reuse it in the wrong namespace.
func dialInNetns(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer home.Close()
		f, err := os.Open(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("setns %s: %w", nsPath, err)}
			return
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		done <- result{conn, err}
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	r := <-done // the dial ends with ctx
	return r.conn, r.err
}
