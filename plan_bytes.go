package placement

import "math"

// The bytes phase: rebalancing bytes relative to capacity. It uses the
// balance the rebalancing phases share (plan_balance.go).

// rebalanceBytes moves bytes from the node furthest above its capacity
// share to the one furthest below, choosing each time the shard whose size
// best fits the gap between them. It starts when the byte spread exceeds
// ImbalanceThreshold and goes on to StopBand. With no bytes known it does
// nothing: the counts phase balances.
func (pl *planner) rebalanceBytes() {
	if !pl.proj.hasBytes() {
		return
	}
	b := pl.bal.bytesDim()
	on := pl.led.rebalancing()
	if len(pl.proj.upNodes()) < 2 || b.empty() {
		*on = false
		return
	}
	if pl.settledCrossing(*on, settleBytes, b, pl.led.balance().Bytes, pl.pol.ImbalanceThreshold) {
		pl.led.skip(Skip{Reason: SkipSettled})
		return
	}
	if !pl.bal.engage(on, pl.led.balance().Bytes, pl.proj.byteVals(), pl.pol.ImbalanceThreshold, pl.pol.StopBand) {
		pl.rest(*on, settleBytes, b, pl.proj.byteVals(), pl.pol.StopBand, pl.pol.ImbalanceThreshold)
		pl.led.skip(Skip{Reason: SkipWithinTolerance})
		if *on {
			pl.led.setMinBytes(pl.bal.minBytes()) // on until its moves are made
		}
		return
	}
	pl.led.setMinBytes(pl.bal.minBytes())
	stop := pl.pol.StopBand
	// Rebalancing goes on only where the limit or a move cap cut it short:
	// once no move fits, the bytes are as even as the shards allow, and
	// only the trigger starts it again. It ends once the moves it counted
	// are made (see settled).
	end := pl.balanceLoop(b, spreadAtMost(b, stop), pl.pickBytes)
	if end != phaseLimited {
		pl.proj.finish(on)
	}
	pl.settleIf(end, settleBytes, b, pl.proj.byteVals(), pl.pol.StopBand)
}

// minBytes is Plan.MinBytes for the projection so far: Σ max(0, bytesᵢ −
// targetᵢ) over the up nodes, rounded up and saturating.
func (bl *balancer) minBytes() uint64 {
	b := bl.dimBytes
	excess := 0.0
	for _, i := range bl.pr.upNodes() {
		excess += max(0, b.excess(i))
	}
	if excess >= 1<<64 {
		return math.MaxUint64
	}
	return uint64(math.Ceil(excess))
}

// pickBytes plans one transfer from src to dst for the bytes phase. The
// ideal size closes the smaller of src's excess and dst's deficit, divided
// among the shards dst still needs to reach its count bound (or src must
// shed to get under its own), so a node that joins empty receives shards
// of the right size and the right number at once; it is never smaller
// than src's excess over the shards src can give before its own count
// bound. Of the shards nearest
// that size the closest one that narrows the pair and keeps counts and
// load in their bands is taken. Where the count band refuses any single
// move (src at its lowest count, or dst at its highest), it swaps instead
// (see swapBytes). It reports false, and which node is to blame, when no
// shard fits.
func (pl *planner) pickBytes(src, dst int) picked {
	srcOK, dstOK := pl.bal.countKeeps(src, dst)
	if !srcOK || !dstOK {
		// The count band refuses a single move: a swap leaves both
		// counts as they are.
		if pl.swapBytes(src, dst) {
			return picked{}
		}
		if !dstOK {
			return picked{blame: blameDst}
		}
		return picked{blame: blameSrc}
	}
	b := pl.bal.bytesDim()
	dstLo, _ := pl.bal.countBounds(dst)
	srcLo, srcHi := pl.bal.countBounds(src)
	excess, deficit := b.excess(src), b.deficit(dst)
	gap := min(excess, deficit)
	// Spread the gap over the shards dst still needs to reach its count
	// bound (or src must shed to get under its own), but no thinner than
	// src can afford: it has only so many shards above its lower bound
	// to shed its excess with.
	need := max(1, dstLo-pl.proj.count(dst), pl.proj.count(src)-srcHi)
	slack := max(1, pl.proj.count(src)-srcLo)
	ideal := min(gap, max(gap/float64(need), excess/float64(slack)))
	limit := pl.bytesLimit(src, dst)
	var best *shardRec
	bestGap := math.Inf(1)
	back := false
	consider := func(r *shardRec) bool {
		switch pl.bytesMove(r, src, dst, limit) {
		case 0:
		case SkipReturnsBack:
			back = true // it left dst within the day: another destination may take it
			return false
		default:
			return false
		}
		if gap := math.Abs(pl.proj.sizeOf(r) - ideal); gap < bestGap {
			best, bestGap = r, gap
		}
		return true
	}
	node := pl.s.nodes[src].ID
	pl.look.nearest(node, ideal, consider)
	if r := pl.look.firstUnknown(node); r != nil {
		consider(r)
	}
	if best == nil && back {
		return picked{blame: blameDst}
	}
	if best == nil {
		return picked{blame: blameSrc}
	}
	return transferred(pl.transfer(best, src, dst, Reason{Phase: PhaseBytes, Dimension: DimBytes}))
}

