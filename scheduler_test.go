package placement_test

import (
	"context"
	"slices"
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
	require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: placement.FormatVersion}))
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
	// Moves complete in the plan's own entry, so ticks see the map move as
	// they did before transfers had two phases (moves_test covers them).
	cfg.InstantMoves = true
	if mutate != nil {
		mutate(&cfg)
	}
	sched, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	return &harness{reg: reg, fake: fake, sched: sched}
}

// decodeAll decodes the entries' placement commands, leaving out the
// SetRebalancing that records the hysteresis flags (in a plan's entry, or
// alone when a plan has no commands) and the CompleteTransfer of each
// instant move.
func decodeAll(t *testing.T, entries [][]byte) [][]placement.Command {
	t.Helper()
	var out [][]placement.Command
	for _, e := range entries {
		cmds, err := placement.Decode(e)
		require.NoError(t, err)
		cmds = slices.DeleteFunc(cmds, func(c placement.Command) bool {
			switch c.(type) {
			case placement.SetRebalancing, placement.CompleteTransfer:
				return true
			}
			return false
		})
		if len(cmds) > 0 {
			out = append(out, cmds)
		}
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
	h.sched.PauseLocal()
	require.True(t, h.sched.Paused())
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Paused)
	require.Empty(t, h.fake.Entries())
	h.sched.ResumeLocal()
	rep, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.False(t, rep.Paused)
	require.Len(t, decodeAll(t, h.fake.Entries()), 1)
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
	h.sched.PauseLocal()
	h.fake.SetLeader(true)
	handle := h.sched.Start()
	defer handle.Stop()
	for r := range reports {
		if r.Leader {
			require.True(t, r.Paused)
			break
		}
	}
	h.sched.ResumeLocal()
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
	require.Len(t, decodeAll(t, h.fake.Entries()), 1)
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

// balancedUnderTrigger returns a harness on 3 nodes holding 6/4/4 shards:
// imbalance 0.43, under a trigger of 0.5 and above a stop band of 0.
func balancedUnderTrigger(t *testing.T) *harness {
	t.Helper()
	reg := placement.NewShardRegistry()
	require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: placement.FormatVersion}))
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	for i, owner := range []placement.NodeID{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3} {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.Apply(placement.CreateShard{Range: r, Node: owner}))
	}
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = 1
	cfg.ImbalanceThreshold, cfg.StopBand = 0.5, 0
	cfg.InstantMoves = true
	sched, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	return &harness{reg: reg, fake: fake, sched: sched}
}

// A new leader plans from the log, not from an assumption: with imbalance
// under the trigger and no rebalance recorded, it proposes nothing.
func TestNewTermUnderTriggerProposesNothing(t *testing.T) {
	h := balancedUnderTrigger(t)
	h.fake.SetLeader(true)
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Empty(t, rep.Commands)
	require.Nil(t, rep.Recorded)
	require.Empty(t, h.fake.Entries())
}

// A rebalance the log records as in progress is finished by the next
// leader, even under the trigger, and its end is recorded.
func TestNewTermResumesRecordedRebalance(t *testing.T) {
	h := balancedUnderTrigger(t)
	// The previous leader recorded a rebalance in progress.
	require.NoError(t, h.reg.Apply(placement.SetRebalancing{Bytes: true}))
	h.fake.SetLeader(true)
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Commands, 1, "the rebalance goes on under the trigger")
	// 5/5/4 is the stop band here (counts as even as they can be): the
	// plan that reaches it ends rebalancing, and the log says so.
	require.NotNil(t, rep.Recorded)
	require.Equal(t, placement.SetRebalancing{}, *rep.Recorded)
	require.Equal(t, placement.SetRebalancing{}, h.reg.View().Rebalancing())
	rep, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Empty(t, rep.Commands)
}

// A rebalance started above the trigger is recorded, so a leader change
// mid-way does not strand it: the new leader finishes it.
func TestLeaderChangeMidRebalanceFinishesIt(t *testing.T) {
	h := newHarness(t, func(c *placement.Config) { c.MaxActionsPerTick = 1; c.StopBand = 0 })
	h.fake.SetLeader(true)
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Commands, 1)
	require.NotNil(t, rep.Recorded, "the rebalance's start is recorded")
	require.Equal(t, placement.SetRebalancing{Bytes: true}, h.reg.View().Rebalancing())
	// Counts now 11/1/0: a new term, then ticks until nothing moves.
	h.fake.SetLeader(false)
	h.fake.SetLeader(true)
	for i := 0; i < 20; i++ {
		rep, err = h.sched.Tick(context.Background())
		require.NoError(t, err)
		if len(rep.Commands) == 0 {
			break
		}
	}
	v := h.reg.View()
	require.Equal(t, []int{4, 4, 4}, []int{v.Count(1), v.Count(2), v.Count(3)})
	require.Equal(t, placement.SetRebalancing{}, v.Rebalancing(), "its end is recorded")
}

