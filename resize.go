package placement

// split plans splits of shards whose known stats exceed a split threshold,
// largest first.
func (pl *planner) split() {
	if unknown := pl.s.byID.Len() - pl.s.byKeys.Len(); unknown > 0 {
		pl.skip(Skip{Reason: SkipStatsUnknown, Count: unknown})
	}
	budget := pl.budget
	seen := map[ShardID]bool{}
	visit := func(r *shardRec) bool {
		if seen[r.ID] {
			return true
		}
		seen[r.ID] = true
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
}

func (pl *planner) splitOne(r *shardRec) {
	i, up := pl.nodeUp(r.Node)
	switch {
	case !up:
		pl.skip(Skip{Reason: SkipNodeNotUp, Shard: r.ID, Node: r.Node})
	case pl.used[r.ID]:
		pl.skip(Skip{Reason: SkipInPlan, Shard: r.ID})
	default:
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
}

// merge plans merges of cold neighbours on one up node, coldest pair first.
func (pl *planner) merge() {
	pol := pl.pol
	bound := satAdd(pol.MergeKeys, pol.MergeKeys)
	maxKeys := fraction(pol.MergeMaxFraction, pol.SplitKeys)
	maxBytes := fraction(pol.MergeMaxFraction, pol.SplitBytes)
	budget := pl.budget
	pl.s.pairs.Ascend(func(p mergePair) bool {
		if p.keys >= bound {
			return false
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
		i, up := pl.nodeUp(l.Node)
		switch {
		case !up:
			pl.skip(Skip{Reason: SkipNodeNotUp, Shard: l.ID, Node: l.Node})
		case pl.used[l.ID] || pl.used[r.ID]:
			pl.skip(Skip{Reason: SkipInPlan, Shard: l.ID})
		case uint32(l.sinceSplit) < pol.MergeEmbargo || uint32(r.sinceSplit) < pol.MergeEmbargo:
			pl.skip(Skip{Reason: SkipRecentlySplit, Shard: l.ID})
		case p.keys > maxKeys || satAdd(l.bytes, r.bytes) > maxBytes:
			pl.skip(Skip{Reason: SkipMergeTooBig, Shard: l.ID})
		default:
			pl.use(PlaceMerge{Left: l.ID, LeftEpoch: l.Epoch, Right: r.ID, RightEpoch: r.Epoch}, l.ID, r.ID)
			pl.counts[i]--
		}
		return true
	})
}
