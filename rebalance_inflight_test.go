package placement

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// inflightPolicy lets one plan make a whole rebalance: no per-plan cap or
// window holds a move back.
func inflightPolicy() Policy {
	pol := DefaultPolicy()
	pol.MaxMovesPerNode, pol.MaxInflightPerNode = 100, 100
	return pol
}

// endMoves completes every move in flight but those of the shards in
// abort, which it aborts.
func endMoves(t *testing.T, g *ShardRegistry, abort ...ShardID) {
	t.Helper()
	var cmds []Command
	for m := range g.View().Moves() {
		var c Command = CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}
		for _, id := range abort {
			if id == m.Shard {
				c = AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}
			}
		}
		cmds = append(cmds, c)
	}
	mustApply(t, g, cmds...)
}

// A rebalance whose projection reaches the stop band only by counting
// moves in flight is not over until they complete: when one of them is
// aborted, the next plan goes on with it, though the spread it leaves is
// under the trigger. Counts (no stats) and bytes alike.
func TestAbortedMoveResumesRebalance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes bool
	}{
		{name: "counts"},
		{name: "bytes", bytes: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := evenNodes(t, 25, 10, 10)
			mustApply(t, g, SetFormatVersion{Version: FormatVersion})
			if tc.bytes {
				for id := ShardID(1); id <= 45; id++ {
					require.NoError(t, g.ReportStats(id, Stats{Keys: 50_000, Bytes: 10 << 20}))
				}
			}
			c := NewCoordinator(inflightPolicy())
			p := c.Plan(g.View(), 100)
			require.Len(t, p.Commands, 10, "15/15/15 in one plan")
			require.True(t, p.Rebalancing, "its moves are in flight once it applies")
			mustApply(t, g, p.Commands...)

			p = c.Plan(g.View(), 100)
			require.Empty(t, p.Commands, "in the band, counting the moves in flight")
			require.True(t, p.Rebalancing, "the moves in flight are not made yet")

			var toNode3 ShardID
			for m := range g.View().Moves() {
				if m.To == 3 {
					toNode3 = m.Shard
				}
			}
			endMoves(t, g, toNode3)
			v := g.View()
			require.Equal(t, []int{16, 15, 14}, []int{v.Count(1), v.Count(2), v.Count(3)})
			pol := c.Policy()
			require.Greater(t, Imbalance(v), pol.StopBand)
			require.Less(t, Imbalance(v), pol.ImbalanceThreshold)

			p = c.Plan(v, 100)
			require.Len(t, p.Commands, 1, "the aborted move is made again")
			tr := p.Commands[0].(PlaceTransfer)
			require.Equal(t, [2]NodeID{1, 3}, [2]NodeID{tr.From, tr.To})
			require.True(t, p.Rebalancing)
			mustApply(t, g, p.Commands...)
			endMoves(t, g)

			p = c.Plan(g.View(), 100)
			require.Empty(t, p.Commands)
			require.False(t, p.Rebalancing, "every move it counted is made: the rebalance is over")
			require.False(t, c.Rebalancing())
		})
	}
}

// The same for load: a load rebalance whose moves are in flight stays on
// until they complete, and an abort that leaves the load spread between
// its stop band and trigger is taken up again.
func TestAbortedMoveResumesLoadRebalance(t *testing.T) {
	g := evenNodes(t, 15, 15, 15)
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	for id := ShardID(1); id <= 45; id++ {
		load := 1.0
		if id <= 15 {
			load = 2 // node 1's shards
		}
		require.NoError(t, g.ReportStats(id, Stats{Keys: 50_000, Bytes: 10 << 20, Load: load}))
	}
	c := NewCoordinator(inflightPolicy())
	p := c.Plan(g.View(), 100)
	require.NotEmpty(t, p.Commands)
	require.True(t, p.RebalancingLoad, "its moves are in flight once it applies")
	mustApply(t, g, p.Commands...)
	p = c.Plan(g.View(), 100)
	require.Empty(t, p.Commands, "in the band, counting the moves in flight")
	require.True(t, p.RebalancingLoad)

	// Abort a move of one of node 1's shards to node 2 (the others are
	// swaps with node 3, or cold shards coming back).
	var hot ShardID
	for m := range g.View().Moves() {
		if m.To == 2 && m.Shard <= 15 {
			hot = m.Shard
		}
	}
	require.NotZero(t, hot)
	endMoves(t, g, hot)
	p = c.Plan(g.View(), 100)
	pol := c.Policy()
	require.Greater(t, p.Balance.Load, pol.LoadStopBand)
	require.Less(t, p.Balance.Load, pol.LoadThreshold)
	require.NotEmpty(t, p.Commands, "the load rebalance goes on")
	require.True(t, p.RebalancingLoad)
	for len(p.Commands) > 0 {
		mustApply(t, g, p.Commands...)
		endMoves(t, g)
		p = c.Plan(g.View(), 100)
	}
	require.False(t, p.RebalancingLoad)
	require.LessOrEqual(t, p.Balance.Load, pol.LoadStopBand)
}

