package placement

// rebalanceLoad moves load from the node furthest above its capacity share
// of the load to the one furthest below. It starts when the load spread
// exceeds LoadThreshold and goes on to LoadStopBand. Its moves keep the
// primary dimension (bytes, or counts when no bytes are known) within
// ±ImbalanceThreshold/2 of its targets and counts within their bounds, so
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
	if !pl.bal.engage(on, pl.led.balance().Load, pl.proj.loadVals(), pl.pol.LoadThreshold, pl.pol.LoadStopBand) {
		return
	}
	if pl.ratioLoop(l, spreadAtMost(l, pl.pol.LoadStopBand), pl.pickLoad) != phaseLimited {
		pl.proj.finish(on)
	}
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
	l := pl.bal.loadDim()
	excess, deficit := l.excess(src), l.deficit(dst)
	ideal := min(excess, deficit)
	limit := min(l.narrows(src, dst), 2*excess, 2*deficit)
	fair := pl.proj.fairLoad(src)
	node := pl.s.nodes[src].ID
	tried := false
	var refused refusal // by the windows, for any of the shards tried
	for _, h := range pl.look.nearestLoad(node, ideal) {
		if h == nil {
			break
		}
		lim := limit
		if float64(h.load) > fair {
			if lim = pl.hotLimit(src, dst); pl.proj.loadOf(h) >= lim {
				pl.led.skipHot(h)
				continue
			}
		}
		tried = true
		ok, w := pl.moveHot(h, src, dst, lim)
		if ok {
			return picked{}
		}
		refused |= w
	}
	if tried {
		return picked{blame: blameDst, window: refused}
	}
	return picked{blame: blameSrc, window: refused}
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
// limit) and keeps counts and the primary dimension in their bands, else
// as a swap. It reports whether it planned h, and the windows that refused
// a transfer it tried.
func (pl *planner) moveHot(h *shardRec, src, dst int, limit float64) (bool, refusal) {
	srcOK, dstOK := pl.bal.countKeeps(src, dst)
	x, size := pl.proj.loadOf(h), pl.bal.primarySize(h)
	if x < limit && srcOK && dstOK && pl.bal.primaryDim().keeps(src, dst, size, pl.pol.ImbalanceThreshold/2) &&
		pl.bal.improves(src, dst, size, x) {
		w := pl.transfer(h, src, dst)
		return w == noRefusal, w
	}
	return pl.swap(h, src, dst, limit)
}

// swap plans h from src to dst and, back from dst to src, the coldest of
// the few shards of dst nearest h in size (see nearest) whose return leaves
// the pair's load gap narrower (net load moved below limit) and the primary
// dimension in its band. Counts are unchanged. It reports false if no such
// shard exists or the plan or a move cap has no room for two transfers,
// with the windows that refused one of them. A refusal is in the terms of
// the transfer refused: the way back swaps source and destination.
func (pl *planner) swap(h *shardRec, src, dst int, limit float64) (bool, refusal) {
	if pl.led.left() < 2 || pl.outFull(dst) || pl.inFull(src) {
		return false, noRefusal
	}
	hl, hs := pl.proj.loadOf(h), pl.bal.primarySize(h)
	half := pl.pol.ImbalanceThreshold / 2
	var back *shardRec
	pl.look.nearest(pl.s.nodes[dst].ID, pl.proj.sizeOf(h), func(r *shardRec) bool {
		net, netSize := hl-pl.proj.loadOf(r), hs-pl.bal.primarySize(r)
		if net > 0 && net < limit && pl.bal.primaryDim().keeps(src, dst, netSize, half) &&
			pl.bal.improves(src, dst, netSize, net) &&
			(back == nil || pl.proj.loadOf(r) < pl.proj.loadOf(back)) {
			back = r
		}
		return false // look at all the nearest, keep the coldest
	})
	// The two moves fill different windows (h into dst and out of src,
	// back into src and out of dst), so both fit if each does now.
	if back == nil {
		return false, noRefusal
	}
	if w := pl.fits(h, src, dst); w != noRefusal {
		return false, w
	}
	if w := pl.fits(back, dst, src); w != noRefusal {
		return false, w
	}
	pl.transfer(h, src, dst)
	pl.transfer(back, dst, src)
	return true, noRefusal
}
