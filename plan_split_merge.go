package placement

import "math"

// split plans splits of shards whose known stats exceed a split threshold,
// largest first, then of shards whose load alone exceeds their node's fair
// share of the load, hottest first.
func (pl *planner) split() {
	if unknown := pl.s.byID.Len() - pl.s.byKeys.Len(); unknown > 0 {
		pl.skip(Skip{Reason: SkipStatsUnknown, Count: unknown})
	}
	budget := pl.budget
	seen := map[ShardID]bool{}
	var notUp, guessed notUpCount
	defer pl.skipNotUp(&notUp)
	defer func() {
		if guessed.n > 0 && !pl.second {
			pl.skip(Skip{Reason: SkipStatsEstimated, Count: guessed.n})
		}
	}()
	visit := func(r *shardRec) bool {
		if seen[r.ID] {
			return true
		}
		seen[r.ID] = true
		if _, up := pl.nodeUp(r.Node); !up {
			return notUp.add(pl)
		}
		if r.estimated {
			// Half of a split, or a merge, not reported since: its size
			// is a guess, and skewed data makes it a poor one.
			return guessed.add(pl)
		}
		if pl.taken(r.ID) {
			if _, ok := pl.s.moving(r.ID); ok && !pl.second {
				pl.skip(Skip{Reason: SkipShardMoving, Shard: r.ID})
			}
			return true // planned already: by the first pass, or for its size
		}
		if budget--; budget < 0 {
			pl.skip(Skip{Reason: SkipScanBudget, Shard: r.ID})
			return false
		}
		if pl.full() {
			pl.skip(Skip{Reason: SkipLimitReached, Shard: r.ID})
			return false
		}
		pl.splitOne(r)
		return true
	}
	done := true
	pl.s.byKeys.Ascend(func(r *shardRec) bool {
		if r.keys <= pl.pol.SplitKeys {
			return false
		}
		done = visit(r)
		return done
	})
	if done {
		pl.s.byBytes.Ascend(func(r *shardRec) bool {
			if r.bytes <= pl.pol.SplitBytes {
				return false
			}
			done = visit(r)
			return done
		})
	}
	if done && pl.load != nil {
		pl.splitHot(budget)
	}
}

// splitHot plans load-based splits: a shard whose load alone exceeds its
// node's fair share is split at the host's hint, since moving it would
// only move the hot spot. Without a valid hint it is reported, not split:
// a computed middle key says nothing about where the load is. Each up
// node's hottest load is kept by the registry, so only nodes that hold a
// hot shard are looked into, and shards on other nodes cost nothing.
func (pl *planner) splitHot(budget int) {
	p := &pl.probe
	for _, i := range pl.up {
		nd := &pl.s.nodes[i]
		fair := pl.fairLoad(i)
		if float64(nd.hottest) <= fair {
			continue
		}
		stop := false
		*p = shardRec{shardCore: shardCore{Node: nd.ID}, known: true, load: math.MaxFloat32}
		pl.s.byLoad.AscendGreaterOrEqual(p, func(r *shardRec) bool {
			if r.Node != nd.ID || float64(r.load) <= fair {
				return false
			}
			if pl.taken(r.ID) || r.estimated {
				return true // already split for its size, or a guess
			}
			if budget--; budget < 0 {
				pl.skip(Skip{Reason: SkipScanBudget, Shard: r.ID})
				stop = true
				return false
			}
			if pl.full() {
				pl.skip(Skip{Reason: SkipLimitReached, Shard: r.ID})
				stop = true
				return false
			}
			st, _ := pl.s.stats(r)
			if !r.Range.Inside(st.SplitKey) {
				pl.skip(Skip{Reason: SkipHotNoSplitKey, Shard: r.ID, Node: r.Node})
				return true
			}
			pl.use(PlaceSplit{Shard: r.ID, Epoch: r.Epoch, SplitKey: st.SplitKey}, r.ID)
			pl.counts[i]++
			return true
		})
		if stop {
			return
		}
	}
}

// splitOne plans the split of r, a shard on an up node not in the plan.
func (pl *planner) splitOne(r *shardRec) {
	i, _ := pl.nodeUp(r.Node)
	st, _ := pl.s.stats(r)
	key := st.SplitKey
	if !r.Range.Inside(key) {
		var ok bool
		if key, ok = MidKey(r.Range); !ok {
			pl.skip(Skip{Reason: SkipNoSplitKey, Shard: r.ID})
			return
		}
	}
	pl.use(PlaceSplit{Shard: r.ID, Epoch: r.Epoch, SplitKey: key}, r.ID)
	pl.counts[i]++
}

// notUpCount counts, for one phase, the candidates passed over because
// their node is not up. They cost no scan budget, so shards on a down
// node cannot starve the up nodes' splits and merges; their number is
// bounded apart (maxNotUp), so they cannot make a plan O(shards) either.
type notUpCount struct{ n int }

// maxNotUp is how many candidates on nodes that are not up one phase may
// pass over, per unit of scan budget.
const maxNotUp = 16

// add counts one and reports whether the phase may go on.
func (c *notUpCount) add(pl *planner) bool {
	c.n++
	return c.n <= maxNotUp*pl.budget
}

// skipNotUp reports the count, once a phase.
func (pl *planner) skipNotUp(c *notUpCount) {
	if c.n > 0 {
		pl.skip(Skip{Reason: SkipNodeNotUp, Count: c.n})
	}
}

