package placement

import "math"

// rebalanceLoad moves load from the node furthest above its capacity share
// of the load to the one furthest below. It starts when the load spread
// exceeds LoadThreshold and goes on to LoadStopBand. Its moves keep bytes
// within ±ImbalanceThreshold/2 of their targets and counts within their
// bounds, so they never start a rebalance by bytes; where a move alone
// would break those bands it is paired with a colder shard of about the
// same size coming back (a swap).
func (pl *planner) rebalanceLoad() {
	l := pl.dimLoad
	if l == nil || len(pl.up) < 2 || l.total <= 0 {
		pl.out.RebalancingLoad = false
		return
	}
	if pl.out.Balance.Load > pl.pol.LoadThreshold {
		pl.out.RebalancingLoad = true
	}
	if !pl.out.RebalancingLoad || pl.spreadOf(pl.load) <= pl.pol.LoadStopBand {
		pl.out.RebalancingLoad = false
		return
	}
	pl.loadBudget = pl.budget
	if pl.ratioLoop(l, spreadAtMost(l, pl.pol.LoadStopBand), pl.pickLoad) != phaseLimited {
		pl.out.RebalancingLoad = false
	}
}

// pickLoad plans one move (or swap) from src to dst for the load phase: a
// shard of src whose load best fits the gap, narrows the pair, and is not
// itself hotter than src's fair share (moving that would only move the hot
// spot; the split phase splits it). When src has candidates but none can
// go (dst's bands or its shards for a swap stand in the way), dst is to
// blame; when src has none, src is.
func (pl *planner) pickLoad(src, dst int) (ok, blameDst bool) {
	l := pl.dimLoad
	ideal := min(l.vals[src]-l.target(src), l.target(dst)-l.vals[dst])
	limit := l.narrows(src, dst)
	fair := l.target(src)
	node := pl.s.nodes[src].ID
	var fit, over *shardRec
	pl.s.byLoad.Ascend(func(r *shardRec) bool {
		if pl.loadBudget--; pl.loadBudget < 0 {
			pl.skip(Skip{Reason: SkipScanBudget, Shard: r.ID})
			return false
		}
		x := float64(r.load)
		if r.Node != node || pl.used[r.ID] || x >= limit {
			return true
		}
		if x > fair {
			if !pl.hotSkipped[r.ID] {
				if pl.hotSkipped == nil {
					pl.hotSkipped = map[ShardID]bool{}
				}
				pl.hotSkipped[r.ID] = true
				pl.skip(Skip{Reason: SkipHotShard, Shard: r.ID, Node: node})
			}
			return true
		}
		if x <= ideal {
			fit = r
			return false
		}
		over = r // colder than the last one over: keep the coldest
		return true
	})
	// Best fit first: of the coldest shard hotter than the gap and the
	// hottest within it, the one nearer the gap, then the other.
	first, second := fit, over
	if fit == nil || (over != nil && float64(over.load)-ideal < ideal-float64(fit.load)) {
		first, second = over, fit
	}
	for _, h := range [2]*shardRec{first, second} {
		if h != nil && pl.moveHot(h, src, dst, limit) {
			return true, false
		}
	}
	return false, first != nil
}

// moveHot plans h from src to dst, alone if that keeps counts and bytes in
// their bands, else as a swap.
func (pl *planner) moveHot(h *shardRec, src, dst int, limit float64) bool {
	srcOK, dstOK := pl.countKeeps(src, dst)
	half := pl.pol.ImbalanceThreshold / 2
	if srcOK && dstOK && pl.dimBytes.keeps(src, dst, pl.sizeOf(h), half) && pl.improves(src, dst, pl.sizeOf(h), pl.loadOf(h)) {
		pl.transfer(h, src, dst)
		return true
	}
	return pl.swap(h, src, dst, limit)
}

// swap plans h from src to dst and, back from dst to src, the coldest of
// the few shards of dst nearest h in size (see nearest) whose return still leaves the pair's
// load gap narrower (net load moved below limit) and bytes in their band.
// Counts are unchanged. It reports false if no such shard exists or the
// plan or a move cap has no room for two transfers.
func (pl *planner) swap(h *shardRec, src, dst int, limit float64) bool {
	capN := pl.pol.MaxMovesPerNode
	if pl.limit-len(pl.out.Commands) < 2 || pl.from[dst] >= capN || pl.in[src] >= capN {
		return false
	}
	hl, hb := pl.loadOf(h), pl.sizeOf(h)
	half := pl.pol.ImbalanceThreshold / 2
	var back *shardRec
	pl.nearest(pl.s.nodes[dst].ID, hb, func(r *shardRec) bool {
		net, netBytes := hl-pl.loadOf(r), hb-pl.sizeOf(r)
		if net > 0 && net < limit && pl.dimBytes.keeps(src, dst, netBytes, half) &&
			pl.improves(src, dst, netBytes, net) &&
			(back == nil || pl.loadOf(r) < pl.loadOf(back)) {
			back = r
		}
		return false // look at all the nearest, keep the coldest
	})
	if back == nil {
		return false
	}
	pl.transfer(h, src, dst)
	pl.transfer(back, dst, src)
	return true
}

// fairLoad returns the load an up node's capacity share entitles it to
// (from the projection when the plan began), or +Inf when no load is
// reported.
func (pl *planner) fairLoad(i int) float64 {
	if pl.load == nil {
		return math.Inf(1)
	}
	if pl.loadTotal == 0 {
		pl.loadTotal = pl.sumUp(pl.load)
	}
	return pl.loadTotal * pl.share[i]
}
