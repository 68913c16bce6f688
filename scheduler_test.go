package placement_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// skewed returns a registry with three up nodes: node 1 owns 12 shards,
// nodes 2 and 3 none.
func skewed(t *testing.T) *placement.ShardRegistry {
	t.Helper()
	reg := placement.NewShardRegistry()
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	for i := 0; i < 12; i++ {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.Apply(placement.CreateShard{Range: r, Node: 1}))
	}
	return reg
}

type harness struct {
	reg   *placement.ShardRegistry
	fake  *placementtest.FakeRaft
	sched *placement.Scheduler
}

func newHarness(t *testing.T, mutate func(*placement.Config)) *harness {
	t.Helper()
	reg := skewed(t)
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = 3
	cfg.TickInterval = time.Hour // loop tests wake it by other means
	if mutate != nil {
		mutate(&cfg)
	}
	sched, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	return &harness{reg: reg, fake: fake, sched: sched}
}

func decodeAll(t *testing.T, entries [][]byte) [][]placement.Command {
	t.Helper()
	var out [][]placement.Command
	for _, e := range entries {
		cmds, err := placement.Decode(e)
		require.NoError(t, err)
		out = append(out, cmds)
	}
	return out
}

func TestFollowerNeverProposes(t *testing.T) {
	h := newHarness(t, nil)
	for i := 0; i < 3; i++ {
		rep, err := h.sched.Tick(context.Background())
		require.NoError(t, err)
		require.False(t, rep.Leader)
		require.Empty(t, rep.Commands)
	}
	require.Empty(t, h.fake.Entries())
	require.Empty(t, h.fake.Barriers())
}

func TestLeaderProposesAtMostNInOneEntry(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetLeader(true)
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Leader)
	require.Len(t, rep.Commands, 3)
	require.Equal(t, []error{nil, nil, nil}, rep.Results)
	entries := decodeAll(t, h.fake.Entries())
	require.Len(t, entries, 1, "one tick, one log entry")
	require.Equal(t, rep.Commands, entries[0])
	require.Equal(t, 9, h.reg.View().Count(1))
}

func TestBarrierOncePerTermBeforeFirstPlan(t *testing.T) {
	h := newHarness(t, func(c *placement.Config) { c.MaxActionsPerTick = 1 })
	h.fake.SetLeader(true)
	for i := 0; i < 3; i++ {
		_, err := h.sched.Tick(context.Background())
		require.NoError(t, err)
		require.Equal(t, []uint64{1}, h.fake.Barriers(), "one barrier in term 1")
	}
	h.fake.SetLeader(false)
	h.fake.SetLeader(true)
	before := len(h.fake.Entries())
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Barrier)
	require.Equal(t, []uint64{1, 2}, h.fake.Barriers(), "a new term, a new barrier")
	require.Len(t, h.fake.Entries(), before+1)
}

func TestNotLeaderStopsTickAndNextTickReplans(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetLeader(true)
	h.fake.FailApply(1, raft.ErrLeadershipLost, false)
	rep, err := h.sched.Tick(context.Background())
	require.ErrorIs(t, err, placement.ErrNotLeader)
	require.ErrorIs(t, err, raft.ErrLeadershipLost)
	require.Len(t, rep.Commands, 3)
	require.Empty(t, h.fake.Entries(), "the failed entry was not applied")

	rep2, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep2.Barrier, "the outcome was in doubt: barrier before planning again")
	require.Equal(t, rep.Commands, rep2.Commands, "nothing was applied, so the same plan")
	require.Equal(t, []error{nil, nil, nil}, rep2.Results)
}

func TestInDoubtEntryThatCommittedIsNotRepeated(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetLeader(true)
	h.fake.FailApply(1, raft.ErrLeadershipLost, true)
	rep, err := h.sched.Tick(context.Background())
	require.ErrorIs(t, err, placement.ErrNotLeader)
	rep2, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, []error{nil, nil, nil}, rep2.Results, "planned from the registry, which holds the committed moves")
	moved := map[placement.ShardID]bool{}
	for _, c := range rep.Commands {
		moved[c.(placement.PlaceTransfer).Shard] = true
	}
	for _, c := range rep2.Commands {
		require.False(t, moved[c.(placement.PlaceTransfer).Shard], "moved %v again", c)
	}
}

