package placement

import "math"

// measure fills the planner's soft dimensions from the view: each up
// node's capacity share, and each node's projected bytes and load. Shards
// whose stats are unknown count at the mean of the known ones, so a map
// whose stats are partly reported is balanced on the best estimate, and a
// map with no known bytes is balanced by counts, as it always was. It reads
// the per-node sums the registry maintains, in O(nodes).
func (pl *planner) measure() {
	s := pl.s
	n := len(s.nodes)
	pl.up = pl.sc.ints.take(n)[:0]
	known, knownBytes, knownLoad := 0, 0.0, 0.0
	capSum, capKnown := 0.0, 0
	for i := range s.nodes {
		nd := &s.nodes[i]
		known += nd.usage.Known
		knownBytes += float64(nd.usage.Bytes)
		knownLoad += nd.usage.Load
		if nd.State == NodeUp {
			pl.up = append(pl.up, i)
			if nd.capacity > 0 {
				capSum += float64(nd.capacity)
				capKnown++
			}
		}
	}
	floats := pl.sc.floats.take(4 * n)
	pl.share, pl.inv = floats[:n], floats[3*n:]
	// An unknown capacity counts as the mean known one; with none known
	// every up node counts as equal.
	meanCap := 1.0
	if capKnown > 0 {
		meanCap = capSum / float64(capKnown)
	}
	total := 0.0
	for _, i := range pl.up {
		c := meanCap
		if k := s.nodes[i].capacity; k > 0 {
			c = float64(k)
		}
		pl.share[i] = c
		total += c
	}
	for _, i := range pl.up {
		pl.share[i] /= total
		pl.inv[i] = 1 / pl.share[i]
	}
	if known == 0 {
		return
	}
	pl.meanBytes = knownBytes / float64(known)
	pl.meanLoad = knownLoad / float64(known)
	if knownBytes > 0 {
		pl.bytes = floats[n : 2*n]
		for i := range s.nodes {
			nd := &s.nodes[i]
			pl.bytes[i] = float64(nd.usage.Bytes) + float64(nd.Shards-nd.usage.Known)*pl.meanBytes
		}
	}
	if knownLoad > 0 {
		pl.load = floats[2*n : 3*n]
		for i := range s.nodes {
			nd := &s.nodes[i]
			pl.load[i] = nd.usage.Load + float64(nd.Shards-nd.usage.Known)*pl.meanLoad
		}
		pl.loadTotal = pl.sumUp(pl.load)
	}
}

// sizeOf is r's bytes, or the mean known size if its stats are unknown.
func (pl *planner) sizeOf(r *shardRec) float64 {
	if !r.known {
		return pl.meanBytes
	}
	return float64(r.bytes)
}

// loadOf is r's load, or the mean known load if its stats are unknown.
func (pl *planner) loadOf(r *shardRec) float64 {
	if !r.known {
		return pl.meanLoad
	}
	return float64(r.load)
}

// sumUp is the total of vals over the up nodes.
func (pl *planner) sumUp(vals []float64) float64 {
	t := 0.0
	for _, i := range pl.up {
		t += vals[i]
	}
	return t
}

// spreadOf is max − min over the up nodes of vals[i] / (total × share[i]),
// or 0 when there is nothing to spread.
func (pl *planner) spreadOf(vals []float64) float64 {
	total, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, i := range pl.up {
		v := vals[i]
		total += v
		r := v * pl.inv[i]
		lo, hi = min(lo, r), max(hi, r)
	}
	if len(pl.up) < 2 || total <= 0 {
		return 0
	}
	return (hi - lo) / total
}

