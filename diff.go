package placement

import (
	"bytes"
	"fmt"
	"iter"
	"strconv"

	"github.com/google/btree"
)

// ChangeKind is what a Change reports. The zero value is not a valid kind.
type ChangeKind uint8

// Change kinds. Node kinds set Change.Node, NodeBefore and NodeAfter; shard
// kinds set Change.Shard, Before and After.
const (
	// ChangeNodeAdded: a node next holds and prev does not (NodeAfter).
	ChangeNodeAdded ChangeKind = iota + 1
	// ChangeNodeStateChanged: a node in both views whose State differs.
	// A change of its shard count alone (Node.Shards) is not reported:
	// the shard changes say it.
	ChangeNodeStateChanged
	// ChangeNodeRemoved: a node prev holds and next does not (NodeBefore).
	ChangeNodeRemoved
	// ChangeShardAdded: a shard next holds and prev does not (After): one
	// created, or the right half of a split. Shard IDs are never reused,
	// so a shard ID that appears is a new shard.
	ChangeShardAdded
	// ChangeShardRemoved: a shard prev holds and next does not (Before):
	// the right shard of a merge, whose range the left shard now spans.
	ChangeShardRemoved
	// ChangeShardRangeChanged: a shard in both views whose range differs:
	// the left half of a split, or the left shard of a merge.
	ChangeShardRangeChanged
	// ChangeShardMoved: a shard in both views whose owner (Node) differs.
	// When Before.MovingTo equals After.Node it is the completion of the
	// move in flight in prev (CompleteTransfer); it is also how a one-phase
	// PlaceTransfer, before format version 3, shows.
	ChangeShardMoved
	// ChangeShardMoveAborted: the move in flight in prev (Before.MovingTo)
	// is not in flight in next, and the owner is the same: the move was
	// aborted (AbortTransfer, or the target left the up state), so the
	// target may discard what it copied. Between distant views it may
	// instead have completed and the shard have come back; either way the
	// target does not own the shard.
	ChangeShardMoveAborted
	// ChangeShardMoving: a move is in flight in next (After.MovingTo) that
	// was not in flight in prev: it began between the two views.
	// Before.MovingTo is 0, or the target of an earlier move that ended.
	ChangeShardMoving
	// ChangeShardEpochChanged: a shard in both views whose epoch differs
	// and nothing else Diff reports does (say a split and a merge back).
	// Every other shard change in both views comes with a new epoch too,
	// so this kind is only reported alone.
	ChangeShardEpochChanged
)

// String returns the kind's name, such as "shard-moved", or
// "ChangeKind(n)" for an invalid kind.
func (k ChangeKind) String() string {
	switch k {
	case ChangeNodeAdded:
		return "node-added"
	case ChangeNodeStateChanged:
		return "node-state-changed"
	case ChangeNodeRemoved:
		return "node-removed"
	case ChangeShardAdded:
		return "shard-added"
	case ChangeShardRemoved:
		return "shard-removed"
	case ChangeShardRangeChanged:
		return "shard-range-changed"
	case ChangeShardMoved:
		return "shard-moved"
	case ChangeShardMoveAborted:
		return "shard-move-aborted"
	case ChangeShardMoving:
		return "shard-moving"
	case ChangeShardEpochChanged:
		return "shard-epoch-changed"
	}
	return "ChangeKind(" + strconv.Itoa(int(k)) + ")"
}

// isNode reports whether k is a node kind.
func (k ChangeKind) isNode() bool { return k >= ChangeNodeAdded && k <= ChangeNodeRemoved }

// Change is one difference between two Views, as Diff reports it.
type Change struct {
	Kind ChangeKind
	// Shard is the shard a shard kind is about; 0 for node kinds.
	Shard ShardID
	// Node is the node a node kind is about; 0 for shard kinds.
	Node NodeID
	// Before and After are the shard in prev and in next, for shard kinds;
	// the zero Shard where the view does not hold it (Before of
	// ChangeShardAdded, After of ChangeShardRemoved). Their key bytes are
	// shared with the views: do not modify them.
	Before, After Shard
	// NodeBefore and NodeAfter are the node in prev and in next, for node
	// kinds; the zero Node where the view does not hold it.
	NodeBefore, NodeAfter Node
}

