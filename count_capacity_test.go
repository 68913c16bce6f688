package placement

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Capacity weighs the same in count mode as in every other phase (issue
// 19, item 6): with capacities 1:1:1:4 and no bytes known, the counts
// converge to each node's capacity share, in exactly Plan.MinMoves
// transfers, no shard goes back to a node it left, and every node ends
// within its weighted band.
func TestCountModeWeighsCapacity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withLoad bool // shards report a load (no bytes): the load phase runs too
	}{
		{name: "counts only"},
		{name: "counts and load", withLoad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewShardRegistry()
			caps := map[NodeID]float64{1: 1, 2: 1, 3: 1, 4: 4}
			for id := NodeID(1); id <= 4; id++ {
				require.NoError(t, g.Apply(AddNode{Node: id}))
				require.NoError(t, g.ReportNodeStats(id, NodeStats{Capacity: uint64(caps[id]) << 40}))
			}
			// 350 shards on nodes 1–3; node 4, the largest, joins empty.
			// Targets are 50, 50, 50 and 200.
			const shards = 350
			for i := range shards {
				r := KeyRange{Start: fmt.Appendf(nil, "k%04d", i), End: fmt.Appendf(nil, "k%04d", i+1)}
				require.NoError(t, g.Apply(CreateShard{Range: r, Node: NodeID(1 + i%3)}))
				st := Stats{Keys: 50_000}
				if tc.withLoad {
					st.Load = 10
				}
				require.NoError(t, g.ReportStats(ShardID(i+1), st))
			}
			pol := DefaultPolicy()
			c := NewCoordinator(pol)
			left := map[ShardID]map[NodeID]bool{}
			backMoves, moved, minMoves := 0, 0, -1
			for round := 0; ; round++ {
				require.Less(t, round, 1000, "no fixed point")
				p := c.Plan(g.View(), 5)
				if minMoves < 0 {
					minMoves = p.MinMoves
				}
				if len(p.Commands) == 0 {
					break
				}
				for _, tr := range transfers(p) {
					if left[tr.Shard][tr.To] {
						backMoves++
					}
					if left[tr.Shard] == nil {
						left[tr.Shard] = map[NodeID]bool{}
					}
					left[tr.Shard][tr.From] = true
					moved++
				}
				for _, cmd := range p.Commands {
					require.NoError(t, g.Apply(cmd))
				}
			}
			require.Zero(t, backMoves, "shards moved back to a node they left")
			require.Equal(t, minMoves, moved, "transfers vs the first plan's MinMoves")

			v := g.View()
			ratios := shares(v, caps, countOf(v))
			for id, r := range ratios {
				require.InDelta(t, 1, r, pol.CountTolerance, "node %d: %d shards, %.2f of its share", id, v.Count(id), r)
			}
			// The stop band: a spread of StopBand, or one shard on the
			// smallest target where counts cannot be more even.
			require.LessOrEqual(t, spreadOf(ratios), pol.StopBand+1/(shards/7.0)+1e-9, "count spread at rest: %v", ratios)
			require.False(t, c.Rebalancing())
			// At rest the count phase stays quiet.
			require.Empty(t, c.Plan(v, 5).Commands)
			require.Less(t, math.Abs(c.Plan(v, 5).Balance.Count), pol.ImbalanceThreshold)
		})
	}
}

// naiveWeightedMinMoves is Plan.MinMoves in count mode recounted the slow
// way: every band of the family countBand describes, at every level ρ
// where some node's low changes (k / tᵢ) and just after it, with tᵢ and
// the widths computed from the capacities directly.
func naiveWeightedMinMoves(counts []int, caps []float64, stop float64) int {
	total, capSum := 0, 0.0
	for k, c := range counts {
		total += c
		capSum += caps[k]
	}
	t := make([]float64, len(counts))
	w := make([]int, len(counts))
	for k := range counts {
		t[k] = float64(total) / (capSum / caps[k])
		w[k] = max(1, min(total, int(math.Floor(stop*float64(total)/(capSum/caps[k])))))
	}
	best := math.MaxInt
	try := func(rho float64) {
		lows, highs, above, below := 0, 0, 0, 0
		for k, c := range counts {
			lo := int(math.Ceil(rho * t[k]))
			lows += lo
			highs += lo + w[k]
			above += max(0, c-lo-w[k])
			below += max(0, lo-c)
		}
		if lows <= total && highs >= total {
			best = min(best, max(above, below))
		}
	}
	for k := range counts {
		for j := 0; j <= 2*total+2; j++ {
			rho := float64(j) / t[k]
			try(rho)
			try(math.Nextafter(rho, math.Inf(1)))
		}
	}
	return best
}

// With random capacities and no bytes, the count phase moves exactly the
// naive minimum into its band, reports it as Plan.MinMoves, never moves a
// shard twice (across plans too), and ends in the band.
func TestCountModeWeightedMoveOptimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genCluster(t, false)
		pol := genPolicy(t)
		limit := rapid.IntRange(1, 7).Draw(t, "limit")
		pol.MaxMovesPerNode = rapid.IntRange(limit, limit+3).Draw(t, "cap")
		var caps []float64
		for _, n := range g.View().Nodes() {
			c := rapid.IntRange(1, 5).Draw(t, "capacity")
			caps = append(caps, float64(c))
			require.NoError(t, g.ReportNodeStats(n.ID, NodeStats{Capacity: uint64(c) << 30}))
		}
		v := g.View()
		_, counts := upCounts(v)
		c := NewCoordinator(pol)
		first := c.Plan(v, limit)
		minimum := 0
		if first.Balance.Count > pol.ImbalanceThreshold {
			minimum = naiveWeightedMinMoves(counts, caps, pol.StopBand)
		}
		require.Equal(t, minimum, first.MinMoves, "MinMoves vs the naive minimum")

		c = NewCoordinator(pol)
		total, _ := transferToRest(t, c, g, limit, nil)
		require.Equal(t, minimum, total, "transfers vs the minimum")
		if minimum > 0 {
			_, after := upCounts(g.View())
			require.Zero(t, naiveWeightedMinMoves(after, caps, pol.StopBand), "in the band at rest: %v", after)
		}
		require.False(t, c.Rebalancing())
	})
}
