package placement

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// moverWait bounds every wait of these tests: generous, for -race on a
// busy machine; nothing here waits that long when it works.
const moverWait = 30 * time.Second

// registryLeader completes and aborts moves on a registry as the leader's
// FSM would, failing the first inDoubt calls of each kind with an error
// of unknown outcome.
type registryLeader struct {
	reg               *ShardRegistry
	inDoubt           atomic.Int64
	completes, aborts atomic.Int64
}

func (l *registryLeader) CompleteTransfer(_ context.Context, m Move) error {
	l.completes.Add(1)
	if l.inDoubt.Add(-1) >= 0 {
		return fmt.Errorf("propose: %w", ErrNotLeader)
	}
	return l.reg.Apply(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch, To: m.To})
}

func (l *registryLeader) AbortTransfer(_ context.Context, m Move) error {
	l.aborts.Add(1)
	return l.reg.Apply(AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
}

// moverMap is a registry at the newest format with nodes 1-3 and shards
// 1-4 on node 1.
func moverMap(t require.TestingT) *ShardRegistry {
	reg := NewShardRegistry()
	keys := []string{"", "b", "d", "f"}
	cmds := []Command{SetFormatVersion{Version: FormatVersion}, AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3}}
	for i, k := range keys {
		r := KeyRange{Start: []byte(k)}
		if i+1 < len(keys) {
			r.End = []byte(keys[i+1])
		}
		cmds = append(cmds, CreateShard{ID: ShardID(i + 1), Range: r, Node: 1})
	}
	for _, c := range cmds {
		require.NoError(t, reg.Apply(c))
	}
	return reg
}

// begin starts moving shard id from its owner to node to and returns the
// move.
func begin(t *testing.T, reg *ShardRegistry, id ShardID, to NodeID) Move {
	t.Helper()
	s, ok := reg.View().Shard(id)
	require.True(t, ok)
	c := PlaceTransfer{Shard: id, Epoch: s.Epoch, From: s.Node, To: to}
	// The move as it will be: once applied, a Mover may end it at once.
	after, _ := reg.Try(c)
	require.NoError(t, reg.Apply(c))
	for m := range after.Moves() {
		if m.Shard == id {
			return m
		}
	}
	t.Fatalf("shard %d not moving", id)
	return Move{}
}

// moverRun starts a Mover and stops it when the test ends.
type moverRun struct {
	mv   *Mover
	done chan moveEnd // every MoverConfig.Done call
	stop func()
}

type moveEnd struct {
	m   Move
	err error
}

func startMover(t *testing.T, cfg MoverConfig) *moverRun {
	t.Helper()
	r := &moverRun{done: make(chan moveEnd, 64)}
	cfg.Done = func(m Move, err error) { r.done <- moveEnd{m, err} }
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	mv, err := NewMover(cfg)
	require.NoError(t, err)
	r.mv = mv
	h := mv.Start()
	r.stop = h.Stop
	t.Cleanup(h.Stop)
	return r
}

// next returns the next move the Mover is done with.
func (r *moverRun) next(t *testing.T) moveEnd {
	t.Helper()
	select {
	case e := <-r.done:
		return e
	case <-time.After(moverWait):
		t.Fatal("no move ended")
		return moveEnd{}
	}
}

func TestMoverCompletesMovesIntoItsNode(t *testing.T) {
	reg := moverMap(t)
	leader := &registryLeader{reg: reg}
	var copied sync.Map
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader,
		Copy: func(ctx context.Context, m Move) error {
			copied.Store(m.Shard, true)
			ReportCopied(ctx, 100)
			return nil
		}})
	into2 := begin(t, reg, 1, 2)
	begin(t, reg, 2, 3) // another node's move: not this Mover's
	e := r.next(t)
	require.NoError(t, e.err)
	require.Equal(t, keyOf(into2), keyOf(e.m))
	s, _ := reg.View().Shard(1)
	require.Equal(t, NodeID(2), s.Node, "completed: node 2 owns shard 1")
	s, _ = reg.View().Shard(2)
	require.Equal(t, NodeID(3), s.MovingTo, "node 3's move untouched")
	_, other := copied.Load(ShardID(2))
	require.False(t, other)

	// A move into node 2 begun while the Mover runs is taken up too.
	into2 = begin(t, reg, 3, 2)
	e = r.next(t)
	require.NoError(t, e.err)
	require.Equal(t, into2.Shard, e.m.Shard)
}

