package placement

import "math"

// The counts phases: rebalancing shard counts when no bytes are known
// (rebalance), and, when bytes are balanced, repairing counts that left
// their bounds (repairCounts).

// rebalance plans transfers that even out shard counts over the up nodes,
// when no bytes are known. It starts when imbalance exceeds the trigger
// and, once started, goes on until the counts are in the stop band. Every
// transfer goes from a node above its target to one below, so the plan
// never moves more than the minimum; see targets. With bytes known it
// does nothing: the bytes phase balances.
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
	if pl.led.imbalance() > pl.pol.ImbalanceThreshold {
		*on = true
	}
	w := bandWidth(pl.pol.StopBand, total, len(pl.proj.upNodes()))
	upCounts := pl.sc.ints.take(len(pl.proj.upNodes()))
	lo, hi := math.MaxInt, math.MinInt
	for k, i := range pl.proj.upNodes() {
		upCounts[k] = pl.proj.count(i)
		lo, hi = min(lo, pl.proj.count(i)), max(hi, pl.proj.count(i))
	}
	if !*on || hi-lo <= w {
		pl.proj.finish(on) // on until the moves it counted are made
		pl.led.skip(Skip{Reason: SkipWithinTolerance})
		return
	}
	pl.led.setMinMoves(minMovesToBand(upCounts, w))
	target := pl.targets(upCounts, total)
	key := func(i int) float64 { return float64(pl.proj.count(i)) }
	isSrc := func(i int, _ float64) bool { return pl.proj.count(i) > target[i] }
	isDst := func(i int, _ float64) bool { return pl.proj.count(i) < target[i] }
	done := func(hi, lo int) bool { return pl.proj.count(hi)-pl.proj.count(lo) <= w }
	pick := func(src, dst int) picked {
		r := pl.look.cheapest(pl.s.nodes[src].ID)
		if r == nil {
			return picked{blame: blameSrc} // every shard of src is already planned
		}
		return transferred(pl.transfer(r, src, dst))
	}
	if pl.pairLoop(key, isSrc, isDst, done, pick) == phaseDone {
		// The band is reached once these moves are made: rebalancing
		// ends here if they are made once the plan applies (else once
		// they complete; see settled), and only the trigger starts it
		// again.
		pl.proj.finish(on)
	}
}

// targets returns each node's target count, parallel to s.nodes (zero for
// nodes that are not up): ⌊S/n⌋ or ⌈S/n⌉, the larger ones given to the
// fullest nodes (lowest ID on ties) so that as few shards as possible have
// to move. It finds the fullest in O(nodes) by selection, not a sort.
// upCounts (the counts of pl.proj.upNodes(), in order) is reordered.
func (pl *planner) targets(upCounts []int, total int) []int {
	n := len(pl.proj.upNodes())
	q, r := total/n, total%n
	target := pl.sc.ints.take(len(pl.s.nodes))
	// The r fullest get q+1: those above the r-th largest count, and as
	// many of those at it, lowest ID first, as make up r.
	cut, atCut := math.MaxInt, 0
	if r > 0 {
		cut = kthLargest(upCounts, r)
		above := 0
		for _, i := range pl.proj.upNodes() {
			if pl.proj.count(i) > cut {
				above++
			}
		}
		atCut = r - above
	}
	for _, i := range pl.proj.upNodes() {
		target[i] = q
		switch c := pl.proj.count(i); {
		case c > cut:
			target[i] = q + 1
		case c == cut && atCut > 0:
			target[i] = q + 1
			atCut--
		}
	}
	return target
}

// kthLargest returns the k-th largest of a (1 ≤ k ≤ len(a)), reordering
// a: quickselect with a median-of-three pivot, O(len(a)) on average.
func kthLargest(a []int, k int) int {
	lo, hi, want := 0, len(a)-1, k-1 // position in descending order
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three to a[hi] as the pivot.
		if a[mid] > a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] > a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[mid] > a[hi] {
			a[mid], a[hi] = a[hi], a[mid]
		}
		pivot, store := a[hi], lo
		for j := lo; j < hi; j++ {
			if a[j] > pivot {
				a[j], a[store] = a[store], a[j]
				store++
			}
		}
		a[store], a[hi] = a[hi], a[store]
		switch {
		case store == want:
			return a[store]
		case store < want:
			lo = store + 1
		default:
			hi = store - 1
		}
	}
	return a[lo]
}

// bandWidth returns the largest max − min of shard counts whose imbalance
// is within stopBand: ⌊stopBand × total / n⌋, and at least 1 since counts
// cannot be more even than that.
func bandWidth(stopBand float64, total, n int) int {
	// Bounded before converting: a huge stop band is "any spread", not an
	// overflow to a width of 1.
	w := math.Floor(stopBand * float64(total) / float64(n))
	if w >= float64(total) {
		return max(total, 1)
	}
	return max(int(w), 1)
}

// minMovesToBand returns the fewest transfers that bring counts within a
// spread of w: the least, over feasible bands [L, L+w], of the larger of the
// shards above the band and the room missing below it. Each transfer
// lowers each of those by at most one, and a feasible band can always be
// reached at that cost.
func minMovesToBand(counts []int, w int) int {
	n, total := len(counts), 0
	for _, c := range counts {
		total += c
	}
	lo := max(0, (total+n-1)/n-w) // n·(L+w) ≥ total
	hi := total / n               // n·L ≤ total
	cost := func(l int) (above, below int) {
		for _, c := range counts {
			above += max(0, c-l-w)
			below += max(0, l-c)
		}
		return above, below
	}
	// above falls and below rises with L: find the first L where below
	// catches up; the optimum is there or just before it.
	for lo < hi {
		mid := (lo + hi) / 2
		if a, b := cost(mid); b >= a {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	best := math.MaxInt
	for _, l := range []int{lo - 1, lo} {
		if l < 0 || n*l > total || n*(l+w) < total {
			continue
		}
		a, b := cost(l)
		best = min(best, max(a, b))
	}
	return best
}

// repairCounts moves shards, smallest first, from the node with the most
// shards for its capacity share to the one with the fewest, while some
// node is outside its count bounds (CountTolerance). Bytes balancing
// already keeps counts in their bounds; this repairs what merges, splits
// and drains leave, within the bytes and load bands. With no bytes known
// it does nothing: the counts phase balances counts.
func (pl *planner) repairCounts() {
	if !pl.proj.hasBytes() || len(pl.proj.upNodes()) < 2 || pl.bal.shardTotal() == 0 {
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
	if pl.settle.holds(settleRepair, &pl.proj, pl.s, pl.bal.bytesDim(), pl.pol.ImbalanceThreshold) {
		pl.led.skip(Skip{Reason: SkipSettled})
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
	if pl.balanceLoop(pl.bal.countDim(), func(int, int) bool { return violators == 0 }, pick) == phaseStuck {
		pl.settle.record(settleRepair, &pl.proj, pl.s, pl.bal.bytesDim())
	}
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
	return transferred(pl.transfer(pick, src, dst))
}
