package placement

import (
	"cmp"
	"math"
	"slices"
)

// The counts phases: rebalancing shard counts when no bytes are known
// (rebalance), and, when bytes are balanced, repairing counts that left
// their bounds (repairCounts).

// rebalance plans transfers that even out shard counts over the up nodes
// in proportion to their capacity shares, when no bytes are known. It
// starts when the count spread relative to capacity shares
// (Plan.Balance.Count, which is Plan.Imbalance when capacities are equal
// or unknown) exceeds the trigger and, once started, goes on until the
// counts are in the stop band (see countBand). Every transfer goes from a
// node above its target to one below, so the plan moves exactly the
// minimum into the band. With bytes known it does nothing: the bytes phase
// balances.
func (pl *planner) rebalance() {
	if pl.proj.hasBytes() {
		return
	}
	total := 0
	for _, i := range pl.proj.upNodes() {
		total += pl.proj.count(i)
	}
	on := pl.led.rebalancing()
	if len(pl.proj.upNodes()) < 2 || total == 0 {
		*on = false
		return
	}
	if pl.led.balance().Count > pl.pol.ImbalanceThreshold {
		*on = true
	}
	var band countBand
	if *on {
		band = pl.countBand(total)
	}
	if !*on || band.moves == 0 {
		pl.proj.finish(on) // on until the moves it counted are made
		pl.led.skip(Skip{Reason: SkipWithinTolerance})
		return
	}
	pl.led.setMinMoves(band.moves)
	// above and below are how far the nodes are outside the band, in
	// shards: each transfer lowers the larger of them by one (see
	// countBand), and the band is reached when both are zero.
	above, below := 0, 0
	outside := func(i int, sign int) {
		above += sign * max(0, pl.proj.count(i)-band.hi[i])
		below += sign * max(0, band.lo[i]-pl.proj.count(i))
	}
	for _, i := range pl.proj.upNodes() {
		outside(i, 1)
	}
	// Sources by how far they are above the band, destinations by how
	// far below: the first source is above the band while any node is,
	// and the first destination below it while any node is.
	key := func(i int) float64 {
		if c := pl.proj.count(i); c > band.target[i] {
			return float64(c - band.hi[i])
		}
		return float64(pl.proj.count(i) - band.lo[i])
	}
	isSrc := func(i int, _ float64) bool { return pl.proj.count(i) > band.target[i] }
	isDst := func(i int, _ float64) bool { return pl.proj.count(i) < band.target[i] }
	done := func(int, int) bool { return above == 0 && below == 0 }
	pick := func(src, dst int) picked {
		r := pl.look.cheapest(pl.s.nodes[src].ID)
		if r == nil {
			return picked{blame: blameSrc} // every shard of src is already planned
		}
		outside(src, -1)
		outside(dst, -1)
		cd := pl.bal.countDim()
		gap := cd.ratio(src) - cd.ratio(dst)
		p := transferred(pl.transfer(r, src, dst, Reason{Phase: PhaseCounts, Dimension: DimCount, Pair: true, Before: gap}))
		if p.ok() {
			pl.led.lastReason().After = cd.ratio(src) - cd.ratio(dst)
		}
		outside(src, 1)
		outside(dst, 1)
		return p
	}
	if pl.pairLoop(key, isSrc, isDst, done, pick) == phaseDone {
		// The band is reached once these moves are made: rebalancing
		// ends here if they are made once the plan applies (else once
		// they complete; see settled), and only the trigger starts it
		// again.
		pl.proj.finish(on)
	}
}