// An enqueue timeout on a busy leader is an error in the same term: the
// planner keeps its memory (here, that a rebalance is in progress) and the
// next tick goes on with it after a barrier.
func TestEnqueueTimeoutKeepsThePlannersMemory(t *testing.T) {
	h := balancedUnderTrigger(t)
	require.NoError(t, h.reg.Apply(placement.SetRebalancing{Bytes: true}))
	h.fake.SetLeader(true)
	h.fake.FailApply(1, raft.ErrEnqueueTimeout, false)
	_, err := h.sched.Tick(context.Background())
	require.ErrorIs(t, err, placement.ErrNotLeader)
	require.Equal(t, placement.SetRebalancing{Bytes: true}, h.reg.View().Rebalancing())
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, rep.Barrier)
	require.Len(t, rep.Commands, 1, "still rebalancing in the same term")
}

// The reproduction from the issue: under the trigger, a plan of one split
// fails with an enqueue timeout; in the same term the next plan is the
// same split, not the split and a transfer (the old scheduler treated the
// error as a leader change and resumed rebalancing).
func TestEnqueueTimeoutStartsNoRebalance(t *testing.T) {
	h := balancedUnderTrigger(t)
	h.sched = nil
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = 5
	cfg.ImbalanceThreshold, cfg.StopBand = 0.5, 0
	sched, err := placement.New(h.fake, h.reg, cfg)
	require.NoError(t, err)
	require.NoError(t, h.reg.ReportStats(1, placement.Stats{Keys: 2 * cfg.SplitKeys}))
	h.fake.SetLeader(true)
	h.fake.FailApply(1, raft.ErrEnqueueTimeout, false)
	rep, err := sched.Tick(context.Background())
	require.ErrorIs(t, err, placement.ErrNotLeader)
	require.Len(t, rep.Commands, 1)
	rep, err = sched.Tick(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Commands, 1, "the split alone: %v", rep.Commands)
	require.IsType(t, placement.PlaceSplit{}, rep.Commands[0])
}

// A plan and its flag commit together: here the plan's entry commits but
// the leader loses leadership before it hears so (the outcome in doubt).
// The flag was in the same entry, so the next leader still finishes the
// rebalance (with the flag in an entry of its own, it would have been
// lost and the rebalance stranded under the trigger).
func TestFlagCommitsWithItsPlan(t *testing.T) {
	h := balancedUnderTrigger(t)
	for i := 14; i < 17; i++ { // 9/4/4: imbalance 0.88, above the trigger
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, h.reg.Apply(placement.CreateShard{Range: r, Node: 1}))
	}
	h.fake.SetLeader(true)
	h.fake.FailApply(1, raft.ErrLeadershipLost, true)
	_, err := h.sched.Tick(context.Background())
	require.ErrorIs(t, err, placement.ErrNotLeader)
	require.Equal(t, placement.SetRebalancing{Bytes: true}, h.reg.View().Rebalancing(), "recorded with the plan")
	h.fake.SetLeader(false)
	h.fake.SetLeader(true)
	for i := 0; i < 20; i++ {
		rep, err := h.sched.Tick(context.Background())
		require.NoError(t, err)
		if len(rep.Commands) == 0 {
			break
		}
	}
	v := h.reg.View()
	require.Equal(t, []int{6, 6, 5}, []int{v.Count(1), v.Count(2), v.Count(3)}, "17 shards as even as they go")
}

// DryRun on a server that no longer leads plans with the hysteresis the
// log holds, not with its old term's memory.
func TestDryRunOnAFollowerUsesTheLogsFlags(t *testing.T) {
	h := balancedUnderTrigger(t)
	for i := 14; i < 17; i++ { // 9/4/4: above the trigger
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, h.reg.Apply(placement.CreateShard{Range: r, Node: 1}))
	}
	h.fake.SetLeader(true)
	_, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.True(t, h.reg.View().Rebalancing().Bytes)
	// Another leader ends the rebalance at 7/5/5 (imbalance 0.35, under
	// the trigger but outside the stop band), and this server follows.
	h.fake.SetLeader(false)
	_, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	v := h.reg.View()
	for sh := range v.ShardsOn(1) {
		require.NoError(t, h.reg.Apply(placement.PlaceTransfer{Shard: sh.ID, Epoch: sh.Epoch, From: 1, To: 3}))
		require.NoError(t, h.reg.Apply(placement.CompleteTransfer{Shard: sh.ID, Epoch: sh.Epoch + 1}))
		break
	}
	v = h.reg.View()
	require.Equal(t, []int{7, 5, 5}, []int{v.Count(1), v.Count(2), v.Count(3)})
	require.NoError(t, h.reg.Apply(placement.SetRebalancing{}))
	plan := h.sched.DryRun()
	require.False(t, plan.Rebalancing)
	require.Empty(t, plan.Commands, "the log says no rebalance is in progress, and 7/5/5 is under the trigger")
}
