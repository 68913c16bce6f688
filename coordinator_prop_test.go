package placement

import (
	"maps"
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

// transferToRest plans and applies the transfers of each plan until one
// has none, requiring that no shard moves twice; check sees each plan
// first. It returns the transfers made and the plans that made some.
func transferToRest(t require.TestingT, c *Coordinator, g *ShardRegistry, limit int, check func(Plan, []PlaceTransfer)) (total, rounds int) {
	moved := map[ShardID]bool{}
	for ; rounds < 1000; rounds++ {
		p := c.Plan(g.View(), limit)
		trs := transfers(p)
		if check != nil {
			check(p, trs)
		}
		if len(trs) == 0 {
			return total, rounds
		}
		for _, tr := range trs {
			require.False(t, moved[tr.Shard], "shard %d moved twice", tr.Shard)
			moved[tr.Shard] = true
			require.NoError(t, g.Apply(tr))
		}
		total += len(trs)
	}
	require.Fail(t, "no fixed point in 1000 plans")
	return total, rounds
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
		total, rounds := transferToRest(t, c, g, limit, func(p Plan, trs []PlaceTransfer) {
			require.Len(t, trs, len(p.Commands), "no stats: only transfers")
		})
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

// genBytesCluster builds 2–6 nodes (maybe one down) and 20–200 shards with
// middling sizes (never cold, never oversized: rebalancing only), a few
// with unknown stats, spread with a skew, and maybe capacities.
func genBytesCluster(t *rapid.T) (*ShardRegistry, Policy) {
	pol := DefaultPolicy()
	g := NewShardRegistry()
	nodes := rapid.IntRange(2, 6).Draw(t, "nodes")
	for n := 1; n <= nodes; n++ {
		require.NoError(t, g.Apply(AddNode{Node: NodeID(n)}))
		if rapid.IntRange(0, 2).Draw(t, "hascap") == 0 {
			c := rapid.Uint64Range(1, 4).Draw(t, "cap")
			require.NoError(t, g.ReportNodeStats(NodeID(n), NodeStats{Capacity: c << 40}))
		}
	}
	shards := rapid.IntRange(20, 200).Draw(t, "shards")
	hot := NodeID(rapid.IntRange(1, nodes).Draw(t, "hot"))
	for i := range shards {
		owner := hot
		if rapid.IntRange(0, 2).Draw(t, "skew") > 0 {
			owner = NodeID(rapid.IntRange(1, nodes).Draw(t, "owner"))
		}
		r := KeyRange{Start: []byte{byte(i >> 8), byte(i)}, End: []byte{byte((i + 1) >> 8), byte(i + 1)}}
		require.NoError(t, g.Apply(CreateShard{Range: r, Node: owner}))
		st := Stats{
			Keys:  rapid.Uint64Range(pol.MergeKeys, pol.SplitKeys).Draw(t, "keys"),
			Bytes: rapid.Uint64Range(pol.MergeBytes, pol.SplitBytes).Draw(t, "bytes"),
		}
		if rapid.IntRange(0, 9).Draw(t, "unknown") > 0 {
			require.NoError(t, g.ReportStats(ShardID(i+1), st))
		}
	}
	if nodes > 2 && rapid.IntRange(0, 3).Draw(t, "hasdown") == 0 {
		down := NodeID(rapid.IntRange(1, nodes).Draw(t, "down"))
		require.NoError(t, g.Apply(SetNodeState{Node: down, State: NodeDown}))
	}
	pol.StopBand = rapid.Float64Range(0, 0.2).Draw(t, "stop")
	pol.ImbalanceThreshold = pol.StopBand + rapid.Float64Range(0, 0.3).Draw(t, "gap")
	return g, pol
}

// testProjection follows a plan's transfers over per-node bytes and counts.
type testProjection struct {
	bytes, counts, caps, load map[NodeID]float64
}

func project(v View) testProjection {
	p := testProjection{bytes: map[NodeID]float64{}, counts: map[NodeID]float64{}, caps: map[NodeID]float64{}}
	known, mean := 0.0, 0.0
	for _, n := range v.Nodes() {
		u, _ := v.Usage(n.ID)
		known += float64(u.Known)
		mean += float64(u.Bytes)
	}
	// Capacities weigh the up nodes (an unknown one counts as their
	// mean), in count mode too.
	capSum, capN := 0.0, 0.0
	for _, n := range v.Nodes() {
		if ns, _ := v.NodeStats(n.ID); ns.Capacity > 0 && n.State == NodeUp {
			capSum += float64(ns.Capacity)
			capN++
		}
	}
	for _, n := range v.Nodes() {
		u, _ := v.Usage(n.ID)
		p.bytes[n.ID] = float64(u.Bytes)
		if known > 0 {
			p.bytes[n.ID] += float64(n.Shards-u.Known) * mean / known
		}
		p.counts[n.ID] = float64(n.Shards)
		p.caps[n.ID] = 1
		if capN > 0 {
			p.caps[n.ID] = capSum / capN
		}
		if ns, _ := v.NodeStats(n.ID); ns.Capacity > 0 && capN > 0 {
			p.caps[n.ID] = float64(ns.Capacity)
		}
	}
	return p
}

// estimated returns a shard's bytes and load as the planner sees them: the
// reported stats, or the means of the known ones when unknown.
func estimated(v View) func(ShardID) (bytes, load float64) {
	known, b, l := 0.0, 0.0, 0.0
	for _, n := range v.Nodes() {
		u, _ := v.Usage(n.ID)
		known += float64(u.Known)
		b += float64(u.Bytes)
		l += u.Load
	}
	return func(id ShardID) (float64, float64) {
		if st, ok := v.Stats(id); ok {
			return float64(st.Bytes), st.Load
		}
		if known == 0 {
			return 0, 0 // no stats at all: count mode
		}
		return b / known, l / known
	}
}

// clone is a copy of p whose amounts the caller may change.
func (p testProjection) clone() testProjection {
	return testProjection{bytes: maps.Clone(p.bytes), counts: maps.Clone(p.counts), caps: p.caps, load: maps.Clone(p.load)}
}

// narrowsBytes reports whether moving x bytes from a to b narrows their
// pair in bytes.
func (p testProjection) narrowsBytes(a, b NodeID, x float64) bool {
	q := p.clone()
	q.bytes[a] -= x
	q.bytes[b] += x
	return q.gap(q.bytes, a, b) < p.gap(p.bytes, a, b)
}

// narrows reports whether moving x bytes and shards shards from a to b
// narrows their pair in bytes or in counts (without moving them: the
// caller applies what it accepts).
func (p testProjection) narrows(a, b NodeID, x, shards float64) bool {
	byteGap, countGap := p.gap(p.bytes, a, b), p.gap(p.counts, a, b)
	q := p.clone()
	q.bytes[a] -= x
	q.bytes[b] += x
	q.counts[a] -= shards
	q.counts[b] += shards
	return q.gap(q.bytes, a, b) < byteGap || q.gap(q.counts, a, b) < countGap
}

// gap returns |ratio(a) − ratio(b)| of one dimension, ratios taken
// against capacity shares.
func (p testProjection) gap(m map[NodeID]float64, a, b NodeID) float64 {
	total, capSum := 0.0, 0.0
	for id, x := range m {
		total += x
		capSum += p.caps[id]
	}
	ra := m[a] / (total * p.caps[a] / capSum)
	rb := m[b] / (total * p.caps[b] / capSum)
	return math.Abs(ra - rb)
}

// potential is Σ (bytesᵢ − targetᵢ)² / targetᵢ.
func (p testProjection) potential() float64 {
	total, capSum := 0.0, 0.0
	for id, x := range p.bytes {
		total += x
		capSum += p.caps[id]
	}
	phi := 0.0
	for id, x := range p.bytes {
		t := total * p.caps[id] / capSum
		phi += (x - t) * (x - t) / t
	}
	return phi
}

// With sizes known, every transfer narrows the gap between its source and
// destination in bytes (or, repairing counts, in counts), relative to
// capacity shares; so no plan ping-pongs. Planning and applying until the
// plan is empty ends (a fixed point), with Σ (bytesᵢ − targetᵢ)²/targetᵢ
// falling at every bytes move, and the bytes moved within 15% of the lower
// bound plus two shards.
func TestBytesPlanNarrowsEveryPair(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, pol := genBytesCluster(t)
		limit := rapid.IntRange(1, 8).Draw(t, "limit")
		c := NewCoordinator(pol)
		v0 := g.View()
		lb, maxShard := 0.0, 0.0
		{
			p := project(v0)
			total, capSum := 0.0, 0.0
			for id, x := range p.bytes {
				total += x
				capSum += p.caps[id]
			}
			for id, x := range p.bytes {
				lb += max(0, x-total*p.caps[id]/capSum)
			}
			for sh := range v0.Shards() {
				st, _ := v0.Stats(sh.ID)
				maxShard = max(maxShard, float64(st.Bytes))
			}
		}
		moved, swaps := 0.0, 0
		for round := 0; ; round++ {
			require.Less(t, round, 500, "no fixed point")
			v := g.View()
			plan := c.Plan(v, limit)
			if len(plan.Commands) == 0 {
				require.Empty(t, c.Plan(v, limit).Commands, "not a fixed point")
				break
			}
			p := project(v)
			est := estimated(v)
			for k := 0; k < len(plan.Commands); k++ {
				tr, ok := plan.Commands[k].(PlaceTransfer)
				require.True(t, ok, "only transfers on this map: %v", plan.Commands[k])
				x, _ := est(tr.Shard)
				// A swap (the bytes phase's, where the count band refuses a
				// single move) is two transfers in a row, the second the
				// other way: together, net bytes with the counts as they
				// were, they narrow the pair in bytes (either half alone
				// may not). Any other transfer narrows its pair alone.
				var back PlaceTransfer
				if k+1 < len(plan.Commands) {
					back, _ = plan.Commands[k+1].(PlaceTransfer)
				}
				y, shards := 0.0, 1.0
				if back.From == tr.To && back.To == tr.From {
					if b, _ := est(back.Shard); p.narrowsBytes(tr.From, tr.To, x-b) {
						y, shards = b, 0
						swaps++
					}
				}
				require.True(t, shards == 0 || p.narrows(tr.From, tr.To, x, 1), "%v widens its pair in bytes and counts", tr)
				byteGap := p.gap(p.bytes, tr.From, tr.To)
				phi := p.potential()
				p.bytes[tr.From] -= x - y
				p.bytes[tr.To] += x - y
				p.counts[tr.From] -= shards
				p.counts[tr.To] += shards
				if p.gap(p.bytes, tr.From, tr.To) < byteGap {
					require.Less(t, p.potential(), phi, "%v narrows its pair but not the potential", tr)
				}
				moved += x + y
				require.NoError(t, g.Apply(tr))
				if shards == 0 {
					require.NoError(t, g.Apply(back))
					k++
				}
			}
		}
		// Granularity costs at most about one shard over the bound (a move
		// that overshoots its target, or one the count bounds force);
		// the test allows two.
		require.LessOrEqual(t, moved, 1.15*lb+2*maxShard, "bytes moved vs the lower bound")
		_ = swaps
	})
}

