package placement

import (
	"iter"
	"time"
)

// View is an immutable snapshot of a ShardRegistry, taken in O(1) by
// ShardRegistry.View. It is safe for concurrent reads and never changes. The
// zero View is empty.
//
// Shards a View returns share key bytes with the registry: do not modify
// them.
type View struct {
	s *state
	// index is the registry's applied index when the View was taken.
	index uint64
}

func (v View) state() *state {
	if v.s == nil {
		return emptyState
	}
	return v.s
}

var emptyState = newState()

// Shard returns the shard with the given ID.
func (v View) Shard(id ShardID) (Shard, bool) {
	r, ok := v.state().shard(id)
	if !ok {
		return Shard{}, false
	}
	return v.state().public(r), true
}

// Lookup returns the shard whose range contains key, in O(log shards).
func (v View) Lookup(key []byte) (Shard, bool) {
	r, ok := v.state().floor(key)
	if !ok || !r.Range.Contains(key) {
		return Shard{}, false
	}
	return v.state().public(r), true
}

// Stats returns the soft stats last reported for a shard (or estimated from a
// split or merge); ok is false when they are unknown or the shard does not
// exist. The SplitKey hint must not be modified.
func (v View) Stats(id ShardID) (Stats, bool) {
	r, ok := v.state().shard(id)
	if !ok {
		return Stats{}, false
	}
	return v.state().stats(r)
}

// Shards yields every shard in key order.
func (v View) Shards() iter.Seq[Shard] {
	return func(yield func(Shard) bool) {
		s := v.state()
		s.byStart.Ascend(func(r *shardRec) bool { return yield(s.public(r)) })
	}
}

// ShardsFrom yields the shards whose IDs are at least id, in ID order. A
// walk that stops can resume after the last ID it saw, in O(log shards),
// whatever changed in between: the admin server pages the map with it.
func (v View) ShardsFrom(id ShardID) iter.Seq[Shard] {
	return func(yield func(Shard) bool) {
		s := v.state()
		s.byID.AscendGreaterOrEqual(&shardRec{shardCore: shardCore{ID: id}}, func(r *shardRec) bool { return yield(s.public(r)) })
	}
}

// ShardsOn yields the shards owned by node, cheapest to move first (fewest
// known bytes, then lowest ID; shards with unknown stats last).
func (v View) ShardsOn(node NodeID) iter.Seq[Shard] {
	return func(yield func(Shard) bool) {
		s := v.state()
		s.byNode.AscendGreaterOrEqual(nodeProbe(node), func(r *shardRec) bool {
			return r.Node == node && yield(s.public(r))
		})
	}
}

// ShardCount returns the number of shards.
func (v View) ShardCount() int { return v.state().byID.Len() }

// Nodes returns the data nodes in ID order with their states and shard
// counts. The slice is a copy.
func (v View) Nodes() []Node {
	nodes := v.state().nodes
	out := make([]Node, len(nodes))
	for i := range nodes {
		out[i] = nodes[i].Node
	}
	return out
}

// Node returns one data node.
func (v View) Node(id NodeID) (Node, bool) {
	s := v.state()
	i := s.nodeIndex(id)
	if i < 0 {
		return Node{}, false
	}
	return s.nodes[i].Node, true
}

// NodeStats returns the soft figures last reported for a node with
// ShardRegistry.ReportNodeStats (the zero NodeStats if none were); ok is
// false for a node the View does not hold.
func (v View) NodeStats(id NodeID) (NodeStats, bool) {
	s := v.state()
	i := s.nodeIndex(id)
	if i < 0 {
		return NodeStats{}, false
	}
	return NodeStats{Capacity: s.nodes[i].capacity}, true
}

// Pressure returns the foreground pressure last reported for a node with
// ShardRegistry.ReportPressure (0 if none was); ok is false for a node the
// View does not hold.
func (v View) Pressure(id NodeID) (float64, bool) {
	s := v.state()
	i := s.nodeIndex(id)
	if i < 0 {
		return 0, false
	}
	return s.nodes[i].pressure, true
}

// Usage returns the sums of the known stats of the shards a node owns; ok
// is false for a node the View does not hold. It costs O(log nodes).
func (v View) Usage(id NodeID) (Usage, bool) {
	s := v.state()
	i := s.nodeIndex(id)
	if i < 0 {
		return Usage{}, false
	}
	return s.nodes[i].usage, true
}

// Count returns the number of shards node owns (0 for an unknown node).
func (v View) Count(node NodeID) int {
	n, _ := v.Node(node)
	return n.Shards
}

// Rebalancing returns the last SetRebalancing the log applied: whether the
// leader that proposed it was part way through a rebalance by bytes (or
// counts) and by load. Replicated state; a new leader resumes from it.
func (v View) Rebalancing() SetRebalancing { return v.state().rebalancing }

// FormatVersion returns the cluster's format version: the last
// SetFormatVersion the log applied, 1 before any.
func (v View) FormatVersion() uint64 { return v.state().formatVersion }

// NextShardID returns the ID the next split (or a CreateShard without an ID)
// will take.
func (v View) NextShardID() ShardID { return v.state().nextID }

// Move is a move in flight, as View.Moves reports it.
type Move struct {
	// Shard is the shard moving.
	Shard ShardID
	// From is its owner, which serves it until the move completes, and To
	// the node it moves to.
	From, To NodeID
	// Epoch is the shard's epoch, which CompleteTransfer and AbortTransfer
	// must carry.
	Epoch uint64
	// Began is when the PlaceTransfer's log entry was appended (raft's
	// Log.AppendedAt, the same on every replica); zero when the entry was
	// applied without a time (ShardRegistry.Apply, FSM.ApplyEntry).
	Began time.Time
}

// Moves yields the moves in flight in shard ID order. There are few: the
// planner keeps them within Policy.MaxInflightPerNode of each node.
func (v View) Moves() iter.Seq[Move] {
	return func(yield func(Move) bool) {
		s := v.state()
		s.moves.Ascend(func(m moveItem) bool {
			r, _ := s.shard(m.id)
			return yield(Move{Shard: m.id, From: m.from, To: m.to, Epoch: r.Epoch, Began: unixTime(m.began)})
		})
	}
}

// MoveCount returns the number of moves in flight.
func (v View) MoveCount() int { return v.state().moves.Len() }

// unixTime is the time of Unix nanoseconds ns, or the zero time for 0.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Pause returns the cluster's pause, as the last SetPause left it (the
// zero SetPause when there was none). A pause past its Until is still in
// force until the leader proposes its end.
func (v View) Pause() SetPause {
	p := v.state().pause
	return SetPause{Paused: p.paused, Until: unixTime(p.until)}
}

// Policy returns the settings the last SetPolicy replicated, and false when
// there was none (every leader then plans with its own Config).
func (v View) Policy() (SetPolicy, bool) {
	if p := v.state().policy; p != nil {
		return *p, true
	}
	return SetPolicy{}, false
}

// NodeSince returns when node took its state: the log time of its AddNode
// or of the SetNodeState that last changed its state (the zero time when
// that entry was applied without one); ok is false for a node the View
// does not hold. Policy.DownTimeout is measured from it.
func (v View) NodeSince(id NodeID) (since time.Time, ok bool) {
	s := v.state()
	i := s.nodeIndex(id)
	if i < 0 {
		return time.Time{}, false
	}
	return unixTime(s.nodes[i].since), true
}
