package placement

// rebalanceLoad moves load from the node furthest above its capacity share
// of the load to the one furthest below. It starts when the load spread
// exceeds LoadThreshold and goes on to LoadStopBand. Its moves keep the
// primary dimension (bytes, or counts when no bytes are known) within
// ±(ImbalanceThreshold+StopBand)/4 of its targets (see bytesSlack) and counts within their bounds, so
// they never start a rebalance of their own; where a move alone would
// break those bands it is paired with a colder shard of about the same
// size coming back (a swap). A shard hotter than its node's fair share
// moves only where it lowers the hotter node of the pair (see hotLimit).
func (pl *planner) rebalanceLoad() {
	l := pl.bal.loadDim()
	on := pl.led.rebalancingLoad()
	if l == nil || len(pl.proj.upNodes()) < 2 || l.empty() {
		*on = false
		return
	}
	if pl.settledCrossing(*on, settleLoad, l, pl.led.balance().Load, pl.pol.LoadThreshold) {
		pl.led.skip(Skip{Reason: SkipSettled})
		return
	}
	if !pl.bal.engage(on, pl.led.balance().Load, pl.proj.loadVals(), pl.pol.LoadThreshold, pl.pol.LoadStopBand) {
		pl.rest(*on, settleLoad, l, pl.proj.loadVals(), pl.pol.LoadStopBand, pl.pol.LoadThreshold)
		return
	}
	end := pl.balanceLoop(l, spreadAtMost(l, pl.pol.LoadStopBand), pl.pickLoad)
	if end != phaseLimited {
		pl.proj.finish(on)
	}
	pl.settleIf(end, settleLoad, l, pl.proj.loadVals(), pl.pol.LoadStopBand)
}

// pickLoad plans one move (or swap) from src to dst for the load phase.
// It tries the few shards of src whose load is nearest the gap, nearest
// first. A move narrows the pair's load gap and leaves neither node further
// from its own target than before (so no shard is relayed through a node).
// A shard hotter than src's fair share (one the split phase could not
// split) is held to hotLimit instead: it may go only where it lowers the
// hotter node of the pair, and is skipped otherwise (moving it would only
// move the hot spot). When src has candidates but none can go (dst's bands
// or its shards for a swap stand in the way), dst is to blame; when src has
// none, src is.
func (pl *planner) pickLoad(src, dst int) picked {
	lp := pl.loadPair(src, dst)
	tried := false
	var refused refusal // by the windows, for any of the shards tried
	capped := false     // a swap found no room in the plan or a move cap
	cands, ideal, aim := lp.cands, lp.ideal, lp.aim
	for _, h := range cands {
		if h == nil {
			break
		}
		lim := lp.limitOf(h)
		if lp.tooHot(h) {
			pl.led.skipHot(h)
			continue
		}
		tried = true
		ok, w, c := pl.moveHot(h, src, dst, lim, aim, ideal)
		if ok {
			return picked{}
		}
		refused |= w
		capped = capped || c
	}
	if tried {
		return picked{blame: blameDst, window: refused, capped: capped}
	}
	return picked{blame: blameSrc, window: refused}
}

// loadPairing is what the load phase weighs for one pick from src to dst
// (see loadPair).
type loadPairing struct {
	pl       *planner
	src, dst int
	cands    [2*nearestScan + 1]*shardRec // the shards of src it tries, nearest ideal first
	ideal    float64                      // the pair's gap: src's excess or dst's deficit
	limit    float64                      // the bound on a shard's load (narrows, and twice the gap either side)
	fair     float64                      // src's fair share of the load
	aim      float64                      // the gap one move addresses (see worth)
}

// loadPair sets up the load phase's pick from src to dst: the shards it
// tries, and the bounds a move is held to. The gap a move addresses is the
// pair's, but no more than the hottest shard src could send: no single
// move addresses more, and a gap that only small shards can close is
// closed by small moves.
func (pl *planner) loadPair(src, dst int) loadPairing {
	l := pl.bal.loadDim()
	excess, deficit := l.excess(src), l.deficit(dst)
	lp := loadPairing{pl: pl, src: src, dst: dst, ideal: min(excess, deficit),
		limit: min(l.narrows(src, dst), 2*excess, 2*deficit), fair: pl.proj.fairLoad(src)}
	lp.cands = pl.look.nearestLoad(pl.s.nodes[src].ID, lp.ideal)
	for _, h := range lp.cands {
		if h != nil && pl.proj.loadOf(h) < lp.limitOf(h) {
			lp.aim = max(lp.aim, pl.proj.loadOf(h))
		}
	}
	lp.aim = min(lp.aim, lp.ideal)
	return lp
}

// limitOf is the bound on h's load for a move of the pair: hotLimit for a
// shard hotter than src's fair share, else the pair's limit.
func (lp *loadPairing) limitOf(h *shardRec) float64 {
	if float64(h.load) > lp.fair {
		return lp.pl.hotLimit(lp.src, lp.dst)
	}
	return lp.limit
}

// tooHot reports whether h is hotter than src's fair share and too hot to
// move to dst: it would only move the hot spot (SkipHotShard).
func (lp *loadPairing) tooHot(h *shardRec) bool {
	return float64(h.load) > lp.fair && lp.pl.proj.loadOf(h) >= lp.limitOf(h)
}

