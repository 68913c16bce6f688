package placement

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cooledRegistry holds two shards on node 1 that both came from node 2 at
// log time t0, and an empty node 3, so the byte spread is as wide as it
// gets and the only shards that could even it out have just moved.
func cooledRegistry(t *testing.T, t0 time.Time) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion}, AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3},
		CreateShard{Range: KeyRange{Start: key(""), End: key("m")}, Node: 2},
		CreateShard{Range: KeyRange{End: nil, Start: key("m")}, Node: 2})
	for id := ShardID(1); id <= 2; id++ {
		require.NoError(t, g.ApplyAt(PlaceTransfer{Shard: id, Epoch: 1, From: 2, To: 1}, t0))
		require.NoError(t, g.ApplyAt(CompleteTransfer{Shard: id, Epoch: 2, To: 1}, t0))
		require.NoError(t, g.ReportStats(id, Stats{Keys: 10, Bytes: 100 << 20}))
	}
	return g
}

// A shard that moved is not moved again by rebalancing within
// MoveCooldown of its move's log time, by the planner's clock and, for a
// new leader, since its election; the cool-down is in snapshots.
func TestMoveCooldown(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	g := cooledRegistry(t, t0)
	pol := DefaultPolicy()
	plan := func(now, elected time.Time) Plan {
		c := NewCoordinator(pol)
		c.SetClock(now, elected)
		return c.Plan(g.View(), 5)
	}

	// Without a clock of its own the planner reads the newest log time.
	p := NewCoordinator(pol).Plan(g.View(), 5)
	require.Empty(t, p.Commands)
	require.Contains(t, p.Skipped, Skip{Reason: SkipCoolingDown, Count: 2})

	p = plan(t0.Add(pol.MoveCooldown-time.Second), time.Time{})
	require.Empty(t, p.Commands, "within the cool-down")
	p = plan(t0.Add(pol.MoveCooldown), time.Time{})
	require.Len(t, p.Commands, 1, "the cool-down is over")
	require.Equal(t, NodeID(3), p.Commands[0].(PlaceTransfer).To, "never back to node 2 within a day")
	p = plan(t0.Add(MaxMoveCooldown), time.Time{})
	require.Len(t, p.Commands, 1)
	require.Equal(t, NodeID(2), p.Commands[0].(PlaceTransfer).To, "a day later node 2 may have it back")

	// A leader elected ten minutes before sees its own clock past the
	// cool-down, but not MoveCooldown past its election: it waits.
	now := t0.Add(pol.MoveCooldown + time.Minute)
	p = plan(now, now.Add(-10*time.Minute))
	require.Empty(t, p.Commands, "a new leader waits MoveCooldown from its election")
	p = plan(now, now.Add(-pol.MoveCooldown))
	require.Len(t, p.Commands, 1)

	// A node that joins or comes up after the moves lifts the cool-down:
	// the map changed since, and the node needs shards.
	joinedAt := t0.Add(time.Minute)
	joined := cooledRegistry(t, t0)
	// Node 3 as if it joined after the moves: down, then up again.
	require.NoError(t, joined.ApplyAt(SetNodeState{Node: 3, State: NodeDown}, joinedAt))
	require.NoError(t, joined.ApplyAt(SetNodeState{Node: 3, State: NodeUp}, joinedAt))
	c := NewCoordinator(pol)
	c.SetClock(joinedAt.Add(time.Minute), time.Time{})
	p = c.Plan(joined.View(), 5)
	require.NotEmpty(t, p.Commands, "a node joined after the moves: %v", p.Skipped)
	require.NotContains(t, p.Skipped, Skip{Reason: SkipCoolingDown, Count: 2})

	// Zero turns it off.
	pol.MoveCooldown = 0
	require.Len(t, plan(t0, time.Time{}).Commands, 1)

	// A replica restored from a snapshot keeps the cool-down, and writes
	// the same bytes.
	var buf bytes.Buffer
	require.NoError(t, g.View().WriteSnapshot(&buf))
	require.Equal(t, byte(snapshotVersionStable), buf.Bytes()[len(snapshotMagic)])
	restored := NewShardRegistry()
	require.NoError(t, restored.ReadSnapshot(bytes.NewReader(buf.Bytes())))
	at, ok := restored.View().state().recent.movedAt(1)
	require.True(t, ok)
	require.Equal(t, t0.UnixNano(), at)
	var again bytes.Buffer
	require.NoError(t, restored.View().WriteSnapshot(&again))
	require.Equal(t, buf.Bytes(), again.Bytes())
}

