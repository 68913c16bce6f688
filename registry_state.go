package placement

import (
	"bytes"
	"math"
	"math/bits"
	"sync"

	"github.com/google/btree"
)

// treeDegree is the B-tree degree of every index. 32 keeps nodes within a
// few cache lines of pointers while the trees stay shallow at 1M shards.
const treeDegree = 32

// neverSplit is sinceSplit for a shard with no merge embargo: one restored
// from a snapshot (a shard's age is soft state, not in snapshots).
// Counts of stats reports saturate one below it (Policy.Validate keeps
// MergeEmbargo under it).
const neverSplit = math.MaxUint16

// shardCore is the replicated part of a shard as a record holds it: Shard
// without MovingTo, which the moves index holds instead (few shards move at
// once, and 8 more bytes in every record would push it into a larger size
// class).
type shardCore struct {
	ID    ShardID
	Range KeyRange
	Node  NodeID
	Epoch uint64
}

// shardRec is one shard with its soft stats. Records are immutable once they
// are in a tree: every change builds a new record and swaps it in, so a View
// that shares the trees never sees a change.
type shardRec struct {
	shardCore
	keys, bytes uint64
	// sinceSplit counts stats reports since the shard was created, by a
	// split or by CreateShard (saturating); neverSplit for a shard restored
	// from a snapshot. The merge embargo reads it. With known
	// and load it fits in the 8 bytes after bytes, so a record stays in
	// the 96-byte size class.
	sinceSplit uint16
	// known is set once the host reported stats, or when the shard inherits
	// estimates from a split or merge of shards with known stats.
	known bool
	// estimated is set while the stats are the registry's estimate (halves
	// of a split, the sum of a merge) rather than the host's report. Such a
	// shard is not split again until the host reports it.
	estimated bool
	load      float32
}

// nodeRec is a node with the soft sums the planner reads: the replicated
// Node, the host-reported capacity, and the usage of its shards with known
// stats, maintained on every insert, remove and update.
type nodeRec struct {
	Node
	// since is when the node took its state (its AddNode or last state
	// change was appended to the log), in Unix nanoseconds; 0 if unknown.
	// Replicated, and in snapshots from version 3.
	since    int64
	capacity uint64
	// pressure is the host-reported foreground pressure, 0 to 1
	// (ShardRegistry.ReportPressure): soft, like capacity.
	pressure float64
	usage    Usage
	// sum is the exact sum of the known shards' bytes, 128 bits wide
	// ([0] the low word), so adding and then removing a record always
	// restores it; usage.Bytes is its value, saturated at 2⁶⁴-1.
	sum [2]uint64
	// hottest is the load of the node's hottest shard (0 if none has a
	// load): a node whose hottest shard is under its fair share of load
	// has no shard to split for load, so the planner skips it unlooked.
	hottest float32
}

// add counts r's stats into the node's usage (sign +1) or out of it (-1).
// The byte sum is exact (128 bits), so adding and then removing a record
// always restores it, and usage.Bytes saturates rather than wraps: shards
// that are huge together never make a node look emptier.
func (n *nodeRec) add(r *shardRec, sign int) {
	if !r.known {
		return
	}
	n.usage.Known += sign
	var carry uint64
	if sign > 0 {
		n.sum[0], carry = bits.Add64(n.sum[0], r.bytes, 0)
		n.sum[1] += carry
		n.usage.Load += float64(r.load)
	} else {
		n.sum[0], carry = bits.Sub64(n.sum[0], r.bytes, 0)
		n.sum[1] -= carry
		n.usage.Load -= float64(r.load)
	}
	n.usage.Bytes = n.sum[0]
	if n.sum[1] != 0 {
		n.usage.Bytes = math.MaxUint64
	}
	if n.usage.Known == 0 || n.usage.Load < 0 {
		n.usage.Load = 0 // no rounding residue
	}
}

// hintItem is a split-key hint, kept beside the records because few shards
// have one: inside shardRec it would push every record into a larger size
// class.
type hintItem struct {
	id  ShardID
	key []byte
}

func lessHint(a, b hintItem) bool { return a.id < b.id }

// pauseState is the last SetPause, with its expiry in Unix nanoseconds (0
// for none), and the log time of its entry (0 when unknown). The log time
// is not in snapshots (a restored map has 0) and Apply never reads it: only
// a leader's Scheduler does, to know the length of a pause set under
// another leader.
type pauseState struct {
	paused bool
	until  int64
	set    int64
}

