package placementtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
)

// ClusterOptions configures a Cluster. The zero value is a 3-server
// cluster whose schedulers tick every 50ms.
type ClusterOptions struct {
	// Servers is the number of raft servers; 0 means 3.
	Servers int
	// Config is each server's scheduler config; a Config with a zero
	// TickInterval means placement.DefaultConfig() with a 50ms
	// TickInterval.
	Config placement.Config
	// ManualTicks leaves the schedulers stopped, so the test drives them
	// with Scheduler.Tick.
	ManualTicks bool
	// RaftTimeout is raft's heartbeat, election and leader-lease timeout;
	// 0 means 100ms. Raise it where GC pauses or a loaded machine would
	// otherwise cost leadership mid-measurement.
	RaftTimeout time.Duration
	// SnapshotThreshold and TrailingLogs are passed to raft when non-zero,
	// to force snapshots and snapshot installs in tests.
	SnapshotThreshold, TrailingLogs uint64
	// OnApply, if set, is told of every command each server's FSM applies.
	OnApply func(server int, index uint64, cmd placement.Command)
	// OnTick, if set, receives every tick report of each server's running
	// scheduler, on that scheduler's goroutine. It must not call the
	// Cluster's methods (Kill waits for the scheduler to stop).
	OnTick func(server int, rep placement.TickReport, err error)
	// Logger receives raft's logs; nil discards them.
	Logger hclog.Logger
	// WrapFSM, if set, is given each server's FSM as it starts and returns
	// the one raft applies to: a test can stand in an older release on one
	// server, say, with an FSM that refuses what that release cannot read.
	WrapFSM func(server int, fsm raft.FSM) raft.FSM
	// Mover, if set, finishes moves in flight as a host copying shards
	// would (see MoverOptions). Without it, moves begun at format
	// version 3 stay in flight until Policy.MoveTimeout aborts them.
	Mover *MoverOptions
}

// Server is one raft server of a Cluster with its placement pieces. Its
// fields change when the server is restarted.
type Server struct {
	ID        raft.ServerID
	Addr      raft.ServerAddress
	Registry  *placement.ShardRegistry
	Raft      *raft.Raft
	Node      *placement.RaftAdapter
	Scheduler *placement.Scheduler

	handle   *placement.Handle
	restores atomic.Int64 // FSM restores, across restarts
	trans    *raft.InmemTransport
	logs     *raft.InmemStore
	snaps    *raft.InmemSnapshotStore
	up       bool
	cut      bool // isolated
}

// Cluster is n hashicorp/raft servers over the in-memory transport with
// short timeouts, each with an FSM over its own ShardRegistry and a
// Scheduler. Servers can be killed, restarted from their stores, isolated
// and healed. Call Shutdown when done.
type Cluster struct {
	opts    ClusterOptions
	Servers []*Server
	mu      sync.Mutex
	mover   *mover
	stopped sync.Once
}

// NewCluster starts and bootstraps a cluster. It does not wait for a
// leader; see WaitLeader.
func NewCluster(opts ClusterOptions) (*Cluster, error) {
	if opts.Servers == 0 {
		opts.Servers = 3
	}
	if opts.Config.TickInterval == 0 {
		opts.Config = placement.DefaultConfig()
		opts.Config.TickInterval = 50 * time.Millisecond
	}
	c := &Cluster{opts: opts}
	var voters []raft.Server
	for i := 0; i < opts.Servers; i++ {
		s := &Server{ID: raft.ServerID(fmt.Sprintf("server%d", i)), logs: raft.NewInmemStore(), snaps: raft.NewInmemSnapshotStore()}
		s.Addr, s.trans = raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("inmem-%d", i)))
		c.Servers = append(c.Servers, s)
		voters = append(voters, raft.Server{ID: s.ID, Address: s.Addr})
	}
	for i := range c.Servers {
		c.connect(i)
	}
	for i := range c.Servers {
		if err := c.start(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.Servers[0].Raft.BootstrapCluster(raft.Configuration{Servers: voters}).Error(); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if opts.Mover != nil {
		c.mover = startMover(c, *opts.Mover)
	}
	return c, nil
}

func (c *Cluster) raftConfig(s *Server) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = s.ID
	timeout := c.opts.RaftTimeout
	if timeout == 0 {
		timeout = 100 * time.Millisecond
	}
	conf.HeartbeatTimeout = timeout
	conf.ElectionTimeout = timeout
	conf.LeaderLeaseTimeout = timeout
	conf.CommitTimeout = 5 * time.Millisecond
	conf.Logger = c.opts.Logger
	if conf.Logger == nil {
		conf.Logger = hclog.NewNullLogger()
	}
	if c.opts.SnapshotThreshold > 0 {
		conf.SnapshotThreshold = c.opts.SnapshotThreshold
		conf.SnapshotInterval = 50 * time.Millisecond
	}
	if c.opts.TrailingLogs > 0 {
		conf.TrailingLogs = c.opts.TrailingLogs
	}
	return conf
}

