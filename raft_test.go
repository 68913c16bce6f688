package placement

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Bounds for a real cluster on a loaded CI machine (2 cores, -race). They
// bound waits for conditions; none of them stands in for synchronisation.
const (
	clusterWait = 10 * time.Second
	signalWait  = 5 * time.Second
)

// testFSM counts the command entries it applies and answers each with the
// configured response, or with the new count when none is configured. While
// a gate is set, Apply waits for it to close, as a busy FSM would.
type testFSM struct {
	mu       sync.Mutex
	applied  int
	response any
	gate     chan struct{}
}

func (f *testFSM) Apply(*raft.Log) any {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied++
	if f.response != nil {
		return f.response
	}
	return f.applied
}

func (f *testFSM) setResponse(v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.response = v
}

func (f *testFSM) setGate(gate chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = gate
}

func (f *testFSM) appliedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *testFSM) Snapshot() (raft.FSMSnapshot, error) { return testSnapshot{}, nil }
func (f *testFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type testSnapshot struct{}

func (testSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (testSnapshot) Release()                             {}

// testCluster is a bootstrapped raft cluster over in-memory transports, with
// a RaftAdapter per server. Index i names the same server in every slice.
type testCluster struct {
	t     *testing.T
	rafts []*raft.Raft
	trans []*raft.InmemTransport
	fsms  []*testFSM
	nodes []*RaftAdapter
}

// newTestCluster starts n fully connected voters, waits for a leader, and
// shuts every server down when the test ends.
func newTestCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	t.Cleanup(c.shutdown)

	servers := make([]raft.Server, n)
	for i := range n {
		addr, trans := raft.NewInmemTransport("")
		c.trans = append(c.trans, trans)
		servers[i] = raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(fmt.Sprintf("node%d", i)), Address: addr}
	}
	for i, trans := range c.trans {
		for j, peer := range c.trans {
			if i != j {
				trans.Connect(peer.LocalAddr(), peer)
			}
		}
	}
	for i, trans := range c.trans {
		conf := raft.DefaultConfig()
		conf.LocalID = servers[i].ID
		conf.HeartbeatTimeout = 50 * time.Millisecond
		conf.ElectionTimeout = 50 * time.Millisecond
		conf.LeaderLeaseTimeout = 50 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		conf.Logger = hclog.New(&hclog.LoggerOptions{Name: string(conf.LocalID), Level: hclog.Off, Output: io.Discard})
		store, snaps := raft.NewInmemStore(), raft.NewInmemSnapshotStore()
		if err := raft.BootstrapCluster(conf, store, store, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
			t.Fatalf("bootstrap %s: %v", conf.LocalID, err)
		}
		fsm := &testFSM{}
		r, err := raft.NewRaft(conf, fsm, store, store, snaps, trans)
		if err != nil {
			t.Fatalf("start %s: %v", conf.LocalID, err)
		}
		c.rafts = append(c.rafts, r)
		c.fsms = append(c.fsms, fsm)
		c.nodes = append(c.nodes, NewRaftNode(r))
	}
	c.leader()
	return c
}

func (c *testCluster) shutdown() {
	for _, node := range c.nodes {
		node.Close()
	}
	all := make([]int, len(c.rafts))
	for i := range all {
		all[i] = i
	}
	c.stop(all...)
}

