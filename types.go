package placement

import (
	"fmt"
	"strconv"
)

// NodeID names a data node: a process that owns shards. Zero is not a valid
// NodeID.
type NodeID uint64

// ShardID names a shard. IDs are never reused: the registry's next-ID counter
// only grows, and it is part of every snapshot. Zero is not a valid ShardID.
type ShardID uint64

// Shard is one key range and the node that owns it.
//
// Shards returned by a View share their key bytes with the registry; callers
// must not modify Range.Start or Range.End.
type Shard struct {
	ID    ShardID
	Range KeyRange
	Node  NodeID
	// Epoch starts at 1 and grows by one with every placement change applied
	// to the shard (split, merge, transfer). Commands carry the epoch they
	// were planned on and apply only if it still matches.
	Epoch uint64
	// MovingTo is the node the shard is moving to while a move is in
	// flight (PlaceTransfer until CompleteTransfer or AbortTransfer), and
	// 0 otherwise. Node stays the owner, and serves the shard, until the
	// move completes.
	MovingTo NodeID
}

// String formats the shard for logs and test output.
func (s Shard) String() string {
	if s.MovingTo != 0 {
		return fmt.Sprintf("shard %d %s on node %d moving to %d epoch %d", s.ID, s.Range, s.Node, s.MovingTo, s.Epoch)
	}
	return fmt.Sprintf("shard %d %s on node %d epoch %d", s.ID, s.Range, s.Node, s.Epoch)
}

// NodeState is the replicated state of a data node.
type NodeState uint8

// Node states. The zero value is not a valid state.
const (
	// NodeUp nodes own shards and receive them when balancing.
	NodeUp NodeState = iota + 1
	// NodeDraining nodes are emptied: their shards move to up nodes, and
	// they receive none.
	NodeDraining
	// NodeDown nodes are neither a source nor a target of any move: a
	// node that is expected back.
	NodeDown
	// NodeLost nodes are gone for good: their shards are re-homed onto up
	// nodes as from a draining node, but the data cannot come from the
	// lost node, so the host copies it from replicas or backups (a
	// PlaceTransfer whose From is a lost node says so). RemoveNode takes
	// the node out once it owns nothing. New in this release: replicas of
	// older ones cannot decode the state, so upgrade every server first.
	NodeLost
)

// Valid reports whether s is one of the defined states.
func (s NodeState) Valid() bool { return s >= NodeUp && s <= NodeLost }

// String returns "up", "draining", "down" or "NodeState(n)".
func (s NodeState) String() string {
	switch s {
	case NodeUp:
		return "up"
	case NodeDraining:
		return "draining"
	case NodeDown:
		return "down"
	case NodeLost:
		return "lost"
	}
	return "NodeState(" + strconv.Itoa(int(s)) + ")"
}

// Node is a data node as a View reports it.
type Node struct {
	ID    NodeID
	State NodeState
	// Shards is the number of shards the node owns, maintained by the
	// registry on every applied command (never recounted).
	Shards int
}

// MaxShardBytes is the largest Stats.Bytes ReportStats accepts: 2⁶⁰
// bytes (1 EiB).
const MaxShardBytes = 1 << 60

// Stats are soft, per-shard figures reported by the host. They are not
// replicated and not in snapshots; Apply never reads them to decide anything.
type Stats struct {
	Keys uint64
	// Bytes is the shard's size. At most MaxShardBytes: a larger figure is
	// no shard any storage engine holds (a -1 cast to uint64, say), and
	// ReportStats refuses it.
	Bytes uint64
	// Load is a host-defined rate of work on the shard (requests/s, CPU-s/s
	// or any other unit, the same for every shard). It must be finite and
	// at least zero; zero everywhere means the host does not report load,
	// and the planner ignores that dimension. It is kept as a float32, and
	// halved on split and summed on merge like Keys and Bytes.
	Load float64
	// Estimated is set by a View when the figures are the registry's own
	// estimate (each half of a split gets half its parent's, a merged
	// shard the sum) and the host has not reported the shard since. Such
	// a shard is not split again until it has been: its size is a guess.
	// ReportStats ignores the field.
	Estimated bool
	// SplitKey is an optional hint from the storage engine: a key that
	// divides the shard's data roughly in half. It is used only if it lies
	// strictly inside the shard's range.
	SplitKey []byte
}

// NodeStats are soft figures about a data node, reported by the host with
// ShardRegistry.ReportNodeStats. Like shard stats they are not replicated
// and not in snapshots: only the leader's registry plans with them.
type NodeStats struct {
	// Capacity is how many bytes the node may hold. The planner gives each
	// up node a share of the bytes, the load and the shard count in
	// proportion to its capacity. Zero means unknown: such a node counts as
	// the mean capacity of the up nodes whose capacity is known, or all up
	// nodes count as equal when none is known.
	Capacity uint64
}

// Usage is what a View knows of a node's share of the work: sums over the
// shards it owns whose stats are known. It is maintained by the registry
// on every change (never recounted).
type Usage struct {
	// Known is how many of the node's shards have known stats.
	Known int
	// Bytes and Load are the sums of those shards' Stats.Bytes and
	// Stats.Load. Bytes saturates at 2⁶⁴-1 (it never wraps); Load is a float
	// sum kept in place as shards come and go, so it can drift by
	// rounding when loads differ by many orders of magnitude (it is reset
	// to 0 whenever the node has no shard with known stats).
	Bytes uint64
	Load  float64
}
