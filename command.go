package placement

import (
	"fmt"
	"time"
)

// Command is one replicated change to the placement map. The set of commands
// is closed: the concrete types are AddNode, SetNodeState, RemoveNode,
// CreateShard, PlaceSplit, PlaceMerge, PlaceTransfer, CompleteTransfer,
// AbortTransfer, SetRebalancing and SetFormatVersion. Commands are values;
// Encode turns a batch of them into one raft log entry and
// ShardRegistry.Apply applies one.
type Command interface {
	// Type returns the command's wire type number.
	Type() CommandType
	fmt.Stringer
}

// CommandType is a command's wire type number. Numbers are append-only: a
// type, once released, keeps its number forever.
type CommandType uint8

// Wire type numbers.
const (
	TypeAddNode       CommandType = 1
	TypeSetNodeState  CommandType = 2
	TypeRemoveNode    CommandType = 3
	TypeCreateShard   CommandType = 4
	TypePlaceSplit    CommandType = 5
	TypePlaceMerge    CommandType = 6
	TypePlaceTransfer CommandType = 7
	// TypeSetRebalancing is new in this release (format version 2): the
	// Scheduler proposes it only once the log has enabled that version.
	TypeSetRebalancing CommandType = 8
	// TypeSetFormatVersion is new in format version 2, like SetRebalancing.
	TypeSetFormatVersion CommandType = 9
	// TypeCompleteTransfer is new in format version 3, the two-phase
	// transfer.
	TypeCompleteTransfer CommandType = 10
	// TypeAbortTransfer is new in format version 3, like
	// TypeCompleteTransfer.
	TypeAbortTransfer CommandType = 11
	// TypeSetPause is new in format version 3: the operator's pause,
	// replicated.
	TypeSetPause CommandType = 12
	// TypeSetPolicy is new in format version 3: the operator's Policy and
	// MaxActionsPerTick, replicated.
	TypeSetPolicy CommandType = 13
	// TypeCompleteTransferTo is new in format version 4: the wire type of a
	// CompleteTransfer that names its destination (To set). Decode returns
	// it as a CompleteTransfer, whose Type is TypeCompleteTransfer.
	TypeCompleteTransferTo CommandType = 14
	// TypeSetPolicyExt is new in format version 5: the wire type of a
	// SetPolicy whose stability fields (Policy.MinGain, MoveCooldown,
	// LoadHalfLife) differ from DefaultPolicy's. Decode returns it as a
	// SetPolicy, whose Type is TypeSetPolicy; a type 13 entry decodes
	// with those fields at their defaults.
	TypeSetPolicyExt CommandType = 15
	// TypeSetPolicyFields is new in format version 6: the wire type of a
	// SetPolicy one of whose fields added from version 6 on (the first is
	// Policy.MinCopyRate) differs from DefaultPolicy's. It carries those
	// fields by tag, so later ones need no new type. Decode returns it as a
	// SetPolicy, whose Type is TypeSetPolicy; types 13 and 15 decode with
	// those fields at their defaults.
	TypeSetPolicyFields CommandType = 16
)

// FormatVersion is the newest log entry format this build reads and writes.
// SetFormatVersion{Version: FormatVersion} enables it once every server
// runs this release.
const FormatVersion = formatVersion

// SetFormatVersion records in the log that every server reads entries of
// this format version: the cluster version. What a version adds
// (SetRebalancing and NodeLost in version 2) is rejected until the log
// holds a SetFormatVersion of that version or later, so a leader never
// proposes what a server of the previous release would have to skip. An
// operator proposes it after upgrading every server (admin POST
// /cluster/version); a new cluster includes it in its bootstrap entry. It
// never lowers the version, and a version above FormatVersion is rejected.
type SetFormatVersion struct {
	Version uint64
}

// Type implements Command.
func (SetFormatVersion) Type() CommandType { return TypeSetFormatVersion }

// String formats the command for logs.
func (c SetFormatVersion) String() string { return fmt.Sprintf("set-format-version %d", c.Version) }

// SetRebalancing records in the log whether the leader's planner is part
// way through a rebalance (by bytes, or by counts when no sizes are known)
// and through a rebalance by load: the hysteresis between each trigger and
// its stop band. A new leader resumes exactly what the log says is in
// progress (Coordinator.Resume), rather than guessing. The Scheduler
// proposes it in the entry of the plan that changes the flags (alone when
// that plan has no commands), so a plan and its flag commit together. It
// needs format version 2 (SetFormatVersion).
type SetRebalancing struct {
	Bytes bool
	Load  bool
}