// start builds server i's registry, FSM, raft and scheduler over its stores.
func (c *Cluster) start(i int) error {
	s := c.Servers[i]
	s.Registry = placement.NewShardRegistry()
	var opts []placement.FSMOption
	if c.opts.OnApply != nil {
		opts = append(opts, placement.WithApplyFunc(func(index uint64, cmd placement.Command) { c.opts.OnApply(i, index, cmd) }))
	}
	var fsm raft.FSM = &countingFSM{FSM: placement.NewFSM(s.Registry, opts...), restores: &s.restores}
	if c.opts.WrapFSM != nil {
		fsm = c.opts.WrapFSM(i, fsm)
	}
	r, err := raft.NewRaft(c.raftConfig(s), fsm, s.logs, s.logs, s.snaps, s.trans)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.ID, err)
	}
	s.Raft, s.Node = r, placement.NewRaftNode(r)
	cfg := c.opts.Config
	if c.opts.OnTick != nil {
		cfg.OnTick = func(rep placement.TickReport, err error) { c.opts.OnTick(i, rep, err) }
	}
	s.Scheduler, err = placement.New(s.Node, s.Registry, cfg)
	if err != nil {
		s.Node.Close()
		_ = r.Shutdown().Error()
		return err
	}
	if !c.opts.ManualTicks {
		s.handle = s.Scheduler.Start()
	}
	s.up = true
	return nil
}

// connect joins server i's transport with every other live, uncut server.
func (c *Cluster) connect(i int) {
	s := c.Servers[i]
	for j, o := range c.Servers {
		if j == i || o.cut {
			continue
		}
		s.trans.Connect(o.Addr, o.trans)
		o.trans.Connect(s.Addr, s.trans)
	}
}

func (c *Cluster) disconnect(i int) {
	s := c.Servers[i]
	s.trans.DisconnectAll()
	for j, o := range c.Servers {
		if j != i {
			o.trans.Disconnect(s.Addr)
		}
	}
}

// Kill stops server i's scheduler and raft, keeping its log, stable and
// snapshot stores for Restart.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kill(i)
}

func (c *Cluster) kill(i int) {
	s := c.Servers[i]
	if !s.up {
		return
	}
	if s.handle != nil {
		s.handle.Stop()
		s.handle = nil
	}
	s.Node.Close()
	_ = s.Raft.Shutdown().Error()
	c.disconnect(i)
	s.up = false
}

// Restart starts a killed server i again from its stores, with a fresh
// registry that raft rebuilds from the snapshot and the log.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.Servers[i]
	if s.up {
		return fmt.Errorf("%s is running", s.ID)
	}
	_, s.trans = raft.NewInmemTransport(s.Addr)
	if !s.cut {
		c.connect(i)
	}
	return c.start(i)
}

// Isolate cuts server i off from every other server, both ways.
func (c *Cluster) Isolate(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disconnect(i)
	c.Servers[i].cut = true
}

// Heal reconnects an isolated server i.
func (c *Cluster) Heal(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Servers[i].cut = false
	c.connect(i)
}

// Up reports whether server i is running.
func (c *Cluster) Up(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Servers[i].up
}