// stop shuts the given servers down. Shutdown waits for raft's RPCs, and an
// RPC to a server already shut down waits out the transport's 500ms timeout,
// so stop first cuts their routes (new RPCs fail at once) and then stops
// leaders first: their in-flight RPCs go to followers still running, and
// followers send none.
func (c *testCluster) stop(servers ...int) {
	c.t.Helper()
	var order []int
	for _, i := range servers {
		c.isolate(i)
		if c.rafts[i].State() == raft.Leader {
			order = append([]int{i}, order...)
		} else {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if err := c.rafts[i].Shutdown().Error(); err != nil {
			c.t.Errorf("shutdown node%d: %v", i, err)
		}
	}
}

// leader waits until exactly one server is the leader and returns its index.
func (c *testCluster) leader() int {
	c.t.Helper()
	leader := -1
	waitFor(c.t, "a single leader", func() bool {
		leader = -1
		for i, r := range c.rafts {
			if r.State() == raft.Leader {
				if leader >= 0 {
					return false
				}
				leader = i
			}
		}
		return leader >= 0
	})
	return leader
}

// peers returns the indexes of every server but i.
func (c *testCluster) peers(i int) []int {
	var out []int
	for j := range c.rafts {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}

// isolate cuts server i off from every peer, in both directions.
func (c *testCluster) isolate(i int) {
	c.trans[i].DisconnectAll()
	for _, j := range c.peers(i) {
		c.trans[j].Disconnect(c.trans[i].LocalAddr())
	}
}

// waitFor polls cond until it holds, failing the test after clusterWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", clusterWait, what)
		}
		<-tick.C
	}
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func requireNotLeader(t *testing.T, err, raftErr error) {
	t.Helper()
	if !errors.Is(err, ErrNotLeader) || !errors.Is(err, raftErr) {
		t.Fatalf("error %v: want one matching both placement.ErrNotLeader and raft's %q", err, raftErr)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	t.Cleanup(cancel)
	return ctx
}

func TestRaftAdapterApplyOnLeader(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.leader()

	resp, err := c.nodes[leader].Apply(testContext(t), []byte("entry"))
	if err != nil {
		t.Fatalf("Apply on the leader: %v", err)
	}
	if resp != 1 {
		t.Fatalf("Apply response = %v, want the FSM's count 1", resp)
	}
	if isLeader, term := c.nodes[leader].Leader(); !isLeader || term == 0 {
		t.Fatalf("leader's Leader() = %v, %d; want true and a non-zero term", isLeader, term)
	}
	for _, i := range c.peers(leader) {
		if isLeader, _ := c.nodes[i].Leader(); isLeader {
			t.Fatalf("follower node%d reports itself leader", i)
		}
	}
}

func TestRaftAdapterApplyOnFollower(t *testing.T) {
	c := newTestCluster(t, 3)
	follower := c.peers(c.leader())[0]

	resp, err := c.nodes[follower].Apply(testContext(t), []byte("entry"))
	requireNotLeader(t, err, raft.ErrNotLeader)
	if resp != nil {
		t.Fatalf("Apply on a follower returned response %v with its error", resp)
	}
}

func TestRaftAdapterApplyErrorResponse(t *testing.T) {
	c := newTestCluster(t, 3)
	errRefused := errors.New("test FSM: refused")
	for _, fsm := range c.fsms {
		fsm.setResponse(errRefused)
	}

	resp, err := c.nodes[c.leader()].Apply(testContext(t), []byte("entry"))
	if !errors.Is(err, errRefused) || errors.Is(err, ErrNotLeader) {
		t.Fatalf("Apply error = %v, want the FSM's error %v", err, errRefused)
	}
	if resp != nil {
		t.Fatalf("Apply returned response %v with the FSM's error", resp)
	}
}

func TestRaftAdapterApplyCancelledContextProposesNothing(t *testing.T) {
	c := newTestCluster(t, 3)
	node := c.nodes[c.leader()]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if _, err := node.Apply(ctx, []byte("never")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: %v, want context.Canceled", err)
	}
	// The FSM answers with its count: 1 proves the first entry never reached the log.
	if resp, err := node.Apply(testContext(t), []byte("entry")); err != nil || resp != 1 {
		t.Fatalf("next Apply = %v, %v; want 1, nil", resp, err)
	}
}

func TestRaftAdapterApplyDeadlineWhileFSMBusy(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.leader()
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the cluster's cleanup: Shutdown waits for the FSM
	c.fsms[leader].setGate(gate)

	// The entry commits but the future stays unresolved while the FSM is
	// stuck, so only the deadline can end the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.nodes[leader].Apply(ctx, []byte("entry"))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotLeader) {
		t.Fatalf("Apply with a stuck FSM: %v, want only context.DeadlineExceeded", err)
	}

	// "Outcome unknown" in practice: the entry is applied after all, and
	// the abandoned waiter ends with its future (goleak checks that).
	release()
	if err := c.nodes[leader].Barrier(testContext(t)); err != nil {
		t.Fatalf("Barrier after releasing the FSM: %v", err)
	}
	if n := c.fsms[leader].appliedCount(); n != 1 {
		t.Fatalf("leader's FSM applied %d entries, want 1", n)
	}
}

func TestRaftAdapterApplyOnIsolatedLeader(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.leader()
	c.isolate(leader)

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.nodes[leader].Apply(ctx, []byte("entry"))
	elapsed := time.Since(start)

	if elapsed > signalWait {
		t.Fatalf("Apply on an isolated leader took %v", elapsed)
	}
	if !errors.Is(err, ErrNotLeader) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply on an isolated leader: %v, want ErrNotLeader or a deadline", err)
	}
	t.Logf("isolated leader's Apply returned after %v: %v", elapsed, err)
}

