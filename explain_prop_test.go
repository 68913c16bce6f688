package placement

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Explain agrees with Plan: over random maps (bytes or counts, with load
// or not, moves taking time or not, a node draining or not) and several
// ticks, the transfer the next plan makes as its first command (a drain
// or a rebalancing move, judged on the map Explain judges) goes to a node
// Explain allowed for that shard, so no shard Explain says cannot move
// anywhere is moved first; and Explain changes nothing: a twin coordinator
// on which Explain was never called plans the same. Each tick Explain is
// asked first, on the coordinator's state before the plan; the plan then
// applies (its moves complete at random), so the hysteresis, the settled
// phases and the cool-down evolve as they do on a leader.
func TestExplainAgreesWithPlan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var g *ShardRegistry
		var pol Policy
		if rapid.Bool().Draw(t, "bytes") {
			g, pol = genBytesCluster(t)
		} else {
			g, pol = genCluster(t, true), genPolicy(t)
		}
		pol.MaxMovesPerNode = DefaultPolicy().MaxMovesPerNode
		pol.MaxInflightPerNode = rapid.IntRange(1, 3).Draw(t, "window")
		v := g.View()
		if rapid.Bool().Draw(t, "load") {
			for sh := range v.Shards() {
				if st, ok := v.Stats(sh.ID); ok {
					st.Load = rapid.Float64Range(0, 100).Draw(t, "shardload")
					st.SplitKey = nil
					require.NoError(t, g.ReportStats(sh.ID, st))
				}
			}
		}
		t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
		if rapid.Bool().Draw(t, "twophase") {
			require.NoError(t, g.ApplyAt(SetFormatVersion{Version: FormatVersion}, t0))
		}
		if rapid.IntRange(0, 3).Draw(t, "drain") == 0 {
			n := NodeID(rapid.IntRange(1, len(v.Nodes())).Draw(t, "drained"))
			if node, _ := g.View().Node(n); node.State == NodeUp {
				require.NoError(t, g.ApplyAt(SetNodeState{Node: n, State: NodeDraining}, t0))
			}
		}
		a, b := NewCoordinator(pol), NewCoordinator(pol)
		at := t0
		for tick := range 6 {
			at = at.Add(time.Minute)
			v := g.View()
			allowed := map[ShardID]map[NodeID]bool{}
			for sh := range v.Shards() {
				e, err := a.Explain(v, sh.ID)
				require.NoError(t, err)
				allowed[sh.ID] = map[NodeID]bool{}
				for _, vd := range e.Candidates {
					require.Equal(t, vd.Allowed, vd.Reason == 0, "%+v", vd)
					allowed[sh.ID][vd.Node] = vd.Allowed
				}
			}
			limit := rapid.IntRange(1, 4).Draw(t, "limit")
			p := a.Plan(v, limit)
			require.Equal(t, b.Plan(v, limit), p, "tick %d: Explain changed the plan", tick)
			if tr, ok := firstSingleMove(p); ok {
				require.True(t, allowed[tr.Shard][tr.To], "tick %d: %v planned, Explain did not allow it (%v)", tick, tr, p.Skipped)
			}
			for _, cmd := range p.Commands {
				require.NoError(t, g.ApplyAt(cmd, at))
			}
			if rapid.Bool().Draw(t, "complete") {
				for m := range g.View().Moves() {
					require.NoError(t, g.ApplyAt(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch, To: m.To}, at))
				}
			}
		}
	})
}

// firstSingleMove returns p's first command if it is a transfer that is
// not half of a swap (a transfer back between the same two nodes next).
// The later commands of a plan are judged on the map its earlier ones
// leave, which Explain does not see.
func firstSingleMove(p Plan) (PlaceTransfer, bool) {
	if len(p.Commands) == 0 {
		return PlaceTransfer{}, false
	}
	tr, ok := p.Commands[0].(PlaceTransfer)
	if !ok {
		return tr, false
	}
	if len(p.Commands) > 1 {
		if back, ok := p.Commands[1].(PlaceTransfer); ok && back.From == tr.To && back.To == tr.From {
			return tr, false
		}
	}
	return tr, true
}