// balance measures the view's spreads, before any planned command, in one
// pass over the up nodes.
func (pl *planner) balance() Balance {
	if len(pl.up) < 2 {
		return Balance{}
	}
	var (
		b               Balance
		counts, by, ld  float64
		cLo, bLo, lLo   = math.Inf(1), math.Inf(1), math.Inf(1)
		cHi, bHi, lHi   = math.Inf(-1), math.Inf(-1), math.Inf(-1)
		hasBytes, hasLd = pl.bytes != nil, pl.load != nil
	)
	for _, i := range pl.up {
		inv := pl.inv[i]
		c := float64(pl.counts[i])
		counts += c
		cLo, cHi = min(cLo, c*inv), max(cHi, c*inv)
		if hasBytes {
			by += pl.bytes[i]
			bLo, bHi = min(bLo, pl.bytes[i]*inv), max(bHi, pl.bytes[i]*inv)
		}
		if hasLd {
			ld += pl.load[i]
			lLo, lHi = min(lLo, pl.load[i]*inv), max(lHi, pl.load[i]*inv)
		}
	}
	if counts > 0 {
		b.Count = (cHi - cLo) / counts
	}
	if by > 0 {
		b.Bytes = (bHi - bLo) / by
	}
	if ld > 0 {
		b.Load = (lHi - lLo) / ld
	}
	return b
}

// dimension is one quantity the planner balances over the up nodes in
// proportion to their capacity shares: bytes, load, or (in repairCounts)
// shard counts.
type dimension struct {
	vals  []float64 // projected amount per node, parallel to state.nodes
	ints  []int     // or, for counts, the projected counts
	total float64   // over the up nodes; moves between them keep it
	share []float64
	inv   []float64 // 1 / share
}

func (d *dimension) at(i int) float64 {
	if d.ints != nil {
		return float64(d.ints[i])
	}
	return d.vals[i]
}

// target is node i's share of the total.
func (d *dimension) target(i int) float64 { return d.total * d.share[i] }

// ratio is node i's amount over its target: 1 is on target.
func (d *dimension) ratio(i int) float64 { return d.at(i) * d.inv[i] / d.total }

// narrows returns the exclusive upper bound on an amount moved from src
// to dst that leaves the pair closer together, relative to their
// targets, than before: moving x changes the gap of ratios by
// −x·(1/tₛ + 1/t_d), so any x below twice the gap over that sum narrows
// it. This is the no-ping-pong rule: a move never leaves its pair further
// apart. (It is also exactly the condition under which the move lowers
// Σ (amountᵢ − targetᵢ)² / targetᵢ, so moves that narrow their pairs can
// never cycle.)
func (d *dimension) narrows(src, dst int) float64 {
	// The bound itself would mirror the pair exactly; the margin keeps
	// rounding in the projected sums from letting such a move through.
	return (1 - 1e-9) * 2 * (d.ratio(src) - d.ratio(dst)) / (1/d.target(src) + 1/d.target(dst))
}

// delta is the change that moving x from src to dst (the other way when
// x is negative) makes to Σ (amountᵢ − targetᵢ)² / targetᵢ, divided by the
// square of the total so that dimensions in different units add up: with
// f = x / total it is f·(f·(1/shareₛ + 1/share_d) − 2·(ratioₛ − ratio_d)).
// A nil or empty dimension contributes 0.
func (d *dimension) delta(src, dst int, x float64) float64 {
	if d == nil || d.total <= 0 {
		return 0
	}
	f := x / d.total
	return f * (f*(1/d.share[src]+1/d.share[dst]) - 2*(d.ratio(src)-d.ratio(dst)))
}

// keeps reports whether moving x out of src and into dst (the other way
// when x is negative) keeps both nodes within ±half of their targets, as
// ratios, or at least no further out than they were: a move made for one
// dimension may use another's slack but never pushes it out of its band.
// A nil dimension (one not balanced) keeps everything.
func (d *dimension) keeps(src, dst int, x, half float64) bool {
	if d == nil || x == 0 || d.total <= 0 {
		return true
	}
	if x < 0 {
		src, dst, x = dst, src, -x
	}
	return d.ratio(src)-x/d.target(src) >= 1-half && d.ratio(dst)+x/d.target(dst) <= 1+half
}

// fairLoad returns the load an up node's capacity share entitles it to
// (from the projection when the plan began), or +Inf when no load is
// reported.
func (pl *planner) fairLoad(i int) float64 {
	if pl.load == nil {
		return math.Inf(1)
	}
	return pl.loadTotal * pl.share[i]
}