func TestPauseAndResume(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetLeader(true)
	h.sched.Pause()
	require.True(t, h.sched.Paused())
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Paused)
	require.Empty(t, h.fake.Entries())
	h.sched.Resume()
	rep, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.False(t, rep.Paused)
	require.Len(t, h.fake.Entries(), 1)
}

func TestDryRunProposesNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetLeader(true)
	plan := h.sched.DryRun()
	require.Len(t, plan.Commands, 3)
	require.Empty(t, h.fake.Entries())
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, plan.Commands, rep.Commands)
}

func TestNewRejectsBadInput(t *testing.T) {
	reg := placement.NewShardRegistry()
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	bad := placement.DefaultConfig()
	bad.TickInterval = 0
	_, err := placement.New(fake, reg, bad)
	require.ErrorIs(t, err, placement.ErrInvalidConfig)
	_, err = placement.New(nil, reg, placement.DefaultConfig())
	require.ErrorIs(t, err, placement.ErrInvalidConfig)
	_, err = placement.New(fake, nil, placement.DefaultConfig())
	require.ErrorIs(t, err, placement.ErrInvalidConfig)
}

func TestRunTicksOnLeadershipAndStops(t *testing.T) {
	reports := make(chan placement.TickReport, 16)
	h := newHarness(t, func(c *placement.Config) {
		c.OnTick = func(r placement.TickReport, err error) { reports <- r }
	})
	handle := h.sched.Start()
	require.Same(t, handle, h.sched.Start(), "Start while running returns the running loop")
	require.False(t, (<-reports).Leader, "the first tick runs at start, as a follower")
	h.fake.SetLeader(true)
	select {
	case r := <-reports:
		require.True(t, r.Leader, "gaining leadership ticks at once")
		require.Len(t, r.Commands, 3)
	case <-time.After(10 * time.Second):
		t.Fatal("no tick after gaining leadership")
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); handle.Stop() }()
	}
	wg.Wait()
	h.sched.Stop()
	<-handle.Done()
	require.NoError(t, handle.Err())
}

func TestStopBeforeStartAndRunContext(t *testing.T) {
	h := newHarness(t, nil)
	h.sched.Stop() // nothing running: a no-op
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.sched.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestResumeWakesTheLoop(t *testing.T) {
	reports := make(chan placement.TickReport, 16)
	h := newHarness(t, func(c *placement.Config) {
		c.OnTick = func(r placement.TickReport, err error) { reports <- r }
	})
	h.sched.Pause()
	h.fake.SetLeader(true)
	handle := h.sched.Start()
	defer handle.Stop()
	for r := range reports {
		if r.Leader {
			require.True(t, r.Paused)
			break
		}
	}
	h.sched.Resume()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-reports:
			if r.Paused {
				continue // a wake-up queued before Resume
			}
			require.Len(t, r.Commands, 3)
			return
		case <-deadline:
			t.Fatal("Resume did not wake the loop")
		}
	}
}

func TestDryRunDoesNotWaitForAnApply(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.SetLeader(true)
	release := h.fake.HoldApplies()
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := h.sched.Tick(context.Background())
		done <- err
	}()
	plan := h.sched.DryRun() // while the tick may be waiting on raft
	require.Len(t, plan.Commands, 3)
	release()
	require.NoError(t, <-done)
	require.Len(t, h.fake.Entries(), 1)
}

func TestApplyTimeoutThenBarrier(t *testing.T) {
	h := newHarness(t, func(c *placement.Config) { c.ApplyTimeout = 50 * time.Millisecond })
	h.fake.SetLeader(true)
	release := h.fake.HoldApplies()
	_, err := h.sched.Tick(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded, "the apply's outcome is unknown")
	release()
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Barrier, "an unknown outcome means a barrier before planning again")
	require.Equal(t, []uint64{1, 1}, h.fake.Barriers())
}