// moveItem is a move in flight: a shard whose PlaceTransfer has applied
// and whose CompleteTransfer or AbortTransfer has not. Replicated, and in
// snapshots.
type moveItem struct {
	id       ShardID
	from, to NodeID
	// began is when the PlaceTransfer's log entry was appended, in Unix
	// nanoseconds (raft's Log.AppendedAt, the same on every replica); 0
	// when the entry was applied without a time.
	began int64
	// rec is the shard's record when the move began: the planner projects
	// the move with its size and load then (the bytes being copied)
	// without looking the shard up. Not in snapshots.
	rec *shardRec
}

func lessMove(a, b moveItem) bool { return a.id < b.id }

// moving returns the move in flight of shard id, if any.
func (s *state) moving(id ShardID) (moveItem, bool) {
	if s.moves.Len() == 0 {
		return moveItem{}, false
	}
	return s.moves.Get(moveItem{id: id})
}

// public returns r as a View reports it, with MovingTo filled in.
func (s *state) public(r *shardRec) Shard {
	sh := Shard{ID: r.ID, Range: r.Range, Node: r.Node, Epoch: r.Epoch}
	if m, ok := s.moving(r.ID); ok {
		sh.MovingTo = m.to
	}
	return sh
}

// stats returns r's soft stats with its hint, if any.
func (s *state) stats(r *shardRec) (Stats, bool) {
	st := Stats{Keys: r.keys, Bytes: r.bytes, Load: float64(r.load), Estimated: r.estimated}
	if h, ok := s.hints.Get(hintItem{id: r.ID}); ok {
		st.SplitKey = h.key
	}
	return st, r.known
}

// cost orders a node's shards for moving: cheapest (fewest known bytes)
// first, unknown sizes last.
func (r *shardRec) cost() uint64 {
	if !r.known {
		return math.MaxUint64
	}
	return r.bytes
}

// mergePair indexes two adjacent shards on the same node, both with known
// stats, by their combined key count, so the planner finds the coldest
// mergeable neighbours without scanning every shard.
type mergePair struct {
	keys uint64 // combined keys, saturating
	left ShardID
	node NodeID // the pair's owner, so non-up nodes cost no lookup
}

func lessStart(a, b *shardRec) bool { return bytes.Compare(a.Range.Start, b.Range.Start) < 0 }
func lessID(a, b *shardRec) bool    { return a.ID < b.ID }

func lessNodeCost(a, b *shardRec) bool {
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	if ca, cb := a.cost(), b.cost(); ca != cb {
		return ca < cb
	}
	return a.ID < b.ID
}

func lessKeysDesc(a, b *shardRec) bool {
	if a.keys != b.keys {
		return a.keys > b.keys
	}
	return a.ID < b.ID
}

func lessBytesDesc(a, b *shardRec) bool {
	if a.bytes != b.bytes {
		return a.bytes > b.bytes
	}
	return a.ID < b.ID
}

// lessNodeLoad orders byLoad: by node, hottest first, then by ID.
func lessNodeLoad(a, b *shardRec) bool {
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	if a.load != b.load {
		return a.load > b.load
	}
	return a.ID < b.ID
}

// loaded reports whether r belongs in byLoad.
func (r *shardRec) loaded() bool { return r.known && r.load > 0 }

func lessPair(a, b mergePair) bool {
	if a.keys != b.keys {
		return a.keys < b.keys
	}
	return a.left < b.left
}