// hotLimit is the exclusive upper bound on the load a shard hotter than
// src's fair share may carry from src to dst (net, for a swap): the move
// must lower the hotter node of the pair, so dst's load after it stays
// below src's before it, both relative to their targets (with equal
// capacities: dst's load plus the shard's below src's load; src's load
// after is below it anyway). It never exceeds the no-ping-pong bound
// (narrows), so such a move lowers the load potential like any other. It
// is not capped at twice src's excess or dst's deficit as other load moves
// are: a shard hotter than a node's fair share overshoots dst's target
// wherever it goes.
func (pl *planner) hotLimit(src, dst int) float64 {
	l := pl.bal.loadDim()
	lower := (1 - 1e-9) * l.target(dst) * (l.ratio(src) - l.ratio(dst))
	return min(l.narrows(src, dst), lower)
}

// moveHot plans h from src to dst: alone if that narrows the pair (below
// limit), carries at least Policy.MinGain of aim (see worth) and keeps counts and the primary dimension in their bands, else
// as a swap. It reports whether it planned h, and the windows that refused
// a transfer it tried.
func (pl *planner) moveHot(h *shardRec, src, dst int, limit, aim, gap float64) (ok bool, w refusal, capped bool) {
	switch pl.loadMove(h, src, dst, limit, aim) {
	case 0:
		w := pl.transfer(h, src, dst, Reason{Phase: PhaseLoad, Dimension: DimLoad})
		return w == noRefusal, w, false
	case SkipReturnsBack:
		return false, noRefusal, false
	}
	return pl.swap(h, src, dst, limit, min(gap, pl.proj.loadOf(h)))
}

// loadMove judges h as a single load move from src to dst, its load held
// under limit and weighed against aim (see moveHot): 0 when the rules
// allow it, else why not: SkipReturnsBack, SkipNoGain, SkipCountBand or
// SkipOtherBand (the primary dimension's slack). moveHot makes the moves
// it allows and tries the others as swaps; Coordinator.Explain reports
// its verdicts.
func (pl *planner) loadMove(h *shardRec, src, dst int, limit, aim float64) SkipReason {
	srcOK, dstOK := pl.bal.countKeeps(src, dst)
	x, size := pl.proj.loadOf(h), pl.bal.primarySize(h)
	switch {
	case pl.led.returns(h.ID, pl.s.nodes[dst].ID):
		return SkipReturnsBack
	case x >= limit || !pl.worth(x, aim):
		return SkipNoGain
	case !srcOK || !dstOK:
		return SkipCountBand
	case !pl.bal.primaryDim().keeps(src, dst, size, pl.bytesSlack()):
		return SkipOtherBand
	case !pl.bal.improves(src, dst, size, x, true):
		return SkipNoGain
	}
	return 0
}

// swap plans h from src to dst and, back from dst to src, the coldest of
// the few shards of dst nearest h in size (see nearest) whose return leaves
// the pair's load gap narrower (net load moved below limit, and at least
// Policy.MinGain of aim: see worth) and the primary
// dimension in its band. Counts are unchanged. It reports false if no such
// shard exists, with the windows that refused one of them, or, with capped
// set, if the plan or a move cap has no room for two transfers. A refusal is in the terms of
// the transfer refused: the way back swaps source and destination.
func (pl *planner) swap(h *shardRec, src, dst int, limit, aim float64) (ok bool, w refusal, capped bool) {
	if pl.led.left() < 2 || pl.outFull(dst) || pl.inFull(src) {
		return false, noRefusal, true
	}
	hl, hs := pl.proj.loadOf(h), pl.bal.primarySize(h)
	half := pl.bytesSlack()
	var back *shardRec
	pl.look.nearest(pl.s.nodes[dst].ID, pl.proj.sizeOf(h), func(r *shardRec) bool {
		net, netSize := hl-pl.proj.loadOf(r), hs-pl.bal.primarySize(r)
		if net > 0 && net < limit && pl.worth(net, aim) && !pl.led.returns(r.ID, pl.s.nodes[src].ID) && pl.bal.primaryDim().keeps(src, dst, netSize, half) &&
			pl.bal.improves(src, dst, netSize, net, true) &&
			(back == nil || pl.proj.loadOf(r) < pl.proj.loadOf(back)) {
			back = r
		}
		return false // look at all the nearest, keep the coldest
	})
	// The two moves fill different windows (h into dst and out of src,
	// back into src and out of dst), so both fit if each does now.
	if back == nil {
		return false, noRefusal, false
	}
	if w := pl.fits(h, src, dst); w != noRefusal {
		return false, w, false
	}
	if w := pl.fits(back, dst, src); w != noRefusal {
		return false, w, false
	}
	if !pl.churnAdmits(pl.proj.sizeOf(h)+pl.proj.sizeOf(back), 2) {
		return false, churnRefused, false
	}
	pl.transfer(h, src, dst, Reason{Phase: PhaseLoadSwap, Dimension: DimLoad, Partner: back.ID})
	pl.transfer(back, dst, src, Reason{Phase: PhaseLoadSwap, Dimension: DimLoad, Partner: h.ID})
	return true, noRefusal, false
}