// Type implements Command.
func (SetRebalancing) Type() CommandType { return TypeSetRebalancing }

// String formats the command for logs.
func (c SetRebalancing) String() string {
	return fmt.Sprintf("set-rebalancing bytes=%t load=%t", c.Bytes, c.Load)
}

// flags packs the command into its wire field: bit 0 bytes, bit 1 load.
func (c SetRebalancing) flags() uint64 {
	var f uint64
	if c.Bytes {
		f |= 1
	}
	if c.Load {
		f |= 2
	}
	return f
}

// AddNode registers a data node in state NodeUp.
type AddNode struct {
	Node NodeID
}

// SetNodeState changes a node's state. Setting the state a node already has
// is a successful no-op.
type SetNodeState struct {
	Node  NodeID
	State NodeState
}

// RemoveNode forgets a node. It is rejected while the node owns shards.
type RemoveNode struct {
	Node NodeID
}

// CreateShard adds a shard with epoch 1, for bootstrapping. A zero ID asks
// the registry to assign the next ID; an explicit ID must be at or above the
// next-ID counter, which then moves past it. The range must not overlap an
// existing shard and Node must be up.
type CreateShard struct {
	ID    ShardID
	Range KeyRange
	Node  NodeID
}

// PlaceSplit splits a shard at SplitKey, if it is still at Epoch and the key
// lies strictly inside its range. The shard keeps its ID for [Start,
// SplitKey); [SplitKey, End) becomes a new shard with the registry's next ID
// on the same node. Both parts get epoch Epoch+1.
type PlaceSplit struct {
	Shard    ShardID
	Epoch    uint64
	SplitKey []byte
}

// PlaceMerge merges Right into Left if both are at the given epochs, are
// adjacent (Left's range ends where Right's begins) and are owned by the
// same node. Left keeps its ID, spans both ranges and moves to the next
// epoch; Right is gone.
type PlaceMerge struct {
	Left       ShardID
	LeftEpoch  uint64
	Right      ShardID
	RightEpoch uint64
}

// PlaceTransfer begins moving a shard from node From to node To, if it is
// still on From at Epoch, is not already moving, and To is up. From stays
// the owner (it keeps serving the shard) while the host copies the data;
// the shard's MovingTo becomes To and its epoch grows by one. A
// CompleteTransfer then makes To the owner, or an AbortTransfer cancels
// the move. While a move is in flight the shard is neither split, merged
// nor moved again (ErrShardMoving).
//
// Before the cluster's format version is 3 (SetFormatVersion), a
// PlaceTransfer moves the shard at once, as releases before the two-phase
// transfer did: every replica applies it the same way, whatever its build.
type PlaceTransfer struct {
	Shard ShardID
	Epoch uint64
	From  NodeID
	To    NodeID
}

// Type implements Command.
func (AddNode) Type() CommandType { return TypeAddNode }

// Type implements Command.
func (SetNodeState) Type() CommandType { return TypeSetNodeState }

// Type implements Command.
func (RemoveNode) Type() CommandType { return TypeRemoveNode }

// Type implements Command.
func (CreateShard) Type() CommandType { return TypeCreateShard }

// Type implements Command.
func (PlaceSplit) Type() CommandType { return TypePlaceSplit }

// Type implements Command.
func (PlaceMerge) Type() CommandType { return TypePlaceMerge }

// Type implements Command.
func (PlaceTransfer) Type() CommandType { return TypePlaceTransfer }

// String formats the command for logs and tests.
func (c AddNode) String() string { return fmt.Sprintf("add-node %d", c.Node) }

// String formats the command for logs and tests.
func (c SetNodeState) String() string {
	return fmt.Sprintf("set-node-state %d %s", c.Node, c.State)
}

// String formats the command for logs and tests.
func (c RemoveNode) String() string { return fmt.Sprintf("remove-node %d", c.Node) }

// String formats the command for logs and tests.
func (c CreateShard) String() string {
	return fmt.Sprintf("create-shard %d %s on %d", c.ID, c.Range, c.Node)
}