// state is one version of the placement map and its indexes. A state shared
// with a View is never written; the registry clones it (O(1) per tree, plus
// the small node slice) before its next write.
type state struct {
	byStart *btree.BTreeG[*shardRec] // all shards, by range start
	byID    *btree.BTreeG[*shardRec] // all shards, by ID
	byNode  *btree.BTreeG[*shardRec] // all shards, by (node, cost, ID)
	byKeys  *btree.BTreeG[*shardRec] // shards with known stats, most keys first
	byBytes *btree.BTreeG[*shardRec] // shards with known stats, most bytes first
	byLoad  *btree.BTreeG[*shardRec] // shards with known load > 0, by (node, hottest first, ID)
	pairs   *btree.BTreeG[mergePair] // mergeable neighbours, coldest first
	hints   *btree.BTreeG[hintItem]  // split-key hints, by shard ID
	moves   *btree.BTreeG[moveItem]  // moves in flight, by shard ID
	nodes   []nodeRec                // sorted by ID; Shards and usage maintained
	nextID  ShardID
	// rebalancing is the last SetRebalancing applied: replicated, and in
	// snapshots.
	rebalancing SetRebalancing
	// formatVersion is the cluster's format version (SetFormatVersion):
	// replicated, and in snapshots. 1 until the log raises it.
	formatVersion uint64
	// pause and policy are the operator's settings (SetPause, SetPolicy):
	// replicated, and in snapshots. policy is nil until a SetPolicy.
	pause  pauseState
	policy *SetPolicy
	// recent is when shards last moved, for the cool-down: replicated,
	// and in snapshots from version 4.
	recent recentMoves
	// w runs the lookups of whoever writes this state (the registry under
	// its lock, or Try on its private copy). Readers of a shared state use
	// pooled seekers instead.
	w *seeker
	// cloneMu serialises clone. A B-tree's Clone writes the source tree's
	// copy-on-write context, and a state a View holds can be cloned by the
	// registry (its next write) and by Forecast (on the View) at once.
	cloneMu sync.Mutex
}

func newState() *state {
	return &state{
		byStart:       btree.NewG(treeDegree, lessStart),
		byID:          btree.NewG(treeDegree, lessID),
		byNode:        btree.NewG(treeDegree, lessNodeCost),
		byKeys:        btree.NewG(treeDegree, lessKeysDesc),
		byBytes:       btree.NewG(treeDegree, lessBytesDesc),
		byLoad:        btree.NewG(treeDegree, lessNodeLoad),
		pairs:         btree.NewG(treeDegree, lessPair),
		hints:         btree.NewG(treeDegree, lessHint),
		moves:         btree.NewG(treeDegree, lessMove),
		recent:        newRecentMoves(),
		nextID:        1,
		formatVersion: baseVersion,
		w:             newSeeker(),
	}
}

// clone returns a writable copy of s. Clone is O(1) per tree: nodes are
// copied lazily on the first write to each.
func (s *state) clone() *state {
	s.cloneMu.Lock()
	defer s.cloneMu.Unlock()
	return &state{
		byStart:       s.byStart.Clone(),
		byID:          s.byID.Clone(),
		byNode:        s.byNode.Clone(),
		byKeys:        s.byKeys.Clone(),
		byBytes:       s.byBytes.Clone(),
		byLoad:        s.byLoad.Clone(),
		pairs:         s.pairs.Clone(),
		hints:         s.hints.Clone(),
		moves:         s.moves.Clone(),
		nodes:         append([]nodeRec(nil), s.nodes...),
		nextID:        s.nextID,
		rebalancing:   s.rebalancing,
		formatVersion: s.formatVersion,
		pause:         s.pause,
		policy:        s.policy,
		recent:        s.recent.clone(),
		w:             newSeeker(),
	}
}

// nodeIndex returns the position of id in s.nodes, or -1.
func (s *state) nodeIndex(id NodeID) int {
	// A binary search without sort.Search's closure: every write looks
	// up one or two nodes.
	lo, hi := 0, len(s.nodes)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.nodes[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.nodes) && s.nodes[lo].ID == id {
		return lo
	}
	return -1
}

// insert adds r to every index and counts it on its node. It does not touch
// merge pairs; see link.
func (s *state) insert(r *shardRec) {
	s.byStart.ReplaceOrInsert(r)
	s.byID.ReplaceOrInsert(r)
	s.byNode.ReplaceOrInsert(r)
	if r.known {
		s.byKeys.ReplaceOrInsert(r)
		s.byBytes.ReplaceOrInsert(r)
	}
	n := &s.nodes[s.nodeIndex(r.Node)]
	n.Shards++
	n.add(r, +1)
	s.addLoaded(n, r)
}

// remove undoes insert.
func (s *state) remove(r *shardRec) {
	s.byStart.Delete(r)
	s.byID.Delete(r)
	s.byNode.Delete(r)
	if r.known {
		s.byKeys.Delete(r)
		s.byBytes.Delete(r)
	}
	n := &s.nodes[s.nodeIndex(r.Node)]
	n.Shards--
	n.add(r, -1)
	s.removeLoaded(n, r)
}

// addLoaded puts r in byLoad if it has a load, keeping its node's hottest.
func (s *state) addLoaded(n *nodeRec, r *shardRec) {
	if !r.loaded() {
		return
	}
	s.byLoad.ReplaceOrInsert(r)
	n.hottest = max(n.hottest, r.load)
}

