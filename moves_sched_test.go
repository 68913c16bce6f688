package placement_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeClock is a settable time source.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// movesHarness is the skewed map (12 shards on node 1 of 3) with two-phase
// moves. With logTime, entries apply with the clock's time as their
// AppendedAt, as raft's log would give them. Each scheduler it makes has 3
// actions a tick and the fake clock, and then what mutate changes.
func movesHarness(t *testing.T, clock *fakeClock, logTime bool, mutate ...func(*placement.Config)) (*placement.ShardRegistry, *placementtest.FakeRaft, func() *placement.Scheduler) {
	t.Helper()
	reg := skewed(t)
	fsm := placement.NewFSM(reg)
	apply := fsm.ApplyEntry
	if logTime {
		apply = func(index uint64, entry []byte) any { return fsm.ApplyEntryAt(index, clock.Now(), entry) }
	}
	fake := placementtest.NewFakeRaft(apply)
	fake.SetLeader(true)
	newSched := func() *placement.Scheduler {
		cfg := placement.DefaultConfig()
		cfg.MaxActionsPerTick = 3
		cfg.TickInterval = time.Hour
		cfg.Clock = clock.Now
		for _, m := range mutate {
			m(&cfg)
		}
		sched, err := placement.New(fake, reg, cfg)
		require.NoError(t, err)
		return sched
	}
	return reg, fake, newSched
}

func tick(t *testing.T, s *placement.Scheduler) placement.TickReport {
	t.Helper()
	rep, err := s.Tick(context.Background())
	require.NoError(t, err)
	return rep
}

// A move's age runs from its PlaceTransfer's log time: a new leader
// neither forgets the clock nor restarts it. But it judges only time it has
// seen pass itself: it aborts a move once MoveTimeout has passed since the
// move began and since its own election, so a failover delays an abort by
// at most MoveTimeout and never brings one forward.
func TestMoveTimeoutSurvivesLeaderChange(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, true)
	old := newSched()
	rep := tick(t, old)
	require.Len(t, rep.Commands, 3)
	require.Equal(t, 3, reg.View().MoveCount(), "begun, not completed")
	var first []placement.ShardID
	for _, c := range rep.Commands {
		first = append(first, c.(placement.PlaceTransfer).Shard)
	}

	clock.Advance(9 * time.Minute)
	require.Empty(t, tick(t, old).Aborted)

	// A new leader in a new term, a minute later: 10 minutes since the
	// moves began, none since its election.
	fake.SetLeader(false)
	fake.SetLeader(true)
	clock.Advance(time.Minute)
	next := newSched()
	require.Empty(t, tick(t, next).Aborted, "the new leader has not seen MoveTimeout pass")
	clock.Advance(10*time.Minute - time.Second)
	require.Empty(t, tick(t, next).Aborted)
	clock.Advance(time.Second)
	rep = tick(t, next)
	var aborted []placement.ShardID
	for _, a := range rep.Aborted {
		aborted = append(aborted, a.Shard)
		sh, _ := reg.View().Shard(a.Shard)
		require.Equal(t, placement.NodeID(1), sh.Node, "an aborted move leaves the owner")
	}
	require.ElementsMatch(t, first, aborted, "the old leader's first moves, timed out on both clocks (3 aborts a tick)")
}