// genLoads reports a load for every shard of g with known stats: mostly
// modest, a few hot; every shard has a split-key hint, so hot ones can be
// split.
func genLoads(t *rapid.T, g *ShardRegistry) {
	v := g.View()
	for sh := range v.Shards() {
		st, known := v.Stats(sh.ID)
		if !known {
			continue
		}
		st.Load = float64(rapid.IntRange(0, 100).Draw(t, "load"))
		if rapid.IntRange(0, 19).Draw(t, "hot") == 0 {
			st.Load *= float64(rapid.IntRange(10, 100).Draw(t, "heat"))
		}
		st.SplitKey = append(append([]byte(nil), sh.Range.Start...), 0x80)
		require.NoError(t, g.ReportStats(sh.ID, st))
	}
}

// With load reported too, planning still reaches a fixed point, and each
// transfer narrows its pair in bytes, counts or load; a swap (a transfer and
// one straight back) is judged as one move.
func TestLoadPlanReachesFixedPoint(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, pol := genBytesCluster(t)
		pol.LoadStopBand = rapid.Float64Range(0, 0.2).Draw(t, "loadstop")
		pol.LoadThreshold = pol.LoadStopBand + rapid.Float64Range(0, 0.3).Draw(t, "loadgap")
		genLoads(t, g)
		limit := rapid.IntRange(2, 8).Draw(t, "limit")
		c := NewCoordinator(pol)
		for round := 0; ; round++ {
			require.Less(t, round, 500, "no fixed point")
			v := g.View()
			plan := c.Plan(v, limit)
			if len(plan.Commands) == 0 {
				require.Empty(t, c.Plan(v, limit).Commands, "not a fixed point")
				return
			}
			p := project(v)
			est := estimated(v)
			p.load = map[NodeID]float64{}
			for _, n := range v.Nodes() {
				u, _ := v.Usage(n.ID)
				_, meanLoad := est(0)
				p.load[n.ID] = u.Load + float64(n.Shards-u.Known)*meanLoad
			}
			// A transfer must narrow its pair in some dimension; a swap (a
			// transfer and the next one straight back) may instead narrow
			// it as one move.
			after := func(moves ...PlaceTransfer) testProjection {
				q := testProjection{caps: p.caps, bytes: maps.Clone(p.bytes), counts: maps.Clone(p.counts), load: maps.Clone(p.load)}
				for _, m := range moves {
					b, l := est(m.Shard)
					q.bytes[m.From] -= b
					q.bytes[m.To] += b
					q.counts[m.From]--
					q.counts[m.To]++
					q.load[m.From] -= l
					q.load[m.To] += l
				}
				return q
			}
			narrows := func(q testProjection, a, b NodeID) bool {
				return q.gap(q.bytes, a, b) < p.gap(p.bytes, a, b) || q.gap(q.counts, a, b) < p.gap(p.counts, a, b) ||
					q.gap(q.load, a, b) < p.gap(p.load, a, b)
			}
			for i := 0; i < len(plan.Commands); i++ {
				tr, ok := plan.Commands[i].(PlaceTransfer)
				if !ok {
					require.NoError(t, g.Apply(plan.Commands[i])) // a hot split
					continue
				}
				moves := []PlaceTransfer{tr}
				if i+1 < len(plan.Commands) {
					if back, ok := plan.Commands[i+1].(PlaceTransfer); ok && back.From == tr.To && back.To == tr.From &&
						narrows(after(tr, back), tr.From, tr.To) {
						moves = append(moves, back)
						i++
					}
				}
				q := after(moves...)
				require.True(t, narrows(q, tr.From, tr.To), "%v widens its pair in every dimension", moves)
				p = q
				for _, m := range moves {
					require.NoError(t, g.Apply(m))
				}
			}
		}
	})
}