func TestMoverCancelsCopyWhenMoveLeavesMap(t *testing.T) {
	reg := moverMap(t)
	leader := &registryLeader{reg: reg}
	started := make(chan Move, 4)
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader,
		Copy: func(ctx context.Context, m Move) error {
			started <- m
			<-ctx.Done() // a copy that only ends when cancelled
			return ctx.Err()
		}})
	m := begin(t, reg, 1, 2)
	require.Equal(t, m, <-started)
	// The leader aborts it (a timeout, say): the copy's context ends.
	require.NoError(t, reg.Apply(AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}))
	e := r.next(t)
	require.ErrorIs(t, e.err, context.Canceled)
	require.Zero(t, leader.completes.Load()+leader.aborts.Load(), "nothing proposed for a move gone")

	// Begun again at a new epoch: a new copy, keyed by the new epoch.
	m2 := begin(t, reg, 1, 2)
	require.NotEqual(t, m.Epoch, m2.Epoch)
	require.Equal(t, m2, <-started)
	require.Len(t, r.mv.Copies(), 1)
	require.Equal(t, CopyRunning, r.mv.Copies()[0].State)
}

func TestMoverRetriesCopiesThenAborts(t *testing.T) {
	reg := moverMap(t)
	leader := &registryLeader{reg: reg}
	var calls atomic.Int64
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader, MaxAttempts: 3,
		Copy: func(ctx context.Context, m Move) error {
			calls.Add(1)
			if m.Shard == 2 {
				return fmt.Errorf("source gone: %w", ErrAbortMove)
			}
			return errors.New("disk full")
		}})
	m := begin(t, reg, 1, 2)
	e := r.next(t)
	require.ErrorIs(t, e.err, ErrAbortMove)
	require.Equal(t, int64(3), calls.Load(), "MaxAttempts copies, then the abort")
	s, _ := reg.View().Shard(m.Shard)
	require.Equal(t, NodeID(1), s.Node)
	require.Zero(t, s.MovingTo, "aborted")

	// ErrAbortMove aborts at once.
	begin(t, reg, 2, 2)
	e = r.next(t)
	require.ErrorIs(t, e.err, ErrAbortMove)
	require.Equal(t, int64(4), calls.Load())
}

func TestMoverRetriesCompletionInDoubt(t *testing.T) {
	reg := moverMap(t)
	leader := &registryLeader{reg: reg}
	leader.inDoubt.Store(2)
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader,
		Copy: func(context.Context, Move) error { return nil }})
	m := begin(t, reg, 1, 2)
	e := r.next(t)
	require.NoError(t, e.err)
	require.Equal(t, int64(3), leader.completes.Load(), "two in doubt, then applied")
	s, _ := reg.View().Shard(m.Shard)
	require.Equal(t, NodeID(2), s.Node)
}

// rejecting is a Completer whose leader has aborted every move already.
type rejecting struct{ calls atomic.Int64 }

func (c *rejecting) CompleteTransfer(context.Context, Move) error {
	c.calls.Add(1)
	return fmt.Errorf("%w: %w", ErrRejected, ErrStaleEpoch)
}
func (c *rejecting) AbortTransfer(context.Context, Move) error { return nil }

func TestMoverReportsRejectedCompletion(t *testing.T) {
	reg := moverMap(t)
	c := &rejecting{}
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: c,
		Copy: func(context.Context, Move) error { return nil }})
	begin(t, reg, 1, 2)
	e := r.next(t)
	require.ErrorIs(t, e.err, ErrStaleEpoch)
	require.Equal(t, int64(1), c.calls.Load(), "a rejection is not retried")
	// Still in the (stale) map, the move is not copied again.
	require.Len(t, r.mv.Copies(), 1)
	require.Equal(t, CopyDone, r.mv.Copies()[0].State)
}

func TestMoverBoundsConcurrency(t *testing.T) {
	reg := moverMap(t)
	leader := &registryLeader{reg: reg}
	var running, most atomic.Int64
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader, Concurrency: 2,
		Copy: func(ctx context.Context, m Move) error {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				if old := most.Load(); n <= old || most.CompareAndSwap(old, n) {
					break
				}
			}
			entered <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return ctx.Err()
		}})
	for id := ShardID(1); id <= 4; id++ {
		begin(t, reg, id, 2)
	}
	<-entered
	<-entered
	queued := 0
	require.Eventually(t, func() bool {
		queued = 0
		for _, c := range r.mv.Copies() {
			if c.State == CopyQueued {
				queued++
			}
		}
		return len(r.mv.Copies()) == 4 && queued == 2
	}, moverWait, time.Millisecond, "two copies run, two wait")
	close(release)
	for range 4 {
		require.NoError(t, r.next(t).err)
	}
	require.Equal(t, int64(2), most.Load())
}