// String formats the change for logs and test output.
func (c Change) String() string {
	b, a := c.Before, c.After
	switch c.Kind {
	case ChangeNodeAdded:
		return fmt.Sprintf("node %d added (%s)", c.Node, c.NodeAfter.State)
	case ChangeNodeStateChanged:
		return fmt.Sprintf("node %d %s -> %s", c.Node, c.NodeBefore.State, c.NodeAfter.State)
	case ChangeNodeRemoved:
		return fmt.Sprintf("node %d removed", c.Node)
	case ChangeShardAdded:
		return fmt.Sprintf("shard %d added: %s on node %d", c.Shard, a.Range, a.Node)
	case ChangeShardRemoved:
		return fmt.Sprintf("shard %d removed: %s on node %d", c.Shard, b.Range, b.Node)
	case ChangeShardRangeChanged:
		return fmt.Sprintf("shard %d range %s -> %s", c.Shard, b.Range, a.Range)
	case ChangeShardMoved:
		return fmt.Sprintf("shard %d moved: node %d -> %d", c.Shard, b.Node, a.Node)
	case ChangeShardMoving:
		return fmt.Sprintf("shard %d moving: node %d -> %d", c.Shard, a.Node, a.MovingTo)
	case ChangeShardMoveAborted:
		return fmt.Sprintf("shard %d move to node %d aborted", c.Shard, b.MovingTo)
	case ChangeShardEpochChanged:
		return fmt.Sprintf("shard %d epoch %d -> %d", c.Shard, b.Epoch, a.Epoch)
	}
	if c.Kind.isNode() {
		return fmt.Sprintf("%s node %d", c.Kind, c.Node)
	}
	return fmt.Sprintf("%s shard %d", c.Kind, c.Shard)
}

// Diff yields what changed from prev to next, so that a host can reconcile
// with the placement map level-triggered: after a Restore (see
// WithRestoreFunc), after missing callbacks, or at start-up against the
// View it last acted on. It compares the replicated state only: nodes (ID
// and state) and shards (range, owner, epoch and MovingTo). Soft stats,
// node capacities, the rebalancing flags, the format version and the
// next-ID counter are not compared.
//
// Changes come in this order: nodes added or changed state, in node ID
// order; then shard changes in shard ID order; then nodes removed, in node
// ID order. So a node appears before shards move to it, and is removed
// after they left it. A shard in both views may have several changes,
// reported in this order: ChangeShardRangeChanged, then ChangeShardMoved or
// ChangeShardMoveAborted, then ChangeShardMoving (ChangeShardEpochChanged
// only alone). Splits and merges show as a ChangeShardRangeChanged of the
// shard that kept its ID with a ChangeShardAdded (split) or
// ChangeShardRemoved (merge) of the other.
//
// The result is an iterator: nothing is computed until it is ranged over,
// the caller may stop early, and it may be ranged over again. Views are
// immutable, so it is safe from any goroutine. When prev and next are the
// same state (taken with no write between, or the same View) it yields
// nothing in O(1). Otherwise it walks both views' shards in ID order:
// O(shards in prev + shards in next) time, whatever the number of changes,
// plus O(log moves) per shard while moves are in flight, and O(nodes),
// with one allocation of a few KiB besides the Changes (while no move is in
// flight, a shard the two views share unchanged costs a pointer
// comparison). That suits a restore
// or a periodic reconcile; for each applied command, use WithApplyFunc or
// WithEffectFunc.
func Diff(prev, next View) iter.Seq[Change] {
	return func(yield func(Change) bool) {
		a, b := prev.state(), next.state()
		if a == b {
			return
		}
		_ = diffNodes(a, b, false, yield) &&
			diffShards(a, b, yield) &&
			diffNodes(a, b, true, yield)
	}
}

// diffNodes yields the nodes of b that a does not hold or holds in another
// state, or, with removed, the nodes of a that b does not hold. Both slices
// are sorted by ID. It returns false once yield does.
func diffNodes(a, b *state, removed bool, yield func(Change) bool) bool {
	i, j := 0, 0
	for i < len(a.nodes) || j < len(b.nodes) {
		switch {
		case j == len(b.nodes) || (i < len(a.nodes) && a.nodes[i].ID < b.nodes[j].ID):
			n := a.nodes[i].Node
			i++
			if removed && !yield(Change{Kind: ChangeNodeRemoved, Node: n.ID, NodeBefore: n}) {
				return false
			}
		case i == len(a.nodes) || b.nodes[j].ID < a.nodes[i].ID:
			n := b.nodes[j].Node
			j++
			if !removed && !yield(Change{Kind: ChangeNodeAdded, Node: n.ID, NodeAfter: n}) {
				return false
			}
		default:
			nb, na := a.nodes[i].Node, b.nodes[j].Node
			i++
			j++
			if !removed && nb.State != na.State &&
				!yield(Change{Kind: ChangeNodeStateChanged, Node: na.ID, NodeBefore: nb, NodeAfter: na}) {
				return false
			}
		}
	}
	return true
}