func TestRaftAdapterAfterShutdown(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.leader()
	c.stop(leader)
	node := c.nodes[leader]

	_, err := node.Apply(testContext(t), []byte("entry"))
	requireNotLeader(t, err, raft.ErrRaftShutdown)
	requireNotLeader(t, node.Barrier(testContext(t)), raft.ErrRaftShutdown)
	if isLeader, _ := node.Leader(); isLeader {
		t.Fatal("a shut-down server reports itself leader")
	}
}

func TestRaftAdapterLeadershipChanges(t *testing.T) {
	c := newTestCluster(t, 3)
	old := c.leader()
	_, oldTerm := c.nodes[old].Leader()
	for _, node := range c.nodes {
		drain(node.LeadershipChanges())
	}

	if err := c.rafts[old].LeadershipTransfer().Error(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	var next int
	waitFor(t, "a new leader", func() bool {
		next = c.leader()
		return next != old
	})

	for _, i := range []int{next, old} {
		select {
		case <-c.nodes[i].LeadershipChanges():
		case <-time.After(signalWait):
			t.Fatalf("node%d: no LeadershipChanges signal within %v", i, signalWait)
		}
	}
	if isLeader, term := c.nodes[next].Leader(); !isLeader || term <= oldTerm {
		t.Fatalf("new leader's Leader() = %v, %d; want true and a term above %d", isLeader, term, oldTerm)
	}
}

func TestRaftAdapterBarrier(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.leader()

	if err := c.nodes[leader].Barrier(testContext(t)); err != nil {
		t.Fatalf("Barrier on the leader: %v", err)
	}
	follower := c.peers(leader)[0]
	requireNotLeader(t, c.nodes[follower].Barrier(testContext(t)), raft.ErrNotLeader)
}

func TestRaftAdapterCloseIdempotent(t *testing.T) {
	c := newTestCluster(t, 3)
	closed, open := c.nodes[0], c.nodes[1]

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(closed.Close)
	}
	wg.Wait()
	closed.Close()

	// Shutdown changes raft's state, and raft notifies observers before
	// Shutdown returns: the open adapter is signalled, the closed one not.
	drain(closed.LeadershipChanges())
	drain(open.LeadershipChanges())
	c.stop(0, 1)
	select {
	case <-closed.LeadershipChanges():
		t.Fatal("a closed adapter still receives leadership changes")
	default:
	}
	select {
	case <-open.LeadershipChanges():
	default:
		t.Fatal("an open adapter missed the shutdown")
	}
}

// Raft v1.8.0 never resolves an entry that is committed but still queued for
// the FSM when raft shuts down (hashicorp/raft#498). The adapter's waiters
// must end anyway, or each such Apply leaks a goroutine (goleak checks).
func TestRaftAdapterShutdownReleasesQueuedEntries(t *testing.T) {
	c := newTestCluster(t, 1)
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before the cluster's cleanup: Shutdown waits for the FSM
	c.fsms[0].setGate(gate)

	const entries = 8
	start := c.rafts[0].LastIndex()
	errs := make(chan error, entries)
	for range entries {
		go func() {
			_, err := c.nodes[0].Apply(context.Background(), []byte("entry"))
			errs <- err
		}()
	}
	// All commit; the first holds the FSM and the rest queue behind it.
	waitFor(t, "entries to commit", func() bool { return c.rafts[0].CommitIndex() >= start+entries })
	shutdown := c.rafts[0].Shutdown()
	release()
	if err := shutdown.Error(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	timeout := time.After(signalWait)
	for range entries {
		select {
		case err := <-errs:
			if err != nil && !errors.Is(err, ErrNotLeader) {
				t.Fatalf("Apply at shutdown: %v, want nil or ErrNotLeader", err)
			}
		case <-timeout:
			t.Fatalf("an Apply queued at shutdown never returned (%d applied)", c.fsms[0].appliedCount())
		}
	}
}

// releaseOnShutdown relies on raft's futures embedding ShutdownCh: this fails
// if a raft upgrade changes that, rather than letting waiters leak quietly.
func TestReleaseOnShutdownReachesRaftFutures(t *testing.T) {
	c := newTestCluster(t, 1)
	stopped := make(chan struct{})
	apply := c.rafts[0].Apply([]byte("entry"), 0)
	if !releaseOnShutdown(apply, stopped) {
		t.Fatal("an Apply future has no settable ShutdownCh")
	}
	barrier := c.rafts[0].Barrier(0)
	if !releaseOnShutdown(barrier, stopped) {
		t.Fatal("a Barrier future has no settable ShutdownCh")
	}
	for _, f := range []raft.Future{apply, barrier} {
		if err := f.Error(); err != nil {
			t.Fatalf("future: %v", err)
		}
	}
}