// Shutdown stops the mover and kills every server. It is idempotent.
func (c *Cluster) Shutdown() {
	c.stopped.Do(func() {
		if c.mover != nil {
			c.mover.close() // outside c.mu: its look takes it
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.Servers {
		c.kill(i)
	}
}

// ErrTimeout is returned by the wait helpers when their condition does not
// hold in time.
var ErrTimeout = errors.New("placementtest: timed out")

// WaitFor polls cond every 10ms until it holds or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		<-tick.C
	}
	return nil
}

// Leader returns the index of a running, connected server that is leader,
// or -1.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.Servers {
		if s.up && !s.cut && s.Raft.State() == raft.Leader {
			return i
		}
	}
	return -1
}

// WaitLeader waits for a running, connected leader and returns its index.
func (c *Cluster) WaitLeader(timeout time.Duration) (int, error) {
	leader := -1
	err := WaitFor(timeout, func() bool { leader = c.Leader(); return leader >= 0 })
	if err != nil {
		return -1, fmt.Errorf("no leader: %w", err)
	}
	return leader, nil
}

// Apply proposes cmds as one entry through the current leader and returns
// the per-command results.
func (c *Cluster) Apply(timeout time.Duration, cmds ...placement.Command) ([]error, error) {
	leader, err := c.WaitLeader(timeout)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := c.Servers[leader].Node.Apply(ctx, placement.Encode(cmds...))
	if err != nil {
		return nil, err
	}
	results, _ := resp.([]error)
	return results, nil
}

// Snapshots returns each running server's map as snapshot bytes (nil for a
// stopped server); replicas that applied the same log return identical
// bytes.
func (c *Cluster) Snapshots() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(c.Servers))
	for i, s := range c.Servers {
		if !s.up {
			continue
		}
		var buf bytes.Buffer
		if err := s.Registry.View().WriteSnapshot(&buf); err == nil {
			out[i] = buf.Bytes()
		}
	}
	return out
}

// Identical reports whether every running server holds the same map.
func (c *Cluster) Identical() bool {
	var first []byte
	for _, snap := range c.Snapshots() {
		if snap == nil {
			continue
		}
		if first == nil {
			first = snap
		} else if !bytes.Equal(first, snap) {
			return false
		}
	}
	return true
}

// WaitIdentical waits until every running server has applied everything the
// leader has committed and all hold the same map.
func (c *Cluster) WaitIdentical(timeout time.Duration) error {
	return WaitFor(timeout, func() bool {
		c.mu.Lock()
		var commit uint64
		for _, s := range c.Servers {
			if s.up && !s.cut && s.Raft.State() == raft.Leader {
				commit = s.Raft.CommitIndex()
			}
		}
		caughtUp := commit > 0
		for _, s := range c.Servers {
			if s.up && !s.cut && s.Raft.AppliedIndex() < commit {
				caughtUp = false
			}
		}
		c.mu.Unlock()
		return caughtUp && c.Identical()
	})
}

// Restores returns how many times server i's FSM was restored from a
// snapshot (at start-up from its own store, or installed by a leader),
// across restarts.
func (c *Cluster) Restores(i int) int64 { return c.Servers[i].restores.Load() }

// countingFSM counts restores, so tests can tell a snapshot install from a
// log replay.
type countingFSM struct {
	*placement.FSM
	restores *atomic.Int64
}

func (f *countingFSM) Restore(rc io.ReadCloser) error {
	f.restores.Add(1)
	return f.FSM.Restore(rc)
}

// SnapshotIDs lists the raft snapshots in server i's snapshot store.
func (c *Cluster) SnapshotIDs(i int) ([]string, error) {
	metas, err := c.Servers[i].snaps.List()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(metas))
	for k, m := range metas {
		ids[k] = m.ID
	}
	return ids, nil
}

// FSMCaughtUp reports whether the server's FSM has applied every placement
// entry its raft has committed. Raft hands committed entries to the FSM
// asynchronously, and not every entry reaches it (a barrier, a no-op, a
// configuration), so the FSM's index alone does not tell: FSMCaughtUp
// looks for a command entry committed after it.
func (s *Server) FSMCaughtUp() bool {
	commit, err := strconv.ParseUint(s.Raft.Stats()["commit_index"], 10, 64)
	if err != nil {
		return false
	}
	for i := commit; i > s.Registry.View().Index(); i-- {
		var l raft.Log
		if err := s.logs.GetLog(i, &l); err != nil {
			return true // compacted: a snapshot the FSM restored holds it
		}
		if l.Type == raft.LogCommand {
			return false
		}
	}
	return true
}
