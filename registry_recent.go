package placement

import "github.com/google/btree"

// recentMoves is the log time of each shard's last move and the node it
// left, for the cool-down (Policy.MoveCooldown) and the rule that
// rebalancing never sends a shard back to the node it left within a day: replicated, since every replica applies
// the same entries with the same times, and in snapshots from version 4.
// A move is recorded once its shard has its new owner (a CompleteTransfer,
// or a PlaceTransfer that completes at once) and only from format version
// 5, whose snapshots carry it, so a replica restored from a snapshot and
// one that replayed the log agree. Entries older than MaxMoveCooldown
// before the newest are dropped, so the set holds only the moves of the
// last day, and a merged-away shard is forgotten.
type recentMoves struct {
	byID *btree.BTreeG[recentItem] // by shard ID
	byAt *btree.BTreeG[recentItem] // oldest first, for dropping
	// last is the newest log time the state applied (from format version
	// 5): the clock a Coordinator with none of its own times cool-downs by.
	last int64
}

type recentItem struct {
	id   ShardID
	at   int64  // Unix nanoseconds, > 0
	from NodeID // the node the shard left
}

func newRecentMoves() recentMoves {
	return recentMoves{
		byID: btree.NewG(treeDegree, func(a, b recentItem) bool { return a.id < b.id }),
		byAt: btree.NewG(treeDegree, func(a, b recentItem) bool {
			return a.at < b.at || (a.at == b.at && a.id < b.id)
		}),
	}
}

func (r recentMoves) clone() recentMoves {
	return recentMoves{byID: r.byID.Clone(), byAt: r.byAt.Clone(), last: r.last}
}

// movedAt returns when shard id last moved, if within the last day.
func (r *recentMoves) movedAt(id ShardID) (int64, bool) {
	it, ok := r.byID.Get(recentItem{id: id})
	return it.at, ok
}

// left returns the node shard id left in its last move within the last
// day, or 0.
func (r *recentMoves) left(id ShardID) NodeID {
	it, _ := r.byID.Get(recentItem{id: id})
	return it.from
}

// tick advances the clock to at, a log entry's time.
func (r *recentMoves) tick(at int64) { r.last = max(r.last, at) }

// record notes that shard id moved at log time at, and drops the entries
// more than MaxMoveCooldown older than the newest.
func (r *recentMoves) record(id ShardID, at int64, from NodeID) {
	r.forget(id)
	it := recentItem{id: id, at: at, from: from}
	r.byID.ReplaceOrInsert(it)
	r.byAt.ReplaceOrInsert(it)
	r.tick(at)
	horizon := r.last - int64(MaxMoveCooldown)
	for {
		oldest, ok := r.byAt.Min()
		if !ok || oldest.at >= horizon {
			return
		}
		r.byAt.DeleteMin()
		r.byID.Delete(oldest)
	}
}

// forget drops shard id's entry.
func (r *recentMoves) forget(id ShardID) {
	if old, ok := r.byID.Delete(recentItem{id: id}); ok {
		r.byAt.Delete(old)
	}
}

// len is how many shards moved within the last day.
func (r *recentMoves) len() int { return r.byID.Len() }

// recordMove notes a move of shard id made by an entry of log time at,
// from format version 5 and when the time is known.
func (s *state) recordMove(id ShardID, at int64, from NodeID) {
	if s.formatVersion >= versionStable && at > 0 {
		s.recent.record(id, at, from)
	}
}

// tickClock advances the recent moves' clock to an entry's log time, from
// format version 5.
func (s *state) tickClock(at int64) {
	if s.formatVersion >= versionStable && at > 0 {
		s.recent.tick(at)
	}
}
