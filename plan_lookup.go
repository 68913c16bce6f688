package placement

import "math"

// The lookups of candidate shards in the registry's B-trees. They share
// the planner's one probe record (saving an allocation per lookup), which
// is safe because no lookup runs inside another lookup's callback.

// nearestScan is how many shards on each side of the ideal size nearest
// looks at for one that fits.
const nearestScan = 4

// nearest offers fit the shards with known stats on node nearest to size:
// the largest at or below it and the smallest above it, each side until
// fit accepts one or nearestScan were offered. Shards already in the plan
// are passed over.
func (pl *planner) nearest(node NodeID, size float64, fit func(*shardRec) bool) {
	c := uint64(max(0, min(size, math.MaxUint64/2)))
	p := &pl.probe
	*p = shardRec{shardCore: shardCore{ID: math.MaxUint64, Node: node}, known: true, bytes: c}
	n := 0
	pl.s.byNode.DescendLessOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || n >= nearestScan {
			return false
		}
		if pl.taken(r.ID) {
			return true
		}
		n++
		return !fit(r)
	})
	*p = shardRec{shardCore: shardCore{Node: node}, known: true, bytes: c + 1}
	n = 0
	pl.s.byNode.AscendGreaterOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || !r.known || n >= nearestScan {
			return false
		}
		if pl.taken(r.ID) {
			return true
		}
		n++
		return !fit(r)
	})
}

// firstUnknown returns a shard on node whose stats are unknown and that is
// not in the plan, or nil. Unknown sizes sort last in byNode.
func (pl *planner) firstUnknown(node NodeID) *shardRec {
	pl.probe = shardRec{shardCore: shardCore{Node: node}}
	return pl.firstFrom(node, &pl.probe)
}

// nearestLoad returns the shards with a load on node nearest to x, not in
// the plan, nearest first: up to nearestScan at or below x (hottest first)
// and as many above it (coldest first). The array is nil-terminated when
// shorter.
func (pl *planner) nearestLoad(node NodeID, x float64) (out [2*nearestScan + 1]*shardRec) {
	var below, above [nearestScan]*shardRec
	nb, na := 0, 0
	p := &pl.probe
	*p = shardRec{shardCore: shardCore{Node: node}, known: true, load: float32(min(x, math.MaxFloat32))}
	// byLoad is (node, hottest first, ID): from the probe on come the
	// node's shards at or below x, and before it those above.
	pl.s.byLoad.AscendGreaterOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || nb == nearestScan {
			return false
		}
		if !pl.taken(r.ID) {
			below[nb], nb = r, nb+1
		}
		return true
	})
	pl.s.byLoad.DescendLessOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || na == nearestScan {
			return false
		}
		if !pl.taken(r.ID) && float64(r.load) > x {
			above[na], na = r, na+1
		}
		return true
	})
	n, i, j := 0, 0, 0
	for i < nb || j < na {
		if j == na || (i < nb && x-float64(below[i].load) <= float64(above[j].load)-x) {
			out[n], i = below[i], i+1
		} else {
			out[n], j = above[j], j+1
		}
		n++
	}
	return out
}

// cheapest returns the cheapest shard on node that is not in the plan yet.
func (pl *planner) cheapest(node NodeID) *shardRec {
	pl.probe = shardRec{shardCore: shardCore{Node: node}, known: true}
	return pl.firstFrom(node, &pl.probe)
}

// firstFrom returns the first shard of node in byNode order from probe on
// that is not in the plan yet, or nil.
func (pl *planner) firstFrom(node NodeID, probe *shardRec) (out *shardRec) {
	pl.s.byNode.AscendGreaterOrEqual(probe, func(r *shardRec) bool {
		if r.Node != node {
			return false
		}
		if !pl.taken(r.ID) {
			out = r
			return false
		}
		return true
	})
	return out
}