func TestMoverPicksUpAfterRestart(t *testing.T) {
	reg := moverMap(t)
	leader := &registryLeader{reg: reg}
	started := make(chan struct{}, 1)
	first := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader,
		Copy: func(ctx context.Context, _ Move) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}})
	m := begin(t, reg, 1, 2)
	<-started
	// The process stops mid-copy: the copy is cancelled, nothing proposed.
	first.stop()
	require.ErrorIs(t, first.next(t).err, context.Canceled)
	require.Zero(t, leader.completes.Load()+leader.aborts.Load())

	// A new process learns the move from the map and copies it again.
	second := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: leader,
		Copy: func(context.Context, Move) error { return nil }})
	e := second.next(t)
	require.NoError(t, e.err)
	require.Equal(t, keyOf(m), keyOf(e.m))
}

func TestNewMoverChecksConfig(t *testing.T) {
	reg := NewShardRegistry()
	ok := MoverConfig{Node: 1, Source: reg, Completer: &rejecting{}, Copy: func(context.Context, Move) error { return nil }}
	for name, edit := range map[string]func(*MoverConfig){
		"Node":        func(c *MoverConfig) { c.Node = 0 },
		"Source":      func(c *MoverConfig) { c.Source = nil },
		"Completer":   func(c *MoverConfig) { c.Completer = nil },
		"Copy":        func(c *MoverConfig) { c.Copy = nil },
		"Concurrency": func(c *MoverConfig) { c.Concurrency = -1 },
	} {
		c := ok
		edit(&c)
		_, err := NewMover(c)
		require.ErrorContains(t, err, name, name)
	}
	_, err := NewMover(ok)
	require.NoError(t, err)
}

// slowAnswer applies a completion at once but answers only once the Mover
// has seen the move leave the map, as a leader's answer that comes back
// after the map a long poll returned.
type slowAnswer struct {
	registryLeader
	mv *Mover
}

func (l *slowAnswer) CompleteTransfer(ctx context.Context, m Move) error {
	if err := l.registryLeader.CompleteTransfer(ctx, m); err != nil {
		return err
	}
	for len(l.mv.Copies()) > 0 { // until reconcile drops the move
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func TestMoverCompletionOutlivesTheMapsNews(t *testing.T) {
	reg := moverMap(t)
	leader := &slowAnswer{registryLeader: registryLeader{reg: reg}}
	done := make(chan moveEnd, 1)
	mv, err := NewMover(MoverConfig{Node: 2, Source: reg, Completer: leader,
		Copy: func(context.Context, Move) error { return nil },
		Done: func(m Move, err error) { done <- moveEnd{m, err} }})
	require.NoError(t, err)
	leader.mv = mv
	h := mv.Start()
	defer h.Stop()
	begin(t, reg, 1, 2)
	select {
	case e := <-done:
		require.NoError(t, e.err, "the completion applied: completed, not cancelled")
	case <-time.After(moverWait):
		t.Fatal("no move ended")
	}
}

func TestMoverStopsRetryingWhenTheMoveEndsElsewhere(t *testing.T) {
	reg := moverMap(t)
	follower := &registryLeader{reg: reg}
	follower.inDoubt.Store(1 << 40) // never leads
	r := startMover(t, MoverConfig{Node: 2, Source: reg, Completer: follower,
		Copy: func(context.Context, Move) error { return nil }})
	m := begin(t, reg, 1, 2)
	require.Eventually(t, func() bool { return follower.completes.Load() >= 2 }, moverWait, time.Millisecond)
	// The leader's own Mover completes it: this one stops retrying.
	require.NoError(t, reg.Apply(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch, To: m.To}))
	require.ErrorIs(t, r.next(t).err, context.Canceled)
	n := follower.completes.Load()
	require.Empty(t, r.mv.Copies())
	require.Equal(t, n, follower.completes.Load(), "no retry after the move left the map")
}
