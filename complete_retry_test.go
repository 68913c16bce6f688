package placement_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// movingRegistry is nodes 1-3 at format version v with shard 1 on node 1,
// moving to node 2 (at epoch 2).
func movingRegistry(t *testing.T, v uint64) *placement.ShardRegistry {
	t.Helper()
	reg := placement.NewShardRegistry()
	require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: v}))
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	require.NoError(t, reg.Apply(placement.CreateShard{Node: 1}))
	require.NoError(t, reg.Apply(placement.PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}))
	return reg
}

// A CompleteTransfer that names its destination answers by who owns the
// shard: a retry after it applied succeeds and changes nothing; a
// completion of an aborted move is still rejected, with a reason that is
// not "already done".
func TestCompleteTransferRetry(t *testing.T) {
	complete := placement.CompleteTransfer{Shard: 1, Epoch: 2, To: 2}

	reg := movingRegistry(t, placement.FormatVersion)
	require.ErrorIs(t, reg.Apply(placement.CompleteTransfer{Shard: 1, Epoch: 2, To: 3}), placement.ErrInvalidCommand,
		"not the move's destination")
	require.NoError(t, reg.Apply(complete))
	done := reg.View()
	require.NoError(t, reg.Apply(complete), "the retry")
	require.Empty(t, slices.Collect(placement.Diff(done, reg.View())))
	sh, _ := reg.View().Shard(1)
	require.Equal(t, placement.Shard{ID: 1, Range: sh.Range, Node: 2, Epoch: 3}, sh)
	// Moved on since, to node 3: node 2 still owns it while the copy runs,
	// then no longer.
	require.NoError(t, reg.Apply(placement.PlaceTransfer{Shard: 1, Epoch: 3, From: 2, To: 3}))
	require.NoError(t, reg.Apply(complete), "node 2 owns the shard")
	require.NoError(t, reg.Apply(placement.CompleteTransfer{Shard: 1, Epoch: 4, To: 3}))
	require.ErrorIs(t, reg.Apply(complete), placement.ErrStaleEpoch)

	aborted := movingRegistry(t, placement.FormatVersion)
	require.NoError(t, aborted.Apply(placement.AbortTransfer{Shard: 1, Epoch: 2}))
	err := aborted.Apply(complete)
	require.ErrorIs(t, err, placement.ErrStaleEpoch, "the copy on node 2 is not the owner's")
	sh, _ = aborted.View().Shard(1)
	require.Equal(t, placement.NodeID(1), sh.Node)
	require.Error(t, aborted.Apply(placement.CompleteTransfer{Shard: 1, Epoch: 3, To: 2}), "not moving")
	require.ErrorIs(t, aborted.Apply(placement.CompleteTransfer{Shard: 9, Epoch: 3, To: 2}), placement.ErrUnknownShard)

	// The named form needs format version 4: an older server cannot
	// read it.
	v3 := movingRegistry(t, 3)
	require.ErrorIs(t, v3.Apply(complete), placement.ErrFormatVersion)
}

// The Scheduler's CompleteTransfer, retried after its completion applied,
// succeeds at format version 3 too, where the command names no
// destination: the leader's map tells a completion from an abort.
func TestCompleteTransferRetryAtVersion3(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, _, s := gateHarness(t, 3, clock)
	ctx := context.Background()
	require.Len(t, tick(t, s).Commands, 3)
	var moves []placement.Move
	for m := range reg.View().Moves() {
		moves = append(moves, m)
	}
	require.NoError(t, s.CompleteTransfer(ctx, moves[0]))
	// The answer is lost with the leadership; the retry reaches a leader.
	require.NoError(t, s.CompleteTransfer(ctx, moves[0]))
	for _, e := range fake.Entries() {
		require.LessOrEqual(t, e[1], byte(3))
	}
	require.NoError(t, s.AbortTransfer(ctx, moves[1]))
	require.ErrorIs(t, s.CompleteTransfer(ctx, moves[1]), placement.ErrStaleEpoch, "aborted: discard the copy")
}

