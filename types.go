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
}

// String formats the shard for logs and test output.
func (s Shard) String() string {
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
	// NodeDown nodes are neither a source nor a target of any move.
	NodeDown
)

// Valid reports whether s is one of the defined states.
func (s NodeState) Valid() bool { return s >= NodeUp && s <= NodeDown }

// String returns "up", "draining", "down" or "NodeState(n)".
func (s NodeState) String() string {
	switch s {
	case NodeUp:
		return "up"
	case NodeDraining:
		return "draining"
	case NodeDown:
		return "down"
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

// Stats are soft, per-shard size figures reported by the host. They are not
// replicated and not in snapshots; Apply never reads them to decide anything.
type Stats struct {
	Keys  uint64
	Bytes uint64
	// SplitKey is an optional hint from the storage engine: a key that
	// divides the shard's data roughly in half. It is used only if it lies
	// strictly inside the shard's range.
	SplitKey []byte
}