// A drain's moves do not hold a rebalance open: if one is aborted, the
// drain plans it again whatever the rebalance. Here the counts reach the
// stop band with drain moves in flight, and the rebalance ends.
func TestDrainInFlightDoesNotHoldRebalance(t *testing.T) {
	g := evenNodes(t, 6, 6, 6, 3)
	mustApply(t, g, SetFormatVersion{Version: FormatVersion}, SetNodeState{Node: 4, State: NodeDraining})
	c := NewCoordinator(inflightPolicy())
	c.ResumeRebalancing()
	p := c.Plan(g.View(), 100)
	require.Len(t, p.Commands, 3, "the drain, and no rebalancing move")
	require.False(t, p.Rebalancing, "7/7/7 once the drain's moves complete")
	mustApply(t, g, p.Commands...)
	require.Equal(t, 3, g.View().MoveCount())
	p = c.Plan(g.View(), 100)
	require.Empty(t, p.Commands)
	require.False(t, p.Rebalancing)
}

// A plan's own transfers hold a rebalance open only when they begin moves:
// before format version 3, or with InstantMoves, they are made once the
// plan applies, and the plan that reaches the band ends the rebalance.
func TestOnePhaseTransfersEndRebalanceAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint64
		instant bool
	}{
		{name: "version 2", version: versionFlags},
		{name: "instant moves", version: FormatVersion, instant: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := evenNodes(t, 25, 10, 10)
			mustApply(t, g, SetFormatVersion{Version: tc.version})
			pol := inflightPolicy()
			pol.InstantMoves = tc.instant
			p := NewCoordinator(pol).Plan(g.View(), 100)
			require.Len(t, p.Commands, 10)
			require.False(t, p.Rebalancing)
		})
	}
}

// Over rounds of planning and beginning moves on random format-3 maps,
// with each move in flight completed, aborted or left for a later round at
// random, a rebalance that started ends in its stop band once the copies
// stop failing: an abort never strands it between the band and the
// trigger. (Counts only: with no stats, nothing but moves changes them.)
func TestRebalanceEndsInTheBandDespiteAborts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, _, _ := drawMap(t, 6, func(nodes int) int { return nodes }, 150)
		pol := DefaultPolicy()
		pol.MaxInflightPerNode = rapid.IntRange(1, 6).Draw(t, "window")
		pol.MaxMovesPerNode = rapid.IntRange(1, 10).Draw(t, "cap")
		limit := rapid.IntRange(1, 20).Draw(t, "limit")
		c := NewCoordinator(pol)
		started := false
		chaos := rapid.IntRange(0, 30).Draw(t, "chaos rounds")
		for round := 0; ; round++ {
			require.Less(t, round, chaos+500, "no end")
			p := c.Plan(g.View(), limit)
			started = started || p.Rebalancing
			for _, cmd := range p.Commands {
				require.NoError(t, g.Apply(cmd), "round %d: %v", round, cmd)
			}
			if len(p.Commands) == 0 && g.View().MoveCount() == 0 {
				break
			}
			for m := range g.View().Moves() {
				fate := 0 // complete: the copies stop failing after the chaos
				if round < chaos {
					fate = rapid.IntRange(0, 2).Draw(t, "fate")
				}
				switch fate {
				case 0:
					require.NoError(t, g.Apply(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}))
				case 1:
					require.NoError(t, g.Apply(AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}))
				}
			}
		}
		require.False(t, c.Rebalancing(), "the rebalance is recorded as over")
		if !started {
			return
		}
		_, after := upCounts(g.View())
		w := bandWidth(pol.StopBand, sum(after), len(after))
		require.LessOrEqual(t, slices.Max(after)-slices.Min(after), w, "ended in the stop band: %v", after)
	})
}
