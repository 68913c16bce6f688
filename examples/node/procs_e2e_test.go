//go:build e2e

package main

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The harness runs node binaries as child processes on free loopback ports,
// each with its own data dir, and kills every one when the test ends.

const (
	testToken   = "e2e-token-0123456789"
	waitTimeout = 30 * time.Second
	pollEvery   = 100 * time.Millisecond
)

// buildNode builds this package's binary into a temporary directory.
func buildNode(t *testing.T) string {
	t.Helper()
	return buildBinary(t, ".", "node")
}

// buildBinary builds the command in directory pkg into a temporary
// directory as name.
func buildBinary(t *testing.T, pkg, name string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	out, err := exec.Command(gobin, "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePorts returns n distinct free loopback ports. It holds all the
// listeners until it has n, so no port repeats; another process could still
// take one before the node binds it, which this machine's tests do not do.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// output collects a process's standard output and error, and notices the
// line that gives the admin URL.
type output struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string // the start of the line that says the process is up
	url    string // what follows prefix on that line
	ready  chan struct{}
}

const listeningPrefix = "admin listening on "

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if o.url == "" {
		all := o.buf.String()
		if i := strings.Index(all, o.prefix); i >= 0 {
			rest := all[i+len(o.prefix):]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				o.url = strings.TrimSpace(rest[:j])
				close(o.ready)
			}
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// proc is one node: its fixed addresses and data dir, and its current run.
type proc struct {
	id, raftAddr, url, dataDir string
	ready                      string   // the start of the line it prints when up; listeningPrefix if ""
	args                       []string // all flags, for restarts
	wrap                       []string // a command and its arguments to run the node under, if any

	cmd    *exec.Cmd
	exited chan struct{}
	runs   []*output // every run's output, for the failure log
}

// cluster is a set of node processes sharing a token.
type cluster struct {
	t     *testing.T
	bin   string
	procs []*proc
}

// newCluster prepares n nodes named n1..nN with free loopback ports and
// their own data dirs; extra(i) gives node i's extra flags. Nothing starts
// yet. Every process is killed when the test ends, and on failure every
// run's output goes to the test log.
func newCluster(t *testing.T, bin string, n int, extra func(i int, c *cluster) []string) *cluster {
	ports := freePorts(t, 2*n)
	return newClusterOf(t, bin, n, func(i int, p *proc) {
		p.raftAddr = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		p.url = fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
	}, extra)
}

// newClusterOf is newCluster with node i's addresses set by place, which
// fills in p.raftAddr and p.url (and p.wrap, to run it through a command
// such as ip netns exec).
func newClusterOf(t *testing.T, bin string, n int, place func(i int, p *proc), extra func(i int, c *cluster) []string) *cluster {
	c := &cluster{t: t, bin: bin}
	var admins []string
	for i := range n {
		p := &proc{
			id:      fmt.Sprintf("n%d", i+1),
			dataDir: filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i+1)),
		}
		place(i, p)
		admins = append(admins, p.id+"="+p.url)
		c.procs = append(c.procs, p)
	}
	for i, p := range c.procs {
		p.args = []string{
			"-id", p.id, "-raft-addr", p.raftAddr, "-http-addr", strings.TrimPrefix(p.url, "http://"),
			"-data-dir", p.dataDir, "-admin-peers", strings.Join(admins, ","),
			"-tick", "200ms", "-copy-time", "100ms", "-raft-timeout", "500ms",
			"-snapshot-threshold", "4", "-snapshot-interval", "200ms",
		}
		if extra != nil {
			p.args = append(p.args, extra(i, c)...)
		}
	}
	c.cleanUpAtEnd()
	return c
}

// cleanUpAtEnd makes the test's end kill every process of c still
// running and, on failure, log every run's output.
func (c *cluster) cleanUpAtEnd() {
	c.t.Cleanup(func() {
		for _, p := range c.procs {
			if p.running() {
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		if c.t.Failed() {
			for _, p := range c.procs {
				for k, run := range p.runs {
					c.t.Logf("===== %s run %d output =====\n%s", p.id, k+1, run)
				}
			}
		}
	})
}

// peers is the -peers value naming every node.
func (c *cluster) peers() string {
	var out []string
	for _, p := range c.procs {
		out = append(out, p.id+"="+p.raftAddr)
	}
	return strings.Join(out, ",")
}

// start runs node i and waits until its admin listener is up.
func (c *cluster) start(i int) {
	c.t.Helper()
	p := c.procs[i]
	out := &output{prefix: cmp.Or(p.ready, listeningPrefix), ready: make(chan struct{})}
	p.runs = append(p.runs, out)
	argv := append(append(append([]string{}, p.wrap...), c.bin), p.args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), tokenEnv+"="+testToken)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", p.id, err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(p.cmd, p.exited)
	select {
	case <-out.ready:
		if p.ready == "" && out.url != p.url {
			c.t.Fatalf("%s listens on %s, want %s", p.id, out.url, p.url)
		}
	case <-p.exited:
		c.t.Fatalf("%s exited at start: %v", p.id, p.cmd.ProcessState)
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s did not print %q within %v", p.id, out.prefix, waitTimeout)
	}
}

func (p *proc) running() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to node i and waits for it to die.
func (c *cluster) kill(i int) {
	c.t.Helper()
	p := c.procs[i]
	if err := p.cmd.Process.Kill(); err != nil {
		c.t.Fatalf("kill %s: %v", p.id, err)
	}
	<-p.exited
}

// terminate sends SIGTERM to node i and requires a clean exit in time.
func (c *cluster) terminate(i int) {
	c.t.Helper()
	p := c.procs[i]
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatalf("SIGTERM %s: %v", p.id, err)
	}
	select {
	case <-p.exited:
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s did not exit within %v of SIGTERM", p.id, waitTimeout)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		c.t.Errorf("%s exited with %d after SIGTERM, want 0", p.id, code)
	}
}

// waitFor polls cond until it holds, failing the test with what cond last
// said if waitTimeout passes first.
func (c *cluster) waitFor(what string, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s; last: %s", waitTimeout, what, detail)
		}
		time.Sleep(pollEvery)
	}
}

// startBootstrapped starts n nodes of a new cluster, the first bootstrapping
// it with all n as voters.
func startBootstrapped(t *testing.T, bin string, n int) *cluster {
	t.Helper()
	c := newCluster(t, bin, n, func(i int, c *cluster) []string {
		if i == 0 {
			return []string{"-bootstrap", "-peers", c.peers()}
		}
		return nil
	})
	for i := range c.procs {
		c.start(i)
	}
	return c
}

// waitFormat waits until every running node's map is at format version v
// (the leader raises it by itself once every voter reads it).
func (c *cluster) waitFormat(v uint64) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("format version %d on every server", v), func() (bool, string) {
		for _, p := range c.procs {
			if !p.running() {
				continue
			}
			var st status
			if _, err := getJSON(p.url+"/status", &st); err != nil || st.Format != v {
				return false, fmt.Sprintf("%s: format %d, %v", p.id, st.Format, err)
			}
		}
		return true, ""
	})
}
