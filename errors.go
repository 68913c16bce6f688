package placement

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (and,
// where raft produced the failure, raft's own error too), so callers test
// them with errors.Is.
var (
	// ErrNotLeader is returned when a proposal fails because this server is
	// not, or is no longer, the raft leader. It wraps raft's not-leader
	// family: ErrNotLeader, ErrLeadershipLost,
	// ErrLeadershipTransferInProgress, ErrRaftShutdown, ErrAbortedByRestore
	// and ErrEnqueueTimeout.
	ErrNotLeader = errors.New("placement: not the leader")

	// ErrRejected is wrapped by every error ShardRegistry.Apply returns: the
	// command did not fit the current placement map and was applied as a
	// no-op. The more specific reasons below wrap it.
	ErrRejected = errors.New("placement: command rejected")

	// ErrCorruptCommand is returned by Decode for input that is not a
	// well-formed log entry of this package.
	ErrCorruptCommand = errors.New("placement: corrupt command")

	// ErrInvalidConfig is returned by Config.Validate and Policy.Validate,
	// naming the offending field.
	ErrInvalidConfig = errors.New("placement: invalid config")

	// ErrCorruptSnapshot is returned when restoring a snapshot that is
	// truncated, has a bad checksum or an unknown version.
	ErrCorruptSnapshot = errors.New("placement: corrupt snapshot")

	// ErrNewerFormat is returned by Decode, with ErrCorruptCommand, for an
	// entry of a format version newer than this build reads: a newer
	// release wrote it. The FSM does not skip such an entry (replicas
	// would diverge); it stops.
	ErrNewerFormat = errors.New("placement: entry from a newer release")

	// ErrInvalidStats is returned by ReportStats for figures it cannot
	// plan with, such as a negative or NaN load.
	ErrInvalidStats = errors.New("placement: invalid stats")
)

// Rejection reasons. Each wraps ErrRejected.
var (
	// ErrUnknownShard: the command names a shard the registry does not hold.
	ErrUnknownShard = rejection("unknown shard")
	// ErrUnknownNode: the command names a node the registry does not hold.
	ErrUnknownNode = rejection("unknown node")
	// ErrStaleEpoch: the shard changed since the command was planned.
	ErrStaleEpoch = rejection("stale epoch")
	// ErrWrongOwner: a transfer's From is not the shard's current node.
	ErrWrongOwner = rejection("shard not on the source node")
	// ErrNodeNotUp: the command needs an up node (a transfer's target, a new
	// shard's owner).
	ErrNodeNotUp = rejection("node not up")
	// ErrNodeExists: AddNode for a node the registry already holds.
	ErrNodeExists = rejection("node already exists")
	// ErrNodeNotEmpty: RemoveNode for a node that still owns shards, or
	// that shards are moving into.
	ErrNodeNotEmpty = rejection("node still owns shards")
	// ErrShardMoving: a split, merge or transfer of a shard with a move in
	// flight (PlaceTransfer until CompleteTransfer or AbortTransfer).
	ErrShardMoving = rejection("shard is moving")
	// ErrNotMoving: a CompleteTransfer or AbortTransfer for a shard with no
	// move in flight.
	ErrNotMoving = rejection("shard is not moving")
	// ErrShardExists: CreateShard with an ID already in use or used before.
	ErrShardExists = rejection("shard ID in use")
	// ErrOverlap: CreateShard with a range that overlaps an existing shard.
	ErrOverlap = rejection("range overlaps an existing shard")
	// ErrInvalidRange: a range whose Start is not below its End.
	ErrInvalidRange = rejection("invalid range")
	// ErrBadSplitKey: a split key that is not strictly inside the range.
	ErrBadSplitKey = rejection("split key not strictly inside the range")
	// ErrNotAdjacent: a merge of shards whose ranges do not touch
	// (left.End == right.Start).
	ErrNotAdjacent = rejection("shards not adjacent")
	// ErrNodeMismatch: a merge of shards owned by different nodes.
	ErrNodeMismatch = rejection("shards on different nodes")
	// ErrFormatVersion: a command that needs a newer cluster format version
	// than the log has enabled (see SetFormatVersion), or a
	// SetFormatVersion that would lower it or exceed this build's.
	ErrFormatVersion = rejection("format version not enabled")
	// ErrInvalidCommand: a command with a zero ID, an unknown node state, or
	// a transfer to the node it is already on.
	ErrInvalidCommand = rejection("invalid command")
)

func rejection(reason string) error {
	return fmt.Errorf("%w: %s", ErrRejected, reason)
}