// A new leader whose clock runs an hour ahead of its predecessor's (or
// steps forward) aborts nothing, declares no node lost and ends no pause on
// its first tick: each waits for its whole length on the new leader's own
// clock.
func TestTimersSafeFromClockSkew(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, true, func(c *placement.Config) {
		c.Policy.DownTimeout = 30 * time.Minute
	})
	ctx := context.Background()
	old := newSched()
	require.Len(t, tick(t, old).Commands, 3)
	_, err := fake.Apply(ctx, placement.Encode(placement.SetNodeState{Node: 3, State: placement.NodeDown}))
	require.NoError(t, err)
	require.NoError(t, old.Pause(ctx, 45*time.Minute))

	fake.SetLeader(false)
	fake.SetLeader(true)
	clock.Advance(time.Hour) // the new leader's clock: an hour ahead
	next := newSched()
	rep := tick(t, next)
	require.Empty(t, rep.Aborted)
	require.Empty(t, rep.Lost)
	require.False(t, rep.PauseExpired)
	require.True(t, rep.Paused)
	require.True(t, reg.View().Pause().Paused)

	clock.Advance(10 * time.Minute) // MoveTimeout on its own clock
	rep = tick(t, next)
	require.True(t, rep.Paused, "the 45-minute pause holds 45 minutes on this clock")
	require.Empty(t, rep.Aborted, "nothing is judged while paused")
	clock.Advance(35 * time.Minute)
	rep = tick(t, next)
	require.True(t, rep.PauseExpired)
	require.Len(t, rep.Aborted, 2, "the moves, except the one into node 3 that going down aborted")
	require.Equal(t, []placement.NodeID{3}, rep.Lost)
}

// A move applied without a log time is timed from when the leader first
// saw it.
func TestMoveTimeoutWithoutLogTime(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, _, newSched := movesHarness(t, clock, false)
	s := newSched()
	tick(t, s)
	require.Equal(t, 3, reg.View().MoveCount())
	clock.Advance(time.Minute)
	require.Empty(t, tick(t, s).Aborted, "first seen now")
	clock.Advance(9*time.Minute + time.Second)
	require.Empty(t, tick(t, s).Aborted, "9m01s after first seen")
	clock.Advance(time.Minute)
	rep := tick(t, s)
	require.Len(t, rep.Aborted, 3)
	require.NotEmpty(t, rep.Commands, "the same shards are moved again, at new epochs")
	// A new attempt at a shard is timed afresh, not from the old one's
	// first sighting.
	clock.Advance(time.Minute)
	require.Empty(t, tick(t, s).Aborted)
}

func TestCompleteTransferHelper(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, true)
	s := newSched()
	rep := tick(t, s)
	ctx := context.Background()
	move := func(c placement.Command) placement.Move {
		tr := c.(placement.PlaceTransfer)
		return placement.Move{Shard: tr.Shard, From: tr.From, To: tr.To, Epoch: tr.Epoch + 1}
	}

	first := move(rep.Commands[0])
	require.NoError(t, s.CompleteTransfer(ctx, first))
	sh, _ := reg.View().Shard(first.Shard)
	require.Equal(t, first.To, sh.Node)
	require.Zero(t, sh.MovingTo)
	// A retry (its answer lost with a leader change, say) succeeds: the
	// destination owns the shard, and the map is unchanged.
	before := reg.View()
	require.NoError(t, s.CompleteTransfer(ctx, first))
	require.Empty(t, slices.Collect(placement.Diff(before, reg.View())))
	require.ErrorIs(t, s.CompleteTransfer(ctx, placement.Move{Shard: 999, Epoch: 1}), placement.ErrUnknownShard)

	other := move(rep.Commands[1])
	require.NoError(t, s.AbortTransfer(ctx, other))
	sh, _ = reg.View().Shard(other.Shard)
	require.Equal(t, placement.NodeID(1), sh.Node)

	// The move is begun again, to another node: the late completion of the
	// aborted attempt must not complete this one, whose copy never ran.
	_, err := fake.Apply(ctx, placement.Encode(placement.PlaceTransfer{Shard: sh.ID, Epoch: sh.Epoch, From: 1, To: 3}))
	require.NoError(t, err)
	require.ErrorIs(t, s.CompleteTransfer(ctx, other), placement.ErrStaleEpoch)
	sh, _ = reg.View().Shard(other.Shard)
	require.Equal(t, placement.NodeID(1), sh.Node)
	require.Equal(t, placement.NodeID(3), sh.MovingTo)

	fake.SetLeader(false)
	require.ErrorIs(t, s.CompleteTransfer(ctx, move(rep.Commands[2])), placement.ErrNotLeader)
}