// bytesLimit is the exclusive upper bound on the bytes one move from src
// to dst may carry: it must narrow the pair, and leave neither node
// further from its own target than before (a small node overfilled would
// become a source and relay the shard on).
func (pl *planner) bytesLimit(src, dst int) float64 {
	b := pl.bal.bytesDim()
	return min(b.narrows(src, dst), 2*b.excess(src), 2*b.deficit(dst))
}

// bytesMove judges r as a single bytes move from src to dst under limit
// (bytesLimit): 0 when the rules allow it, else why not: SkipNoGain (it
// carries nothing, or too much to narrow the pair, or lowers the
// potentials too little), SkipReturnsBack (it left dst within the day),
// or SkipOtherBand (it would push load out of its slack). pickBytes
// takes the shards it allows; Coordinator.Explain reports its verdicts.
func (pl *planner) bytesMove(r *shardRec, src, dst int, limit float64) SkipReason {
	x := pl.proj.sizeOf(r)
	switch {
	case x <= 0 || x >= limit:
		return SkipNoGain
	case pl.led.returns(r.ID, pl.s.nodes[dst].ID):
		return SkipReturnsBack
	case !pl.bal.loadDim().keeps(src, dst, pl.proj.loadOf(r), pl.loadSlack()):
		return SkipOtherBand
	case !pl.bal.improves(src, dst, x, pl.proj.loadOf(r), false):
		return SkipNoGain
	}
	return 0
}

// swapBytes plans, where the count band refuses a single move from src to
// dst, a large shard of src for a small one of dst coming back, so that
// the pair's counts stay as they are and the net bytes, the larger less
// the smaller, move from src to dst. The net is held to the rules of a
// single bytes move (narrow the pair, overshoot neither target, keep load
// in its band, lower the potentials; see pickBytes), and the shard coming
// back may be at most half the net, so that a swap moves at most twice
// the bytes it evens out (two shards of about the same size would move a
// lot for little). Of the pairs it tries (each of the few smallest shards
// of dst with the shards of src nearest its size plus the gap) it takes
// the one whose net is nearest the gap. A swap counts as one move for the
// no-ping-pong rule, as in the load phase (see swap in plan_load.go). It
// reports false when no pair fits, or the plan, a move cap or a byte
// window has no room for both transfers.
func (pl *planner) swapBytes(src, dst int) bool {
	if pl.led.left() < 2 || pl.outFull(dst) || pl.inFull(src) {
		return false
	}
	b := pl.bal.bytesDim()
	excess, deficit := b.excess(src), b.deficit(dst)
	if excess <= 0 || deficit <= 0 {
		return false
	}
	gap := min(excess, deficit)
	limit := min(b.narrows(src, dst), 2*excess, 2*deficit)
	// The candidates to come back first: lookups do not nest.
	var backs [nearestScan]*shardRec
	nb := 0
	pl.look.nearest(pl.s.nodes[dst].ID, 0, func(r *shardRec) bool {
		if nb < len(backs) {
			backs[nb], nb = r, nb+1
		}
		return false
	})
	half := pl.loadSlack()
	var out, back *shardRec
	bestGap := math.Inf(1)
	for _, r := range backs[:nb] {
		y, ly := pl.proj.sizeOf(r), pl.proj.loadOf(r)
		pl.look.nearest(pl.s.nodes[src].ID, y+gap, func(h *shardRec) bool {
			net, netLoad := pl.proj.sizeOf(h)-y, pl.proj.loadOf(h)-ly
			if net < 2*y || net <= 0 || net >= limit || !pl.bal.loadDim().keeps(src, dst, netLoad, half) ||
				!pl.bal.improves(src, dst, net, netLoad, false) ||
				pl.led.returns(h.ID, pl.s.nodes[dst].ID) || pl.led.returns(r.ID, pl.s.nodes[src].ID) {
				return false
			}
			if d := math.Abs(net - gap); d < bestGap {
				out, back, bestGap = h, r, d
			}
			return false // weigh all the nearest
		})
	}
	// The two moves fill different windows (out into dst and out of src,
	// back into src and out of dst), so both fit if each does now.
	if out == nil || pl.fits(out, src, dst) != noRefusal || pl.fits(back, dst, src) != noRefusal ||
		!pl.churnAdmits(pl.proj.sizeOf(out)+pl.proj.sizeOf(back), 2) {
		return false
	}
	pl.transfer(out, src, dst, Reason{Phase: PhaseBytesSwap, Dimension: DimBytes, Partner: back.ID})
	pl.transfer(back, dst, src, Reason{Phase: PhaseBytesSwap, Dimension: DimBytes, Partner: out.ID})
	return true
}
