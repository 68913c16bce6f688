package placement

// The split phase: splits of shards over a size threshold, and of shards
// hotter than their node's fair share of the load.

// split plans splits of shards whose known stats exceed a split threshold,
// largest first, then of shards whose load alone exceeds their node's fair
// share of the load, hottest first.
func (pl *planner) split() {
	if unknown := pl.s.byID.Len() - pl.s.byKeys.Len(); unknown > 0 {
		pl.led.skip(Skip{Reason: SkipStatsUnknown, Count: unknown})
	}
	budget := pl.led.scanLimit()
	seen := map[ShardID]bool{}
	var notUp, guessed notUpCount
	defer pl.led.skipNotUp(&notUp)
	defer func() {
		if guessed.n > 0 && !pl.led.inSecondPass() {
			pl.led.skip(Skip{Reason: SkipStatsEstimated, Count: guessed.n})
		}
	}()
	visit := func(r *shardRec) bool {
		if seen[r.ID] {
			return true
		}
		seen[r.ID] = true
		if _, up := pl.nodeUp(r.Node); !up {
			return notUp.add(&pl.led)
		}
		if r.estimated {
			// Half of a split, or a merge, not reported since: its size
			// is a guess, and skewed data makes it a poor one.
			return guessed.add(&pl.led)
		}
		if pl.led.taken(r.ID) {
			if _, ok := pl.s.moving(r.ID); ok && !pl.led.inSecondPass() {
				pl.led.skip(Skip{Reason: SkipShardMoving, Shard: r.ID})
			}
			return true // planned already: by the first pass, or for its size
		}
		if budget--; budget < 0 {
			pl.led.skip(Skip{Reason: SkipScanBudget, Shard: r.ID})
			return false
		}
		if pl.led.full() {
			pl.led.skip(Skip{Reason: SkipLimitReached, Shard: r.ID})
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
	if done && pl.proj.hasLoad() {
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
	for _, i := range pl.proj.upNodes() {
		nd := &pl.s.nodes[i]
		fair := pl.proj.fairLoad(i)
		if float64(nd.hottest) <= fair {
			continue
		}
		stop := false
		pl.look.hottest(nd.ID, func(r *shardRec) bool {
			if float64(r.load) <= fair {
				return false
			}
			if pl.led.taken(r.ID) || r.estimated {
				return true // already split for its size, or a guess
			}
			if budget--; budget < 0 {
				pl.led.skip(Skip{Reason: SkipScanBudget, Shard: r.ID})
				stop = true
				return false
			}
			if pl.led.full() {
				pl.led.skip(Skip{Reason: SkipLimitReached, Shard: r.ID})
				stop = true
				return false
			}
			st, _ := pl.s.stats(r)
			if !r.Range.Inside(st.SplitKey) {
				pl.led.skip(Skip{Reason: SkipHotNoSplitKey, Shard: r.ID, Node: r.Node})
				return true
			}
			pl.led.use(PlaceSplit{Shard: r.ID, Epoch: r.Epoch, SplitKey: st.SplitKey},
				pl.weighed(r, Reason{Phase: PhaseSplitHot, Dimension: DimLoad, Threshold: fair}), r.ID)
			pl.settle.changed()
			pl.proj.countSplit(i)
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
			pl.led.skip(Skip{Reason: SkipNoSplitKey, Shard: r.ID})
			return
		}
	}
	why := Reason{Phase: PhaseSplit, Dimension: DimBytes, Threshold: float64(pl.pol.SplitBytes)}
	if r.keys > pl.pol.SplitKeys {
		why.Dimension, why.Threshold = DimKeys, float64(pl.pol.SplitKeys)
	}
	pl.led.use(PlaceSplit{Shard: r.ID, Epoch: r.Epoch, SplitKey: key}, pl.weighed(r, why), r.ID)
	pl.settle.changed()
	pl.proj.countSplit(i)
}