// With InstantMoves each transfer completes in its own entry; results
// stay one per planned command.
func TestInstantMovesCompleteInTheSameEntry(t *testing.T) {
	h := newHarness(t, nil) // InstantMoves
	h.fake.SetLeader(true)
	rep := tick(t, h.sched)
	require.Len(t, rep.Commands, 3)
	require.Equal(t, []error{nil, nil, nil}, rep.Results)
	require.Zero(t, h.reg.View().MoveCount())
	require.Equal(t, 9, h.reg.View().Count(1))
	cmds, err := placement.Decode(h.fake.Entries()[0])
	require.NoError(t, err)
	require.IsType(t, placement.CompleteTransfer{}, cmds[1])
}

// At Info, each tick whose plan applies logs one line with the counts by
// kind; proposals stay at Debug.
func TestAppliedPlanLoggedAtInfo(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := newHarness(t, func(c *placement.Config) { c.Logger = zap.New(core) })
	h.fake.SetLeader(true)
	tick(t, h.sched)
	applied := logs.FilterMessage("plan applied").All()
	require.Len(t, applied, 1)
	fields := applied[0].ContextMap()
	require.Equal(t, int64(3), fields["transfers"])
	require.Equal(t, int64(0), fields["splits"])
	require.Equal(t, int64(0), fields["rejected"])
	require.Zero(t, logs.FilterMessage("proposing").Len(), "proposals are Debug")
}

// Without log times, each attempt at a move is timed from its own first
// sighting: a shard moved again does not inherit an earlier attempt's.
func TestMoveTimeoutPerAttempt(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, false)
	s := newSched()
	ctx := context.Background()
	quiet := placement.DefaultPolicy()
	quiet.ImbalanceThreshold = 1e6 // the planner moves nothing itself
	require.NoError(t, s.SetPolicy(ctx, quiet, 3))
	begin := func(id placement.ShardID, to placement.NodeID) placement.Move {
		sh, _ := reg.View().Shard(id)
		_, err := fake.Apply(ctx, placement.Encode(placement.PlaceTransfer{Shard: id, Epoch: sh.Epoch, From: sh.Node, To: to}))
		require.NoError(t, err)
		return placement.Move{Shard: id, From: sh.Node, To: to, Epoch: sh.Epoch + 1}
	}
	first := begin(1, 2)
	begin(2, 3) // in flight throughout
	require.Empty(t, tick(t, s).Aborted)
	require.NoError(t, s.CompleteTransfer(ctx, first))

	clock.Advance(9 * time.Minute)
	require.Empty(t, tick(t, s).Aborted)
	begin(1, 3) // shard 1 moves again

	clock.Advance(time.Minute)
	rep := tick(t, s)
	require.Len(t, rep.Aborted, 1, "only the move 10 minutes old")
	require.Equal(t, placement.ShardID(2), rep.Aborted[0].Shard)
}

// A tick reports the transfers that take a shard back to a node it left
// (TickReport.MovedBack): here a rebalance off node 1, then nodes 2 and 3
// draining, which sends every shard back to node 1.
func TestTickReportsBackMoves(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	_, fake, newSched := movesHarness(t, clock, true, func(c *placement.Config) { c.InstantMoves = true })
	s := newSched()
	rep := tick(t, s)
	require.Len(t, rep.Commands, 3)
	require.Zero(t, rep.MovedBack)
	for _, n := range []placement.NodeID{2, 3} {
		_, err := fake.Apply(context.Background(), placement.Encode(placement.SetNodeState{Node: n, State: placement.NodeDraining}))
		require.NoError(t, err)
	}
	clock.Advance(time.Minute)
	rep = tick(t, s)
	require.Len(t, rep.Commands, 3)
	require.Equal(t, 3, rep.MovedBack, "all three are back on node 1")
	clock.Advance(placement.BackMoveWindow)
	require.Zero(t, tick(t, s).MovedBack, "nothing left to move")
}