// countBand is the counts phase's stop band for the projected counts: per
// node (parallel to state.nodes, zero for nodes not up) the counts it may
// hold, lo to hi, and the target its transfers move it towards; and the
// fewest transfers that bring every node into the band (Plan.MinMoves).
//
// The bands are a family over a level ρ: node i may hold ⌈ρ·tᵢ⌉ to
// ⌈ρ·tᵢ⌉ + wᵢ shards, where tᵢ = S × shareᵢ is its real target and wᵢ =
// max(1, ⌊StopBand × tᵢ⌋) its width, so the counts' spread relative to
// capacity is within StopBand, or as close as one shard on each node
// allows. A band is feasible when the up nodes' lows sum to at most S and
// their highs to at least S; some always is. With equal capacities the
// bands are [L, L+w] with w = max(1, ⌊StopBand × S/n⌋): max − min ≤ w,
// as before capacities weighed in count mode.
//
// A transfer changes each node by one, so it lowers the shards above a
// band (Σ max(0, cᵢ − hiᵢ)) and the room missing below it (Σ max(0, loᵢ −
// cᵢ)) by at most one each: reaching a band costs at least the larger of
// the two, and the minimum is the least of that over the feasible bands.
// The band chosen is the one of smallest ρ among those of least cost, so
// that the next plan, after some of the moves, chooses the same one (any
// other band's cost fell by at most as much). The targets lie inside it
// and sum to S: the largest-remainder rounding of tᵢ (the larger
// remainders first, then the nodes fullest above their floors, then the
// lowest ID), clamped into the band. A transfer from a node above its
// target to one below, taking the furthest above the band first and
// giving to the furthest below it first (see rebalance), then lowers the
// larger of the two figures by one every time: the plan moves exactly the
// minimum, and never moves a shard into a node that then gives one.
type countBand struct {
	lo, hi, target []int
	moves          int
}

// countBand computes the stop band for total shards on the up nodes (see
// the type). Its cost is a few bisections over ρ of O(nodes) each.
func (pl *planner) countBand(total int) countBand {
	up := pl.proj.upNodes()
	n := len(pl.s.nodes)
	perNode := pl.sc.ints.take(4 * n)
	b := countBand{lo: perNode[:n], hi: perNode[n : 2*n], target: perNode[2*n : 3*n]}
	width := perNode[3*n:]
	t := pl.sc.floats.take(n)
	minT, widths := math.Inf(1), 0
	for _, i := range up {
		t[i] = pl.proj.countTarget(i, total)
		width[i] = bandWidthOf(pl.pol.StopBand, total, pl.proj.parts(i))
		minT = min(minT, t[i])
		widths += width[i]
	}
	// measure sums, over the up nodes, the lows of the band at level rho,
	// and the shards above and missing below it.
	measure := func(rho float64) (lows, above, below int) {
		for _, i := range up {
			lo := int(math.Ceil(rho * t[i]))
			c := pl.proj.count(i)
			lows += lo
			above += max(0, c-lo-width[i])
			below += max(0, lo-c)
		}
		return lows, above, below
	}
	// At this level every low exceeds its real target, so the lows sum
	// to more than S.
	top := 2 + 2/minT
	first := firstLevel(0, top, func(rho float64) bool { l, _, _ := measure(rho); return l+widths >= total })
	last := prevLevel(firstLevel(first, top, func(rho float64) bool { l, _, _ := measure(rho); return l > total }))
	// Between first and last every band is feasible; above falls and
	// below rises with ρ. The least cost is where below catches up with
	// above, or just before.
	costAt := func(rho float64) int { _, a, bl := measure(rho); return max(a, bl) }
	catch := func(rho float64) bool { _, a, bl := measure(rho); return bl >= a }
	var best float64
	if !catch(last) {
		_, a, _ := measure(last)
		best = firstLevel(first, last, func(rho float64) bool { _, x, _ := measure(rho); return x <= a })
	} else {
		best = firstLevel(first, last, catch)
		if best > first {
			before := prevLevel(best)
			if _, a, _ := measure(before); a <= costAt(best) {
				best = firstLevel(first, before, func(rho float64) bool { _, x, _ := measure(rho); return x <= a })
			}
		}
	}
	lows := 0
	for _, i := range up {
		b.lo[i] = int(math.Ceil(best * t[i]))
		b.hi[i] = b.lo[i] + width[i]
		lows += b.lo[i]
		c := pl.proj.count(i)
		b.moves += max(0, c-b.hi[i]) // the shards above, for now
	}
	below := 0
	for _, i := range up {
		below += max(0, b.lo[i]-pl.proj.count(i))
	}
	b.moves = max(b.moves, below)
	pl.countTargets(b, t, total)
	return b
}