// merge plans merges of cold neighbours on one up node, coldest pair
// first, then brings cold neighbours on different nodes together.
func (pl *planner) merge() {
	pol := pl.pol
	bound := satAdd(pol.MergeKeys, pol.MergeKeys)
	maxKeys := fraction(pol.MergeMaxFraction, pol.SplitKeys)
	maxBytes := fraction(pol.MergeMaxFraction, pol.SplitBytes)
	budget := pl.budget
	var notUp notUpCount
	pl.s.pairs.Ascend(func(p mergePair) bool {
		if p.keys >= bound {
			return false
		}
		if _, up := pl.nodeUp(p.node); !up {
			return notUp.add(pl)
		}
		// The budget counts every pair looked at, cold or not: pairs few
		// in keys but large in bytes sort early and would otherwise make
		// the scan O(shards).
		if budget--; budget < 0 {
			pl.skip(Skip{Reason: SkipScanBudget, Shard: p.left})
			return false
		}
		l, _ := pl.s.shard(p.left)
		r, _ := pl.s.next(l)
		if l.keys >= pol.MergeKeys || r.keys >= pol.MergeKeys || l.bytes >= pol.MergeBytes || r.bytes >= pol.MergeBytes {
			return true // not cold: not a candidate
		}
		if pl.full() {
			pl.skip(Skip{Reason: SkipLimitReached, Shard: l.ID})
			return false
		}
		i, _ := pl.nodeUp(l.Node)
		switch {
		case pl.taken(l.ID) || pl.taken(r.ID):
			if !pl.second {
				pl.skip(pl.inPlanSkip(l, r))
			}
		case uint32(l.sinceSplit) < pol.MergeEmbargo || uint32(r.sinceSplit) < pol.MergeEmbargo:
			pl.skip(Skip{Reason: SkipRecentlySplit, Shard: l.ID})
		case p.keys > maxKeys || satAdd(l.bytes, r.bytes) > maxBytes || pl.tooHot(l, r, i):
			pl.skip(Skip{Reason: SkipMergeTooBig, Shard: l.ID})
		default:
			pl.use(PlaceMerge{Left: l.ID, LeftEpoch: l.Epoch, Right: r.ID, RightEpoch: r.Epoch}, l.ID, r.ID)
			pl.counts[i]--
		}
		return true
	})
	pl.skipNotUp(&notUp)
	pl.mergeAcross()
}

// tooHot reports whether merging l and r on node i would make a shard
// hotter than MergeMaxFraction of the node's fair share of the load, which
// the split phase would split straight back.
func (pl *planner) tooHot(l, r *shardRec, i int) bool {
	return float64(l.load)+float64(r.load) > pl.pol.MergeMaxFraction*pl.fairLoad(i)
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
	budget := pl.budget / 4
	cold := func(r *shardRec) bool { return r.known && r.keys < pol.MergeKeys && r.bytes < pol.MergeBytes }
	pl.s.byKeys.Descend(func(l *shardRec) bool {
		if l.keys >= pol.MergeKeys {
			return false // the rest have more keys
		}
		if _, up := pl.nodeUp(l.Node); !up {
			return true // costs no lookup and no budget
		}
		if budget--; budget < 0 {
			pl.skip(Skip{Reason: SkipScanBudget, Shard: l.ID})
			return false
		}
		r, ok := pl.s.next(l)
		if !ok || r.Node == l.Node || !cold(l) || !cold(r) {
			return true // same-node pairs were the pairs index's
		}
		if pl.full() {
			pl.skip(Skip{Reason: SkipLimitReached, Shard: l.ID})
			return false
		}
		li, lUp := pl.nodeUp(l.Node)
		ri, rUp := pl.nodeUp(r.Node)
		switch {
		case !lUp || !rUp:
			pl.skip(Skip{Reason: SkipNodeNotUp, Shard: l.ID})
		case pl.taken(l.ID) || pl.taken(r.ID):
			pl.skip(pl.inPlanSkip(l, r))
		case uint32(l.sinceSplit) < pol.MergeEmbargo || uint32(r.sinceSplit) < pol.MergeEmbargo:
			pl.skip(Skip{Reason: SkipRecentlySplit, Shard: l.ID})
		case satAdd(l.keys, r.keys) > maxKeys || satAdd(l.bytes, r.bytes) > maxBytes || pl.tooHot(l, r, li) || pl.tooHot(l, r, ri):
			pl.skip(Skip{Reason: SkipMergeTooBig, Shard: l.ID})
		default:
			mover, src, dst, stays := l, li, ri, r
			if pl.fullness(ri) > pl.fullness(li) {
				mover, src, dst, stays = r, ri, li, l
			}
			if pl.outFull(src) || pl.inFull(dst) {
				s := pl.capSkip()
				s.Shard, s.Node = mover.ID, pl.s.nodes[src].ID
				pl.skip(s)
				return true
			}
			if pl.transfer(mover, src, dst) != noRefusal {
				return true
			}
			pl.used[stays.ID] = true // it waits for the merge, not for a move
		}
		return true
	})
}

// fullness is how full up node i is for its capacity share, in the
// dimension being balanced: bytes, or counts when no bytes are known.
func (pl *planner) fullness(i int) float64 {
	if pl.bytes != nil {
		return pl.bytes[i] / pl.share[i]
	}
	return float64(pl.counts[i]) / pl.share[i]
}

// inPlanSkip is the reason a merge pair with a shard in the plan is left
// out: that shard is moving (a move in flight), or planned in this plan.
func (pl *planner) inPlanSkip(l, r *shardRec) Skip {
	for _, x := range [2]*shardRec{l, r} {
		if _, ok := pl.s.moving(x.ID); ok {
			return Skip{Reason: SkipShardMoving, Shard: l.ID}
		}
	}
	return Skip{Reason: SkipInPlan, Shard: l.ID}
}
