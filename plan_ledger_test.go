package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLedgerSecondPass: the second pass over drains, splits and merges
// reports nothing the first pass did, nor the shards the first planned.
func TestLedgerSecondPass(t *testing.T) {
	l := ledger{limit: 4, room: 4}
	l.skip(Skip{Reason: SkipNoTarget, Node: 1})
	l.skip(Skip{Reason: SkipInPlan, Shard: 7})
	l.second = true
	l.skip(Skip{Reason: SkipNoTarget, Node: 1})
	l.skip(Skip{Reason: SkipInPlan, Shard: 8})
	l.skip(Skip{Reason: SkipNoTarget, Node: 2})
	require.Equal(t, []Skip{
		{Reason: SkipNoTarget, Node: 1},
		{Reason: SkipInPlan, Shard: 7},
		{Reason: SkipNoTarget, Node: 2},
	}, l.out.Skipped)
}

// TestLedgerRoom: a phase is full at its room; one stopped by a
// reservation (room below the limit) marks the plan cut, so the second
// pass goes on.
func TestLedgerRoom(t *testing.T) {
	l := ledger{limit: 3, room: 1}
	require.False(t, l.full())
	l.use(PlaceSplit{Shard: 1}, Reason{Phase: PhaseSplit}, 1)
	require.True(t, l.full())
	require.True(t, l.cut)
	require.True(t, l.used[1])

	l = ledger{limit: 1, room: 1}
	l.use(PlaceSplit{Shard: 1}, Reason{Phase: PhaseSplit}, 1)
	require.True(t, l.full())
	require.False(t, l.cut, "the limit, not a reservation")
}

// TestLedgerHold: a held shard is taken without a command of its own.
func TestLedgerHold(t *testing.T) {
	l := ledger{s: newState(), limit: 2, room: 2}
	l.hold(5)
	require.True(t, l.taken(5))
	require.False(t, l.taken(6))
	require.Empty(t, l.out.Commands)
}