// countTargets sets b's targets: the largest-remainder rounding of the
// real targets t (see countBand), clamped into b's band with the sum put
// back to total.
func (pl *planner) countTargets(b countBand, t []float64, total int) {
	up := pl.proj.upNodes()
	order := pl.sc.ints.take(len(up))
	copy(order, up)
	sum := 0
	for _, i := range up {
		b.target[i] = int(math.Floor(t[i]))
		sum += b.target[i]
	}
	if r := total - sum; r > 0 {
		rem := func(i int) float64 { return t[i] - math.Floor(t[i]) }
		slices.SortFunc(order, func(x, y int) int {
			if rx, ry := rem(x), rem(y); rx != ry {
				return cmp.Compare(ry, rx)
			}
			if ex, ey := pl.proj.count(x)-b.target[x], pl.proj.count(y)-b.target[y]; ex != ey {
				return cmp.Compare(ey, ex)
			}
			return cmp.Compare(x, y)
		})
		for _, i := range order[:min(r, len(order))] {
			b.target[i]++
			sum++
		}
	}
	// Clamp into the band. With equal capacities the targets lie in every
	// feasible band and nothing changes.
	for _, i := range up {
		c := min(max(b.target[i], b.lo[i]), b.hi[i])
		sum += c - b.target[i]
		b.target[i] = c
	}
	if sum == total {
		return
	}
	// Put the sum back, taking from (or giving to) the targets furthest
	// above (below) their real targets first, within the band.
	down := sum > total
	copy(order, up)
	slices.SortStableFunc(order, func(x, y int) int {
		dx, dy := float64(b.target[x])-t[x], float64(b.target[y])-t[y]
		if down {
			return cmp.Compare(dy, dx)
		}
		return cmp.Compare(dx, dy)
	})
	for _, i := range order {
		if sum == total {
			break
		}
		if down {
			d := min(sum-total, b.target[i]-b.lo[i])
			b.target[i] -= d
			sum -= d
		} else {
			d := min(total-sum, b.hi[i]-b.target[i])
			b.target[i] += d
			sum += d
		}
	}
}

// firstLevel returns the least float64 ρ in [a, b] (0 ≤ a ≤ b) at which
// ok holds, ok being false then true as ρ grows and true at b. It bisects
// the float64 bit patterns, which order non-negative floats: at most 64
// steps, and exact.
func firstLevel(a, b float64, ok func(float64) bool) float64 {
	if ok(a) {
		return a
	}
	lo, hi := math.Float64bits(a), math.Float64bits(b)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(math.Float64frombits(mid)) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return math.Float64frombits(hi)
}

// prevLevel is the float64 just below rho (rho > 0).
func prevLevel(rho float64) float64 { return math.Float64frombits(math.Float64bits(rho) - 1) }

// bandWidth returns the largest max − min of shard counts whose imbalance
// is within stopBand: ⌊stopBand × total / n⌋, and at least 1 since counts
// cannot be more even than that.
func bandWidth(stopBand float64, total, n int) int {
	return bandWidthOf(stopBand, total, float64(n))
}

// bandWidthOf is a node's width in the count band (see countBand): ⌊stopBand
// × its target⌋, at least 1, where its target is total / parts (parts: Σ
// capacity / its capacity, the node count when capacities are equal).
func bandWidthOf(stopBand float64, total int, parts float64) int {
	// Bounded before converting: a huge stop band is "any spread", not an
	// overflow to a width of 1.
	w := math.Floor(stopBand * float64(total) / parts)
	if w >= float64(total) {
		return max(total, 1)
	}
	return max(int(w), 1)
}

