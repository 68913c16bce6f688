package placement_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// inflightHarness is three nodes holding 25/10/10 shards, two-phase moves
// timed by clock, and schedulers free to make the whole rebalance (10
// moves, to 15/15/15) in one tick.
func inflightHarness(t *testing.T, clock *fakeClock) (*placement.ShardRegistry, *placementtest.FakeRaft, func() *placement.Scheduler) {
	t.Helper()
	reg := placement.NewShardRegistry()
	require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: placement.FormatVersion}))
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	for i := range 45 {
		owner := placement.NodeID(1 + max(0, i-15)/10)
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.Apply(placement.CreateShard{Range: r, Node: owner}))
	}
	fsm := placement.NewFSM(reg)
	// Entries apply with the clock's time, as raft's log would give them,
	// so a move's age runs from its PlaceTransfer.
	fake := placementtest.NewFakeRaft(func(index uint64, entry []byte) any {
		return fsm.ApplyEntryAt(index, clock.Now(), entry)
	})
	fake.SetLeader(true)
	newSched := func() *placement.Scheduler {
		cfg := placement.DefaultConfig()
		cfg.MaxActionsPerTick = 50
		cfg.MaxMovesPerNode, cfg.MaxInflightPerNode = 100, 100
		cfg.TickInterval = time.Hour
		cfg.Clock = clock.Now
		sched, err := placement.New(fake, reg, cfg)
		require.NoError(t, err)
		return sched
	}
	return reg, fake, newSched
}

func counts(v placement.View) []int { return []int{v.Count(1), v.Count(2), v.Count(3)} }

// A rebalance whose tick reaches the stop band with its moves in flight is
// recorded as still in progress. When one of its moves is aborted (by the
// host after a failed copy, or by MoveTimeout after a stalled one), the
// counts sit at 16/15/14, under the trigger, and the rebalance goes on:
// on the same leader, and on a new one from the log. Once every move has
// completed, a tick ends it and records its end.
func TestAbortedMoveResumesRebalanceScheduler(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// abort ends the moves in flight, aborting the one into node 3,
		// and returns the scheduler that ticks next.
		abort func(t *testing.T, s *placement.Scheduler, reg *placement.ShardRegistry, fake *placementtest.FakeRaft,
			clock *fakeClock, newSched func() *placement.Scheduler, to3 placement.Move) *placement.Scheduler
	}{
		{
			name: "host abort, same leader",
			abort: func(t *testing.T, s *placement.Scheduler, reg *placement.ShardRegistry, _ *placementtest.FakeRaft,
				_ *fakeClock, _ func() *placement.Scheduler, to3 placement.Move) *placement.Scheduler {
				require.NoError(t, s.AbortTransfer(ctx, to3))
				completeAll(t, s, reg)
				return s
			},
		},
		{
			name: "move timeout, same leader",
			abort: func(t *testing.T, s *placement.Scheduler, reg *placement.ShardRegistry, _ *placementtest.FakeRaft,
				clock *fakeClock, _ func() *placement.Scheduler, to3 placement.Move) *placement.Scheduler {
				for m := range reg.View().Moves() {
					if m.Shard != to3.Shard {
						require.NoError(t, s.CompleteTransfer(ctx, m))
					}
				}
				// The stalled copy's move times out in the next tick,
				// before it plans.
				clock.Advance(placement.DefaultPolicy().MoveTimeout + time.Second)
				return s
			},
		},
		{
			name: "host abort, new leader",
			abort: func(t *testing.T, s *placement.Scheduler, reg *placement.ShardRegistry, fake *placementtest.FakeRaft,
				_ *fakeClock, newSched func() *placement.Scheduler, to3 placement.Move) *placement.Scheduler {
				require.NoError(t, s.AbortTransfer(ctx, to3))
				completeAll(t, s, reg)
				fake.SetLeader(false)
				fake.SetLeader(true)
				return newSched()
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			reg, fake, newSched := inflightHarness(t, clock)
			s := newSched()
			rep := tick(t, s)
			require.Len(t, rep.Commands, 10, "to 15/15/15 in one tick")
			require.True(t, rep.Rebalancing, "its moves are in flight")
			require.Equal(t, placement.SetRebalancing{Bytes: true}, reg.View().Rebalancing(), "and the log says so")

			var to3 placement.Move
			for m := range reg.View().Moves() {
				if m.To == 3 {
					to3 = m
				}
			}
			s = tc.abort(t, s, reg, fake, clock, newSched, to3)

			rep = tick(t, s)
			require.Equal(t, []int{16, 15, 14}, counts(reg.View()), "aborted: under the trigger")
			require.Len(t, rep.Commands, 1, "the rebalance goes on")
			tr := rep.Commands[0].(placement.PlaceTransfer)
			require.Equal(t, [2]placement.NodeID{1, 3}, [2]placement.NodeID{tr.From, tr.To})
			require.True(t, rep.Rebalancing)

			completeAll(t, s, reg)
			rep = tick(t, s)
			require.Empty(t, rep.Commands)
			require.False(t, rep.Rebalancing)
			require.Equal(t, &placement.SetRebalancing{}, rep.Recorded, "its end is recorded")
			require.Equal(t, []int{15, 15, 15}, counts(reg.View()))
		})
	}
}

// completeAll completes every move in flight through s.
func completeAll(t *testing.T, s *placement.Scheduler, reg *placement.ShardRegistry) {
	t.Helper()
	for m := range reg.View().Moves() {
		require.NoError(t, s.CompleteTransfer(context.Background(), m))
	}
}
