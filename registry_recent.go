package placement

import (
	"math/bits"
	"time"

	"github.com/google/btree"
)

// recentMoves is the log time of each shard's last move and the node it
// left, for the cool-down (Policy.MoveCooldown), the rule that rebalancing
// never sends a shard back to the node it left within a day, and the
// churn budget: replicated, since every replica applies the same entries
// with the same times, and in snapshots from version 4 (but for the soft
// size and drain marks the churn budget reads).
// A move is recorded once its shard has its new owner (a CompleteTransfer,
// or a PlaceTransfer that completes at once) and only from format version
// 5, whose snapshots carry it, so a replica restored from a snapshot and
// one that replayed the log agree. Entries older than MaxMoveCooldown
// before the newest are dropped, so the set holds only the moves of the
// last day, and a merged-away shard is forgotten.
type recentMoves struct {
	byID *btree.BTreeG[recentItem] // by shard ID
	byAt *btree.BTreeG[recentItem] // oldest first, for dropping
	// byMinute sums the entries of each minute of log time, so the churn
	// budget counts an hour of moves from 60 sums and the entries of one
	// partial minute, however many moved.
	byMinute *btree.BTreeG[recentMinute]
	// last is the newest log time the state applied (from format version
	// 5): the clock a Coordinator with none of its own times cool-downs by.
	last int64
}

type recentItem struct {
	id   ShardID
	at   int64  // Unix nanoseconds, > 0
	from NodeID // the node the shard left
	// bytes is the shard's size when it moved, if sized: soft, like the
	// stats it comes from (a snapshot carries neither), and read only by
	// the churn budget.
	bytes uint64
	sized bool
	// drain is set when the node the shard left was being emptied
	// (draining, lost or removed) when the move completed: a drain, or
	// re-homing from a lost node, which the churn budget does not count
	// (see ChurnState).
	drain bool
}

// recentMinute sums the entries whose log time falls in one minute. The
// bytes are summed in 128 bits (hi, lo), exactly, so that removing an
// entry undoes adding it whatever the sizes.
type recentMinute struct {
	minute  int64 // Unix nanoseconds / time.Minute
	shards  int
	unsized int // entries without a size
	hi, lo  uint64
}

// churnSum is what the recent moves since a time add up to.
type churnSum struct {
	shards, unsized int
	bytes           float64 // of the sized entries
}

func (c *churnSum) add(shards, unsized int, hi, lo uint64) {
	c.shards += shards
	c.unsized += unsized
	c.bytes += float64(hi)*(1<<64) + float64(lo)
}

func newRecentMoves() recentMoves {
	return recentMoves{
		byID: btree.NewG(treeDegree, func(a, b recentItem) bool { return a.id < b.id }),
		byAt: btree.NewG(treeDegree, func(a, b recentItem) bool {
			return a.at < b.at || (a.at == b.at && a.id < b.id)
		}),
		byMinute: btree.NewG(treeDegree, func(a, b recentMinute) bool { return a.minute < b.minute }),
	}
}

func (r recentMoves) clone() recentMoves {
	return recentMoves{byID: r.byID.Clone(), byAt: r.byAt.Clone(), byMinute: r.byMinute.Clone(), last: r.last}
}

// insert adds it, which is not in the set.
func (r *recentMoves) insert(it recentItem) {
	r.byID.ReplaceOrInsert(it)
	r.byAt.ReplaceOrInsert(it)
	r.count(it, 1)
}

// remove drops it, which is in the set.
func (r *recentMoves) remove(it recentItem) {
	r.byID.Delete(it)
	r.byAt.Delete(it)
	r.count(it, -1)
}

// count adds it to its minute's sums (sign 1) or takes it out (-1); a
// drain is in no sum.
func (r *recentMoves) count(it recentItem, sign int) {
	if it.drain {
		return
	}
	m, _ := r.byMinute.Get(recentMinute{minute: it.at / int64(time.Minute)})
	m.minute = it.at / int64(time.Minute)
	m.shards += sign
	switch {
	case !it.sized:
		m.unsized += sign
	case sign > 0:
		var carry uint64
		m.lo, carry = bits.Add64(m.lo, it.bytes, 0)
		m.hi += carry
	default:
		var borrow uint64
		m.lo, borrow = bits.Sub64(m.lo, it.bytes, 0)
		m.hi -= borrow
	}
	if m.shards == 0 {
		r.byMinute.Delete(m)
		return
	}
	r.byMinute.ReplaceOrInsert(m)
}

// addItem adds one entry.
func (c *churnSum) addItem(it recentItem) {
	if it.sized {
		c.add(1, 0, 0, it.bytes)
	} else {
		c.add(1, 1, 0, 0)
	}
}

// since sums the entries of log time at or after from, but drains: those
// of from's minute one by one, the later minutes by their sums.
func (r *recentMoves) since(from int64) churnSum {
	from = max(from, 1) // every entry's time is positive
	next := (from/int64(time.Minute) + 1) * int64(time.Minute)
	var sum churnSum
	r.byAt.AscendGreaterOrEqual(recentItem{at: from}, func(it recentItem) bool {
		if it.at >= next {
			return false
		}
		if !it.drain {
			sum.addItem(it)
		}
		return true
	})
	r.byMinute.AscendGreaterOrEqual(recentMinute{minute: next / int64(time.Minute)}, func(m recentMinute) bool {
		sum.add(m.shards, m.unsized, m.hi, m.lo)
		return true
	})
	return sum
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

// record notes that a shard moved (it: its ID, log time, source and
// size), and drops the entries more than MaxMoveCooldown older than the
// newest.
//
// A drain that replaces a counted move of the last ChurnWindow is counted
// in its stead (at its own, later time), so that a drain does not hide a
// rebalancing move of the hour from the churn budget.
func (r *recentMoves) record(it recentItem) {
	if old, ok := r.byID.Get(recentItem{id: it.id}); ok {
		if it.drain && !old.drain && it.at-old.at < int64(ChurnWindow) {
			it.drain = false
		}
		r.remove(old)
	}
	r.insert(it)
	r.tick(it.at)
	horizon := r.last - int64(MaxMoveCooldown)
	for {
		oldest, ok := r.byAt.Min()
		if !ok || oldest.at >= horizon {
			return
		}
		r.remove(oldest)
	}
}

// forget drops shard id's entry.
func (r *recentMoves) forget(id ShardID) {
	if old, ok := r.byID.Get(recentItem{id: id}); ok {
		r.remove(old)
	}
}

// len is how many shards moved within the last day.
func (r *recentMoves) len() int { return r.byID.Len() }

// recordMove notes a move of shard r, which left node from, made by an
// entry of log time at, from format version 5 and when the time is known.
func (s *state) recordMove(r *shardRec, at int64, from NodeID) {
	if s.formatVersion >= versionStable && at > 0 {
		s.recent.record(recentItem{id: r.ID, at: at, from: from, bytes: r.bytes, sized: r.known, drain: s.emptying(from)})
	}
}

// emptying reports whether node id is being emptied: draining, lost, or
// no longer in s (removed once empty), so that a move out of it is a
// drain or a re-homing. A down node is not: rebalancing moves out of it
// stay in flight and count.
func (s *state) emptying(id NodeID) bool {
	i := s.nodeIndex(id)
	return i < 0 || s.nodes[i].State == NodeDraining || s.nodes[i].State == NodeLost
}

// tickClock advances the recent moves' clock to an entry's log time, from
// format version 5.
func (s *state) tickClock(at int64) {
	if s.formatVersion >= versionStable && at > 0 {
		s.recent.tick(at)
	}
}