// A node declared lost takes the moves out of it down with it (format
// version 4): they are aborted in the same command, listed in its Effect,
// and the next plan re-homes the shards at once.
func TestLostNodeAbortsMovesOut(t *testing.T) {
	reg := movingRegistry(t, placement.FormatVersion)
	var effects []placement.Effect
	fsm := placement.NewFSM(reg, placement.WithEffectFunc(func(_ uint64, e placement.Effect) { effects = append(effects, e) }))
	res := fsm.ApplyEntry(9, placement.Encode(placement.SetNodeState{Node: 1, State: placement.NodeLost}))
	require.Equal(t, []error{nil}, res)
	require.Zero(t, reg.View().MoveCount(), "the move out of the lost node is aborted")
	require.Len(t, effects, 1)
	require.Equal(t, []placement.Move{{Shard: 1, From: 1, To: 2, Epoch: 2}}, effects[0].Aborted)

	plan := placement.NewCoordinator(placement.DefaultPolicy()).Plan(reg.View(), 5)
	require.Len(t, plan.Commands, 1)
	tr, ok := plan.Commands[0].(placement.PlaceTransfer)
	require.True(t, ok, "%v", plan.Commands[0])
	require.Equal(t, placement.NodeID(1), tr.From)

	// At version 3 the command leaves them (an older server would not
	// abort them: replicas would differ); the leader's tick aborts them.
	v3 := movingRegistry(t, 3)
	require.NoError(t, v3.Apply(placement.SetNodeState{Node: 1, State: placement.NodeLost}))
	require.Equal(t, 1, v3.View().MoveCount())
}

// At version 3 the tick that finds a move out of a lost node aborts it,
// and plans the shard's re-homing in the same tick.
func TestLostNodeMovesOutAbortedByTheTick(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, _, s := gateHarness(t, 3, clock)
	ctx := context.Background()
	require.Len(t, tick(t, s).Commands, 3)
	_, err := fake.Apply(ctx, placement.Encode(placement.SetNodeState{Node: 1, State: placement.NodeLost}))
	require.NoError(t, err)
	require.Equal(t, 3, reg.View().MoveCount(), "format 3: still in flight")
	rep := tick(t, s)
	require.Len(t, rep.Aborted, 3)
	require.NotEmpty(t, rep.Commands, "re-homed in the same tick")
	for _, c := range rep.Commands {
		require.Equal(t, placement.NodeID(1), c.(placement.PlaceTransfer).From)
	}
}

// A plan whose entry applied but whose answer was lost (in doubt) leaves
// the leader's planner with the hysteresis the log recorded, not its own
// stale memory: after the barrier it reloads it from the log.
func TestInDoubtPlanReloadsHysteresis(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, true, func(c *placement.Config) {
		// 12/0/0 shards is a spread of 3, above the trigger; three moves
		// later, 9/2/1 is 2: under the trigger, above the stop band.
		c.InstantMoves = true
		c.Policy.ImbalanceThreshold, c.Policy.StopBand = 2.5, 0.5
	})
	s := newSched()
	// The first plan starts a rebalance and records it in its entry; the
	// entry commits but the answer is lost.
	fake.FailApply(1, errors.New("leadership lost: in doubt"), true)
	_, err := s.Tick(context.Background())
	require.Error(t, err)
	require.True(t, reg.View().Rebalancing().Bytes, "the log holds the rebalance")
	rep := tick(t, s)
	require.True(t, rep.Barrier)
	require.InDelta(t, 2, rep.Imbalance, 1e-9)
	require.True(t, rep.Rebalancing, "resumed from the log")
	require.NotEmpty(t, rep.Commands, "the rebalance goes on")
	require.Nil(t, rep.Recorded, "nothing to record: the log already says so")
}