// String formats the command for logs and tests.
func (c PlaceSplit) String() string {
	return fmt.Sprintf("split %d@%d at %s", c.Shard, c.Epoch, QuoteKey(c.SplitKey))
}

// String formats the command for logs and tests.
func (c PlaceMerge) String() string {
	return fmt.Sprintf("merge %d@%d <- %d@%d", c.Left, c.LeftEpoch, c.Right, c.RightEpoch)
}

// String formats the command for logs and tests.
func (c PlaceTransfer) String() string {
	return fmt.Sprintf("transfer %d@%d %d -> %d", c.Shard, c.Epoch, c.From, c.To)
}

// CompleteTransfer ends a move in flight: the shard's MovingTo becomes its
// owner, if the shard is still at Epoch (the epoch its PlaceTransfer gave
// it). The host proposes it once the new owner holds the data
// (Scheduler.CompleteTransfer). It needs format version 3.
//
// To names the move's destination; it needs format version 4 (0, unnamed,
// is the version 3 form). A completion that names To is idempotent: when
// the shard is not moving at Epoch but To owns it (the completion applied
// before, its answer lost with a change of leader), it applies as a no-op
// and succeeds, so a retry never reads as an abort. It is rejected only
// when To does not own the shard: ErrStaleEpoch or ErrNotMoving then mean
// the copy on To is not the owner's (the move was aborted); a completion
// naming a node other than the move's destination is ErrInvalidCommand.
type CompleteTransfer struct {
	Shard ShardID
	Epoch uint64
	To    NodeID
}

// AbortTransfer cancels a move in flight, if the shard is still at Epoch:
// the owner stays, MovingTo is cleared and the epoch grows by one. The
// leader's Scheduler proposes it for a move in flight longer than
// Policy.MoveTimeout; a host may propose it when a copy fails. It needs
// format version 3.
type AbortTransfer struct {
	Shard ShardID
	Epoch uint64
}

// Type implements Command.
func (CompleteTransfer) Type() CommandType { return TypeCompleteTransfer }

// Type implements Command.
func (AbortTransfer) Type() CommandType { return TypeAbortTransfer }

// String formats the command for logs and tests.
func (c CompleteTransfer) String() string {
	if c.To != 0 {
		return fmt.Sprintf("complete-transfer %d@%d -> %d", c.Shard, c.Epoch, c.To)
	}
	return fmt.Sprintf("complete-transfer %d@%d", c.Shard, c.Epoch)
}

// String formats the command for logs and tests.
func (c AbortTransfer) String() string {
	return fmt.Sprintf("abort-transfer %d@%d", c.Shard, c.Epoch)
}

// SetPause pauses the leader's scheduler, on every server alike, until a
// SetPause with Paused false, or until Until when it is not zero: the
// leader that sees its clock pass Until proposes the end itself
// (Scheduler.Pause takes a TTL and fills Until in). Being in the log, a
// pause survives a change of leader. A SetPause with Paused false ends the
// pause; with Until set too, it ends only the pause that expires at Until
// (ErrStaleEpoch otherwise), which is how the leader ends an expired pause
// without ever ending a newer one. Until must lie between 1970 and 2262
// (ErrInvalidCommand). It needs format version 3.
type SetPause struct {
	Paused bool
	Until  time.Time
}

// SetPolicy replaces the planner's Policy and the Scheduler's
// MaxActionsPerTick on every server: from then on every leader plans with
// them, whatever its own Config says. Policy must pass Validate and
// MaxActionsPerTick be at least 1, or the command is rejected with
// ErrInvalidCommand. It needs format version 3.
type SetPolicy struct {
	Policy            Policy
	MaxActionsPerTick int
}

// Type implements Command.
func (SetPause) Type() CommandType { return TypeSetPause }

// Type implements Command.
func (SetPolicy) Type() CommandType { return TypeSetPolicy }

// String formats the command for logs and tests.
func (c SetPause) String() string {
	switch {
	case !c.Paused:
		return "set-pause off"
	case c.Until.IsZero():
		return "set-pause on"
	}
	return "set-pause on until " + c.Until.UTC().Format(time.RFC3339Nano)
}

// String formats the command for logs and tests.
func (c SetPolicy) String() string {
	return fmt.Sprintf("set-policy max-actions=%d", c.MaxActionsPerTick)
}