// repairCounts moves shards, smallest first, from the node with the most
// shards for its capacity share to the one with the fewest, while some
// node is outside its count bounds (CountTolerance). Bytes balancing
// already keeps counts in their bounds; this repairs what merges, splits
// and drains leave, within the bytes and load bands: a repair never
// takes a node's bytes (or load) outside the bytes slack (the load
// slack) of its target; see bytesSlack. Where no repair is left that keeps
// them, the nodes still outside their count bounds are reported as
// SkipCountBandInfeasible. With no bytes known it does nothing: the counts
// phase balances counts.
func (pl *planner) repairCounts() {
	if !pl.proj.hasBytes() || len(pl.proj.upNodes()) < 2 || pl.bal.shardTotal() == 0 {
		return
	}
	if pl.led.full() && pl.led.limitReported() {
		// No room for a repair, and the plan already says so: counting
		// the nodes outside their bands (a pass over the up nodes) would
		// change nothing. The next plan repairs.
		return
	}
	outside := func(i int) int {
		lo, hi := pl.bal.countBounds(i)
		if pl.proj.count(i) < lo || pl.proj.count(i) > hi {
			return 1
		}
		return 0
	}
	// Bounds are rounded per node, so the nodes outside them need not be
	// the extremes: count them, and keep the count as moves are made.
	violators := 0
	for _, i := range pl.proj.upNodes() {
		violators += outside(i)
	}
	if violators == 0 {
		return
	}
	// A repair that could not bring every node into its band is settled
	// like a balancing phase: it waits for the map to change materially,
	// not for the noise in the bytes to open a move its band refused.
	infeasible := func() {
		// Stuck with nodes outside their bounds: no repair left keeps
		// bytes and load in their bands. Say so, node by node, rather
		// than make bytes worse.
		for _, i := range pl.proj.upNodes() {
			if outside(i) == 1 {
				pl.led.skip(Skip{Reason: SkipCountBandInfeasible, Node: pl.s.nodes[i].ID})
			}
		}
	}
	if pl.settle.holds(settleRepair, &pl.proj, pl.s, pl.bal.bytesDim(), pl.pol.ImbalanceThreshold) {
		pl.led.skip(Skip{Reason: SkipSettled})
		infeasible()
		return
	}
	pick := func(src, dst int) picked {
		before := outside(src) + outside(dst)
		p := pl.pickCount(src, dst)
		if p.ok() {
			violators += outside(src) + outside(dst) - before
		}
		return p
	}
	if pl.balanceLoop(pl.bal.countDim(), func(int, int) bool { return violators == 0 }, pick) != phaseStuck {
		return
	}
	pl.settle.record(settleRepair, pl.bal.bytesDim())
	infeasible()
}

// pickCount plans one transfer for repairCounts: the cheapest shard of src
// that keeps bytes and load in their bands. Each such move brings one node
// one shard closer to its bounds and takes none out of them, so repairs
// are finite, and no bytes or load move undoes one.
func (pl *planner) pickCount(src, dst int) picked {
	// A repair move must take a node back towards its bounds: the
	// source above its bound or the destination below its own. A move
	// between two nodes within their bounds repairs nothing, and the
	// bytes phase could rightly move it back.
	_, srcHi := pl.bal.countBounds(src)
	dstLo, _ := pl.bal.countBounds(dst)
	if pl.proj.count(src) <= srcHi && pl.proj.count(dst) >= dstLo {
		return picked{blame: blameSrc}
	}
	srcOK, dstOK := pl.bal.countKeeps(src, dst)
	if !dstOK || pl.bal.countDim().narrows(src, dst) <= 1 {
		return picked{blame: blameDst}
	}
	if !srcOK {
		return picked{blame: blameSrc}
	}
	var pick *shardRec
	back := false
	pl.look.nearest(pl.s.nodes[src].ID, 0, func(r *shardRec) bool {
		if pl.led.returns(r.ID, pl.s.nodes[dst].ID) {
			back = true // it left dst within the day: another destination may take it
			return false
		}
		if pl.bal.bytesDim().keeps(src, dst, pl.proj.sizeOf(r), pl.bytesSlack()) &&
			pl.bal.loadDim().keeps(src, dst, pl.proj.loadOf(r), pl.loadSlack()) {
			pick = r
		}
		return pick != nil
	})
	if pick == nil && back {
		return picked{blame: blameDst}
	}
	if pick == nil {
		return picked{blame: blameSrc}
	}
	return transferred(pl.transfer(pick, src, dst, Reason{Phase: PhaseRepair, Dimension: DimCount}))
}