// diffShards merge-walks the shards of a and b in ID order and yields their
// changes. It returns false once yield does.
func diffShards(a, b *state, yield func(Change) bool) bool {
	prev := &idCursor{tree: a.byID}
	pr, pok := prev.next()
	more := true
	b.byID.Ascend(func(r *shardRec) bool {
		for pok && pr.ID < r.ID {
			if more = yield(Change{Kind: ChangeShardRemoved, Shard: pr.ID, Before: a.public(pr)}); !more {
				return false
			}
			pr, pok = prev.next()
		}
		if !pok || pr.ID != r.ID {
			more = yield(Change{Kind: ChangeShardAdded, Shard: r.ID, After: b.public(r)})
			return more
		}
		same := pr == r && a.moves.Len() == 0 && b.moves.Len() == 0
		if !same {
			more = diffShard(a.public(pr), b.public(r), yield)
		}
		pr, pok = prev.next()
		return more
	})
	for more && pok {
		more = yield(Change{Kind: ChangeShardRemoved, Shard: pr.ID, Before: a.public(pr)})
		pr, pok = prev.next()
	}
	return more
}

// idCursor reads a tree of records by ID in order, a batch at a time.
type idCursor struct {
	tree  *btree.BTreeG[*shardRec]
	batch []*shardRec
	i     int
	done  bool
}

// cursorBatch is how many records an idCursor reads per descent of its tree.
const cursorBatch = 256

// next returns the next record, or false after the last.
func (c *idCursor) next() (*shardRec, bool) {
	if c.i == len(c.batch) {
		if c.done {
			return nil, false
		}
		var from *shardRec
		if len(c.batch) > 0 {
			from = c.batch[len(c.batch)-1]
		}
		if c.batch == nil {
			c.batch = make([]*shardRec, 0, cursorBatch)
		}
		c.batch, c.i = c.batch[:0], 0
		collect := func(r *shardRec) bool {
			if r == from {
				return true
			}
			c.batch = append(c.batch, r)
			return len(c.batch) < cursorBatch
		}
		if from == nil {
			c.tree.Ascend(collect)
		} else {
			c.tree.AscendGreaterOrEqual(from, collect)
		}
		if len(c.batch) < cursorBatch {
			c.done = true
		}
		if len(c.batch) == 0 {
			return nil, false
		}
	}
	r := c.batch[c.i]
	c.i++
	return r, true
}

// diffShard yields the changes of one shard that both views hold: before
// in prev, after in next. It returns false once yield does.
func diffShard(before, after Shard, yield func(Change) bool) bool {
	c := Change{Shard: after.ID, Before: before, After: after}
	emit := func(k ChangeKind) bool {
		c.Kind = k
		return yield(c)
	}
	reported := false
	if !sameRange(before.Range, after.Range) {
		reported = true
		if !emit(ChangeShardRangeChanged) {
			return false
		}
	}
	// While a move is in flight the shard's epoch does not change, so a
	// move with another epoch is another move.
	sameEpoch := before.Epoch == after.Epoch
	moveEnded := before.MovingTo != 0 && (after.MovingTo != before.MovingTo || !sameEpoch)
	moveBegan := after.MovingTo != 0 && (after.MovingTo != before.MovingTo || !sameEpoch)
	switch {
	case before.Node != after.Node:
		reported = true
		if !emit(ChangeShardMoved) {
			return false
		}
	case moveEnded:
		reported = true
		if !emit(ChangeShardMoveAborted) {
			return false
		}
	}
	if moveBegan {
		reported = true
		if !emit(ChangeShardMoving) {
			return false
		}
	}
	if !reported && !sameEpoch {
		return emit(ChangeShardEpochChanged)
	}
	return true
}

// sameRange reports whether a and b are the same range: nil and empty
// starts are both the smallest key, but a nil end (unbounded) differs from
// any other.
func sameRange(a, b KeyRange) bool {
	return bytes.Equal(a.Start, b.Start) && (a.End == nil) == (b.End == nil) && bytes.Equal(a.End, b.End)
}