// removeLoaded undoes addLoaded. When r was its node's hottest shard, the
// next one is looked up: one descent, only for a loaded shard.
func (s *state) removeLoaded(n *nodeRec, r *shardRec) {
	if !r.loaded() {
		return
	}
	s.byLoad.Delete(r)
	if r.load < n.hottest {
		return
	}
	n.hottest = 0
	p := &s.w.probe
	*p = shardRec{shardCore: shardCore{Node: r.Node}, known: true, load: math.MaxFloat32}
	s.byLoad.AscendGreaterOrEqual(p, func(h *shardRec) bool {
		if h.Node == r.Node {
			n.hottest = h.load
		}
		return false
	})
	*p = shardRec{}
}

// pairOf returns the merge-pair entry for two adjacent shards, if they are
// on one node and both have known stats.
func pairOf(l, r *shardRec) (mergePair, bool) {
	if l.Node != r.Node || !l.known || !r.known {
		return mergePair{}, false
	}
	return mergePair{keys: satAdd(l.keys, r.keys), left: l.ID, node: l.Node}, true
}

// neighbourPairs returns the merge pairs r forms with its neighbours. A
// shard without known stats is in none, so its neighbours are not looked up.
func (s *state) neighbourPairs(r *shardRec) (out [2]mergePair, n int) {
	if !r.known {
		return out, 0
	}
	if p, ok := s.w.prev(s, r); ok {
		if mp, ok := pairOf(p, r); ok {
			out[n], n = mp, n+1
		}
	}
	if nx, ok := s.w.next(s, r); ok {
		if mp, ok := pairOf(r, nx); ok {
			out[n], n = mp, n+1
		}
	}
	return out, n
}

// unlink drops the merge pairs r is part of; call it before r leaves the
// trees.
func (s *state) unlink(r *shardRec) {
	pairs, n := s.neighbourPairs(r)
	for _, mp := range pairs[:n] {
		s.pairs.Delete(mp)
	}
}

// link adds the merge pairs r is part of; call it after r is in the trees.
func (s *state) link(r *shardRec) {
	pairs, n := s.neighbourPairs(r)
	for _, mp := range pairs[:n] {
		s.pairs.ReplaceOrInsert(mp)
	}
}

// update swaps old for new when both cover the same range (a transfer or a
// stats report). It touches only the indexes whose ordering changed, and
// looks up the neighbours once, and only if a merge pair can change.
func (s *state) update(old, new *shardRec) {
	if old.known || new.known {
		if p, ok := s.w.prev(s, old); ok {
			s.repair(p, old, p, new)
		}
		if n, ok := s.w.next(s, old); ok {
			s.repair(old, n, new, n)
		}
	}
	s.byStart.ReplaceOrInsert(new)
	s.byID.ReplaceOrInsert(new)
	if old.Node != new.Node || old.cost() != new.cost() {
		s.byNode.Delete(old) // its position in byNode moves
	}
	s.byNode.ReplaceOrInsert(new)
	if old.known && (!new.known || old.keys != new.keys) {
		s.byKeys.Delete(old)
	}
	if old.known && (!new.known || old.bytes != new.bytes) {
		s.byBytes.Delete(old)
	}
	if new.known {
		s.byKeys.ReplaceOrInsert(new)
		s.byBytes.ReplaceOrInsert(new)
	}
	from := &s.nodes[s.nodeIndex(old.Node)]
	to := from
	if old.Node != new.Node {
		to = &s.nodes[s.nodeIndex(new.Node)]
		from.Shards--
		to.Shards++
	}
	from.add(old, -1)
	to.add(new, +1)
	if old.loaded() || new.loaded() {
		if old.Node != new.Node || !old.loaded() || !new.loaded() || old.load != new.load {
			s.removeLoaded(from, old)
		}
		s.addLoaded(to, new)
	}
}

// repair replaces the merge pair of (l0, r0) with that of (l1, r1).
func (s *state) repair(l0, r0, l1, r1 *shardRec) {
	before, had := pairOf(l0, r0)
	after, has := pairOf(l1, r1)
	if had && has && before == after {
		return
	}
	if had {
		s.pairs.Delete(before)
	}
	if has {
		s.pairs.ReplaceOrInsert(after)
	}
}

// nodeProbe sorts before every shard of node in byNode: known stats with
// zero cost and ID 0.
func nodeProbe(node NodeID) *shardRec {
	return &shardRec{shardCore: shardCore{Node: node}, known: true}
}
