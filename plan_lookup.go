package placement

import "math"

// lookups find candidate shards in the registry's B-trees for the phases,
// passing over the shards the plan has taken (see ledger.taken). They
// share one probe record, which saves an allocation per lookup; so no
// lookup may run inside another's callback, and none does: the callbacks
// only weigh the shard they are offered.
type lookups struct {
	s     *state
	plan  *ledger
	probe shardRec
}

// nearestScan is how many shards on each side of the ideal size nearest
// looks at for one that fits.
const nearestScan = 4

// nearest offers fit the shards with known stats on node nearest to size:
// the largest at or below it and the smallest above it, each side until
// fit accepts one or nearestScan were offered. Shards already in the plan
// are passed over.
func (lk *lookups) nearest(node NodeID, size float64, fit func(*shardRec) bool) {
	c := uint64(max(0, min(size, math.MaxUint64/2)))
	p := &lk.probe
	*p = shardRec{shardCore: shardCore{ID: math.MaxUint64, Node: node}, known: true, bytes: c}
	n := 0
	lk.s.byNode.DescendLessOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || n >= nearestScan {
			return false
		}
		if lk.plan.taken(r.ID) {
			return true
		}
		n++
		return !fit(r)
	})
	*p = shardRec{shardCore: shardCore{Node: node}, known: true, bytes: c + 1}
	n = 0
	lk.s.byNode.AscendGreaterOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || !r.known || n >= nearestScan {
			return false
		}
		if lk.plan.taken(r.ID) {
			return true
		}
		n++
		return !fit(r)
	})
}

// firstUnknown returns a shard on node whose stats are unknown and that is
// not in the plan, or nil. Unknown sizes sort last in byNode.
func (lk *lookups) firstUnknown(node NodeID) *shardRec {
	lk.probe = shardRec{shardCore: shardCore{Node: node}}
	return lk.firstFrom(node, &lk.probe)
}

// nearestLoad returns the shards with a load on node nearest to x, not in
// the plan, nearest first: up to nearestScan at or below x (hottest first)
// and as many above it (coldest first). The array is nil-terminated when
// shorter.
func (lk *lookups) nearestLoad(node NodeID, x float64) (out [2*nearestScan + 1]*shardRec) {
	var below, above [nearestScan]*shardRec
	nb, na := 0, 0
	p := &lk.probe
	*p = shardRec{shardCore: shardCore{Node: node}, known: true, load: float32(min(x, math.MaxFloat32))}
	// byLoad is (node, hottest first, ID): from the probe on come the
	// node's shards at or below x, and before it those above.
	lk.s.byLoad.AscendGreaterOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || nb == nearestScan {
			return false
		}
		if !lk.plan.taken(r.ID) {
			below[nb], nb = r, nb+1
		}
		return true
	})
	lk.s.byLoad.DescendLessOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || na == nearestScan {
			return false
		}
		if !lk.plan.taken(r.ID) && float64(r.load) > x {
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
func (lk *lookups) cheapest(node NodeID) *shardRec {
	lk.probe = shardRec{shardCore: shardCore{Node: node}, known: true}
	return lk.firstFrom(node, &lk.probe)
}

// firstFrom returns the first shard of node in byNode order from probe on
// that is not in the plan yet, or nil.
func (lk *lookups) firstFrom(node NodeID, probe *shardRec) (out *shardRec) {
	lk.s.byNode.AscendGreaterOrEqual(probe, func(r *shardRec) bool {
		if r.Node != node {
			return false
		}
		if !lk.plan.taken(r.ID) {
			out = r
			return false
		}
		return true
	})
	return out
}

// hottest offers visit the shards on node with known stats, hottest first,
// while it returns true. Taken shards are offered too.
func (lk *lookups) hottest(node NodeID, visit func(*shardRec) bool) {
	lk.probe = shardRec{shardCore: shardCore{Node: node}, known: true, load: math.MaxFloat32}
	lk.s.byLoad.AscendGreaterOrEqual(&lk.probe, func(r *shardRec) bool {
		return r.Node == node && visit(r)
	})
}
