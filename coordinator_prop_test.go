package placement

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// genCluster builds a registry with 2–8 nodes (some down when allowDown),
// and up to 150 single-byte-range shards spread with a skew. Some shards
// report key counts but no bytes, so the planner balances counts.
func genCluster(t *rapid.T, allowDown bool) *ShardRegistry {
	g := NewShardRegistry()
	nodes := rapid.IntRange(2, 8).Draw(t, "nodes")
	for n := 1; n <= nodes; n++ {
		require.NoError(t, g.Apply(AddNode{Node: NodeID(n)}))
	}
	shards := rapid.IntRange(0, 150).Draw(t, "shards")
	hot := NodeID(rapid.IntRange(1, nodes).Draw(t, "hot"))
	for i := 0; i < shards; i++ {
		owner := hot
		if !rapid.Bool().Draw(t, "skew") {
			owner = NodeID(rapid.IntRange(1, nodes).Draw(t, "owner"))
		}
		r := KeyRange{Start: []byte{byte(i >> 8), byte(i)}, End: []byte{byte((i + 1) >> 8), byte(i + 1)}}
		require.NoError(t, g.Apply(CreateShard{Range: r, Node: owner}))
	}
	// Middling key counts for some shards: neither hot nor cold. With no
	// bytes known the planner balances shard counts.
	pol := DefaultPolicy()
	for id := ShardID(1); id <= ShardID(shards); id++ {
		if rapid.Bool().Draw(t, "hasstats") {
			st := Stats{Keys: rapid.Uint64Range(pol.MergeKeys, pol.SplitKeys).Draw(t, "keys")}
			require.NoError(t, g.ReportStats(id, st))
		}
	}
	if allowDown {
		for n := 1; n <= nodes; n++ {
			if rapid.IntRange(0, 5).Draw(t, "down") == 0 {
				require.NoError(t, g.Apply(SetNodeState{Node: NodeID(n), State: NodeDown}))
			}
		}
	}
	return g
}

func genPolicy(t *rapid.T) Policy {
	p := DefaultPolicy()
	p.StopBand = rapid.Float64Range(0, 0.3).Draw(t, "stop")
	p.ImbalanceThreshold = p.StopBand + rapid.Float64Range(0, 0.5).Draw(t, "gap")
	p.MaxMovesPerNode = math.MaxInt
	return p
}

// upCounts returns the shard counts of the up nodes, in ID order.
func upCounts(v View) (ids []NodeID, counts []int) {
	for _, n := range v.Nodes() {
		if n.State == NodeUp {
			ids = append(ids, n.ID)
			counts = append(counts, n.Shards)
		}
	}
	return ids, counts
}

// naiveMinMoves tries every band [L, L+w] and every L.
func naiveMinMoves(counts []int, stop float64) int {
	total := 0
	for _, c := range counts {
		total += c
	}
	n := len(counts)
	w := max(1, int(math.Floor(stop*float64(total)/float64(n))))
	best := math.MaxInt
	for l := 0; l <= total; l++ {
		if n*l > total || n*(l+w) < total {
			continue
		}
		above, below := 0, 0
		for _, c := range counts {
			above += max(0, c-l-w)
			below += max(0, l-c)
		}
		best = min(best, max(above, below))
	}
	return best
}

// naiveTargets gives ⌈S/n⌉ to the fullest nodes (lowest ID on ties).
func naiveTargets(ids []NodeID, counts []int) map[NodeID]int {
	total := 0
	order := make([]int, len(ids))
	for i, c := range counts {
		total += c
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return counts[b] - counts[a] })
	out := map[NodeID]int{}
	for rank, i := range order {
		out[ids[i]] = total / len(ids)
		if rank < total%len(ids) {
			out[ids[i]]++
		}
	}
	return out
}

func transfers(p Plan) []PlaceTransfer {
	var out []PlaceTransfer
	for _, c := range p.Commands {
		if tr, ok := c.(PlaceTransfer); ok {
			out = append(out, tr)
		}
	}
	return out
}

func TestPlanIsPureAndMoveOptimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genCluster(t, true)
		pol := genPolicy(t)
		v := g.View()
		before := dumpOf(v)
		p1 := NewCoordinator(pol).Plan(v, 1<<20)
		p2 := NewCoordinator(pol).Plan(v, 1<<20)
		require.Equal(t, p1, p2, "same input, same plan")
		require.Equal(t, before, dumpOf(v), "planning changed the view")

		ids, counts := upCounts(v)
		target := naiveTargets(ids, counts)
		seen := map[ShardID]bool{}
		for _, tr := range transfers(p1) {
			require.False(t, seen[tr.Shard], "shard %d planned twice", tr.Shard)
			seen[tr.Shard] = true
			require.Greater(t, v.Count(tr.From), target[tr.From], "moved off a node not above target: %v", tr)
			require.Less(t, v.Count(tr.To), target[tr.To], "moved onto a node not below target: %v", tr)
		}
		want := 0
		if Imbalance(v) > pol.ImbalanceThreshold && len(ids) >= 2 {
			want = naiveMinMoves(counts, pol.StopBand)
			require.Equal(t, want, p1.MinMoves)
		}
		require.Len(t, transfers(p1), want, "transfers vs the minimum")
	})
}

func TestPlanRoundsReachBandInMinimum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genCluster(t, false)
		pol := genPolicy(t)
		limit := rapid.IntRange(1, 7).Draw(t, "limit")
		pol.MaxMovesPerNode = rapid.IntRange(limit, limit+3).Draw(t, "cap")
		v := g.View()
		ids, counts := upCounts(v)
		minimum := 0
		if Imbalance(v) > pol.ImbalanceThreshold {
			minimum = naiveMinMoves(counts, pol.StopBand)
		}
		c := NewCoordinator(pol)
		moved := map[ShardID]bool{}
		rounds, total := 0, 0
		for ; rounds < 1000; rounds++ {
			p := c.Plan(g.View(), limit)
			trs := transfers(p)
			require.Len(t, trs, len(p.Commands), "no stats: only transfers")
			if len(trs) == 0 {
				break
			}
			for _, tr := range trs {
				require.False(t, moved[tr.Shard], "shard %d moved twice", tr.Shard)
				moved[tr.Shard] = true
				require.NoError(t, g.Apply(tr))
			}
			total += len(trs)
		}
		require.Equal(t, minimum, total, "transfers vs the minimum")
		require.Equal(t, (minimum+limit-1)/limit, rounds, "rounds")
		_, after := upCounts(g.View())
		w := max(1, int(math.Floor(pol.StopBand*float64(sum(after))/float64(len(ids)))))
		if minimum > 0 {
			require.LessOrEqual(t, slices.Max(after)-slices.Min(after), w, "stop band reached")
		}
		require.False(t, c.Rebalancing())
	})
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// With fixed stats (every shard re-reports what the registry estimates for
// it), repeated planning and applying of splits and merges stops: a merged
// shard stays under the split threshold and split halves are not merged
// back, so there is no split–merge loop.
func TestSplitMergeReachesFixedPoint(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pol := DefaultPolicy()
		pol.SplitKeys = rapid.Uint64Range(100, 10_000).Draw(t, "splitkeys")
		pol.MergeKeys = rapid.Uint64Range(1, pol.SplitKeys-1).Draw(t, "mergekeys")
		pol.MergeMaxFraction = rapid.Float64Range(0.05, 1).Draw(t, "fraction")
		pol.MergeEmbargo = uint32(rapid.IntRange(0, 3).Draw(t, "embargo"))
		pol.ImbalanceThreshold = 1e9 // only splits and merges here
		g := NewShardRegistry()
		require.NoError(t, g.Apply(AddNode{Node: 1}))
		n := rapid.IntRange(1, 40).Draw(t, "shards")
		for i := 0; i < n; i++ {
			r := KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
			require.NoError(t, g.Apply(CreateShard{Range: r, Node: 1}))
			keys := rapid.Uint64Range(0, 4*pol.SplitKeys).Draw(t, "keys")
			require.NoError(t, g.ReportStats(ShardID(i+1), Stats{Keys: keys, Bytes: keys}))
		}
		c := NewCoordinator(pol)
		for round := 0; ; round++ {
			require.Less(t, round, 200, "no fixed point: split/merge loop")
			p := c.Plan(g.View(), 8)
			if len(p.Commands) == 0 {
				break
			}
			for _, cmd := range p.Commands {
				require.NoError(t, g.Apply(cmd))
			}
			v := g.View()
			for sh := range v.Shards() {
				st, _ := v.Stats(sh.ID)
				require.NoError(t, g.ReportStats(sh.ID, Stats{Keys: st.Keys, Bytes: st.Bytes}))
			}
		}
		v := g.View()
		for sh := range v.Shards() {
			st, ok := v.Stats(sh.ID)
			require.True(t, ok)
			require.LessOrEqual(t, st.Keys, pol.SplitKeys, "shard %d still oversized at the fixed point", sh.ID)
		}
	})
}