// Drains are exempt: a draining node's shards leave however recently they
// arrived.
func TestMoveCooldownSparesDrains(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	g := cooledRegistry(t, t0)
	mustApply(t, g, SetNodeState{Node: 1, State: NodeDraining})
	p := NewCoordinator(DefaultPolicy()).Plan(g.View(), 5)
	require.Len(t, p.Commands, 2)
}

// The registry keeps a day of moves: older entries go as newer ones come,
// and a merged-away shard is forgotten.
func TestRecentMovesBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	g := cooledRegistry(t, t0)
	require.Equal(t, 2, g.View().state().recent.len())
	later := t0.Add(MaxMoveCooldown + time.Second)
	require.NoError(t, g.ApplyAt(PlaceTransfer{Shard: 1, Epoch: 3, From: 1, To: 2}, later))
	require.NoError(t, g.ApplyAt(CompleteTransfer{Shard: 1, Epoch: 4, To: 2}, later))
	rec := g.View().state().recent
	require.Equal(t, 1, rec.len(), "shard 2's move is more than a day old")
	at, _ := rec.movedAt(1)
	require.Equal(t, later.UnixNano(), at)

	require.NoError(t, g.ApplyAt(PlaceTransfer{Shard: 2, Epoch: 3, From: 1, To: 2}, later))
	require.NoError(t, g.ApplyAt(CompleteTransfer{Shard: 2, Epoch: 4, To: 2}, later))
	require.NoError(t, g.ApplyAt(PlaceMerge{Left: 1, LeftEpoch: 5, Right: 2, RightEpoch: 5}, later))
	_, ok := g.View().state().recent.movedAt(2)
	require.False(t, ok, "merged away")
}

// A node whose capacity is smaller than one shard cannot reach its share:
// the bytes phase does what the shards allow and then settles, and the
// plans that follow are empty and report the phase settled, rather than
// an imbalance it re-engages on every tick.
func TestTinyCapacitySettles(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	for n := NodeID(1); n <= 3; n++ {
		mustApply(t, g, AddNode{Node: n})
	}
	k := 0
	for n := NodeID(1); n <= 3; n++ {
		for range 10 {
			r := KeyRange{Start: []byte(fmt.Sprintf("k%04d", k)), End: []byte(fmt.Sprintf("k%04d", k+1))}
			k++
			mustApply(t, g, CreateShard{Range: r, Node: n})
			require.NoError(t, g.ReportStats(ShardID(k), Stats{Keys: 10, Bytes: 64 << 20}))
		}
	}
	// Node 3's capacity is a thousandth of one shard.
	require.NoError(t, g.ReportNodeStats(1, NodeStats{Capacity: 1 << 40}))
	require.NoError(t, g.ReportNodeStats(2, NodeStats{Capacity: 1 << 40}))
	require.NoError(t, g.ReportNodeStats(3, NodeStats{Capacity: 64 << 10}))
	c := NewCoordinator(DefaultPolicy())
	var p Plan
	for range 50 {
		p = c.Plan(g.View(), 5)
		if len(p.Commands) == 0 {
			break
		}
		mustApply(t, g, p.Commands...)
		endMoves(t, g)
	}
	require.Empty(t, p.Commands, "planning reaches a fixed point")
	require.Greater(t, p.Balance.Bytes, DefaultPolicy().ImbalanceThreshold, "node 3 cannot reach its share")
	require.Contains(t, p.Skipped, Skip{Reason: SkipNoTarget}, "the bytes phase found nothing to move")
	again := c.Plan(g.View(), 5)
	require.Empty(t, again.Commands)
	require.False(t, again.Rebalancing, "settled, not rebalancing forever")
	require.Contains(t, again.Skipped, Skip{Reason: SkipSettled})

	// A node joining is a material change: the phase engages again.
	mustApply(t, g, AddNode{Node: 4})
	require.NoError(t, g.ReportNodeStats(4, NodeStats{Capacity: 1 << 40}))
	joined := c.Plan(g.View(), 5)
	require.NotEmpty(t, joined.Commands)
	require.NotContains(t, joined.Skipped, Skip{Reason: SkipSettled})
}
