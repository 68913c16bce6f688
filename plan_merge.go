package placement

// The merge phase: merges of cold neighbours, and the transfers that bring
// cold neighbours on different nodes together.

// merge plans merges of cold neighbours on one up node, coldest pair
// first, then brings cold neighbours on different nodes together.
func (pl *planner) merge() {
	pol := pl.pol
	bound := satAdd(pol.MergeKeys, pol.MergeKeys)
	maxKeys := fraction(pol.MergeMaxFraction, pol.SplitKeys)
	maxBytes := fraction(pol.MergeMaxFraction, pol.SplitBytes)
	budget := pl.led.scanLimit()
	var notUp notUpCount
	pl.s.pairs.Ascend(func(p mergePair) bool {
		if p.keys >= bound {
			return false
		}
		if _, up := pl.nodeUp(p.node); !up {
			return notUp.add(&pl.led)
		}
		// The budget counts every pair looked at, cold or not: pairs few
		// in keys but large in bytes sort early and would otherwise make
		// the scan O(shards).
		if budget--; budget < 0 {
			pl.led.skip(Skip{Reason: SkipScanBudget, Shard: p.left})
			return false
		}
		l, _ := pl.s.shard(p.left)
		r, _ := pl.s.next(l)
		if l.keys >= pol.MergeKeys || r.keys >= pol.MergeKeys || l.bytes >= pol.MergeBytes || r.bytes >= pol.MergeBytes {
			return true // not cold: not a candidate
		}
		if pl.led.full() {
			pl.led.skip(Skip{Reason: SkipLimitReached, Shard: l.ID})
			return false
		}
		i, _ := pl.nodeUp(l.Node)
		switch {
		case pl.led.taken(l.ID) || pl.led.taken(r.ID):
			if !pl.led.inSecondPass() {
				pl.led.skip(pl.led.inPlanSkip(l, r))
			}
		case uint32(l.sinceSplit) < pol.MergeEmbargo || uint32(r.sinceSplit) < pol.MergeEmbargo:
			pl.led.skip(Skip{Reason: SkipRecentlySplit, Shard: l.ID})
		case p.keys > maxKeys || satAdd(l.bytes, r.bytes) > maxBytes || pl.tooHot(l, r, i):
			pl.led.skip(Skip{Reason: SkipMergeTooBig, Shard: l.ID})
		default:
			why := Reason{Phase: PhaseMerge, Partner: r.ID, Bytes: satAdd(l.bytes, r.bytes), Keys: satAdd(l.keys, r.keys),
				Load: float64(l.load) + float64(r.load)}
			pl.led.use(PlaceMerge{Left: l.ID, LeftEpoch: l.Epoch, Right: r.ID, RightEpoch: r.Epoch}, why, l.ID, r.ID)
			pl.settle.changed()
			pl.proj.countMerge(i)
		}
		return true
	})
	pl.led.skipNotUp(&notUp)
	pl.mergeAcross()
}

// tooHot reports whether merging l and r on node i would make a shard
// hotter than MergeMaxFraction of the node's fair share of the load, which
// the split phase would split straight back.
func (pl *planner) tooHot(l, r *shardRec, i int) bool {
	return float64(l.load)+float64(r.load) > pl.pol.MergeMaxFraction*pl.proj.fairLoad(i)
}

// mergeAcross plans, for cold neighbours on different up nodes, the
// transfer that brings them onto one node; the next plan merges them (the
// way PD moves a region before merging it). Balancing alone would never do
// it, so without this small shards pile up. The shard moves to whichever
// node is emptier for its capacity share, within the move caps. Coldest
// shards are looked at first.
func (pl *planner) mergeAcross() {
	pol := pl.pol
	maxKeys := fraction(pol.MergeMaxFraction, pol.SplitKeys)
	maxBytes := fraction(pol.MergeMaxFraction, pol.SplitBytes)
	// A smaller budget than the other phases': most cold shards have no
	// cold neighbour, and each look costs a lookup.
	budget := pl.led.scanLimit() / 4
	cold := func(r *shardRec) bool { return r.known && r.keys < pol.MergeKeys && r.bytes < pol.MergeBytes }
	pl.s.byKeys.Descend(func(l *shardRec) bool {
		if l.keys >= pol.MergeKeys {
			return false // the rest have more keys
		}
		if _, up := pl.nodeUp(l.Node); !up {
			return true // costs no lookup and no budget
		}
		if budget--; budget < 0 {
			pl.led.skip(Skip{Reason: SkipScanBudget, Shard: l.ID})
			return false
		}
		r, ok := pl.s.next(l)
		if !ok || r.Node == l.Node || !cold(l) || !cold(r) {
			return true // same-node pairs were the pairs index's
		}
		if pl.led.full() {
			pl.led.skip(Skip{Reason: SkipLimitReached, Shard: l.ID})
			return false
		}
		li, lUp := pl.nodeUp(l.Node)
		ri, rUp := pl.nodeUp(r.Node)
		switch {
		case !lUp || !rUp:
			pl.led.skip(Skip{Reason: SkipNodeNotUp, Shard: l.ID})
		case pl.led.taken(l.ID) || pl.led.taken(r.ID):
			pl.led.skip(pl.led.inPlanSkip(l, r))
		case uint32(l.sinceSplit) < pol.MergeEmbargo || uint32(r.sinceSplit) < pol.MergeEmbargo:
			pl.led.skip(Skip{Reason: SkipRecentlySplit, Shard: l.ID})
		case satAdd(l.keys, r.keys) > maxKeys || satAdd(l.bytes, r.bytes) > maxBytes || pl.tooHot(l, r, li) || pl.tooHot(l, r, ri):
			pl.led.skip(Skip{Reason: SkipMergeTooBig, Shard: l.ID})
		default:
			mover, src, dst, stays := l, li, ri, r
			if pl.proj.fullness(ri) > pl.proj.fullness(li) {
				mover, src, dst, stays = r, ri, li, l
			}
			if pl.outFull(src) || pl.inFull(dst) {
				s := pl.led.capSkip()
				s.Shard, s.Node = mover.ID, pl.s.nodes[src].ID
				pl.led.skip(s)
				return true
			}
			// The shard that stays waits for the merge, not for a move.
			pl.transfer(mover, src, dst, Reason{Phase: PhaseBringTogether, Partner: stays.ID}, stays.ID)
		}
		return true
	})
}
