package placement

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Count repair never pushes a node's bytes out of their band (issue 19,
// item 4). Each node holds the same bytes in shards of its own size, so
// bytes are even and counts are not: the repair moves shards while the
// bytes band (±ImbalanceThreshold/2 of target) allows, every node's bytes
// stay in it after every plan, planning reaches a fixed point, and each
// node still outside its count band there is reported as
// SkipCountBandInfeasible.
func TestCountRepairKeepsBytesBand(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pol := DefaultPolicy()
		g := NewShardRegistry()
		nodes := rapid.IntRange(2, 5).Draw(t, "nodes")
		const perNode = 6000
		next := 0
		for n := 1; n <= nodes; n++ {
			require.NoError(t, g.Apply(AddNode{Node: NodeID(n)}))
			size := rapid.SampledFrom([]uint64{100, 150, 200, 300, 500, 1000, 1500}).Draw(t, "size")
			for range perNode / size {
				r := KeyRange{Start: fmt.Appendf(nil, "k%05d", next), End: fmt.Appendf(nil, "k%05d", next+1)}
				require.NoError(t, g.Apply(CreateShard{Range: r, Node: NodeID(n)}))
				next++
				require.NoError(t, g.ReportStats(ShardID(next), Stats{Keys: 5000, Bytes: size}))
			}
		}
		limit := rapid.IntRange(1, 8).Draw(t, "limit")
		half := pol.ImbalanceThreshold / 2
		c := NewCoordinator(pol)
		var last Plan
		for round := 0; ; round++ {
			require.Less(t, round, 500, "no fixed point")
			last = c.Plan(g.View(), limit)
			if len(last.Commands) == 0 {
				break
			}
			for _, cmd := range last.Commands {
				require.NoError(t, g.Apply(cmd))
			}
			v := g.View()
			for id, r := range shares(v, nil, bytesOf(v)) {
				require.InDelta(t, 1, r, half+1e-9, "round %d: node %d's bytes left their band", round, id)
			}
		}
		v := g.View()
		ratios := shares(v, nil, countOf(v))
		for _, n := range v.Nodes() {
			target := float64(next) / float64(nodes)
			// The bounds rounded outwards, as the planner rounds them, with
			// room for its float rounding at an exact integer.
			lo := int(math.Floor((1-pol.CountTolerance)*target - 1e-9))
			hi := int(math.Ceil((1+pol.CountTolerance)*target + 1e-9))
			if n.Shards >= lo && n.Shards <= hi {
				continue
			}
			require.True(t, slices.Contains(last.Skipped, Skip{Reason: SkipCountBandInfeasible, Node: n.ID}),
				"node %d holds %d shards (%.2f of its share) at rest, not reported: %v", n.ID, n.Shards, ratios[n.ID], last.Skipped)
		}
	})
}
