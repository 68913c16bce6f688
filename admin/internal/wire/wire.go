// Package wire holds what the admin server and its client must agree on
// beyond the documented JSON: the machine-readable codes of rejections, the
// bodies of the move routes, and header names. It is internal so that the
// two cannot drift apart and nobody else comes to depend on it.
package wire

import (
	"errors"

	"github.com/ukehi/placement"
)

// Headers the server sets and the client reads.
const (
	// ForwardedBy marks a write a follower forwarded to the leader.
	ForwardedBy = "X-Placement-Forwarded-By"
	// ForwardedTo names, on the answer to a forwarded write, the leader
	// whose answer it is.
	ForwardedTo = "X-Placement-Forwarded-To"
	// LeaderAdmin names, on a 421, the leader's admin URL when known.
	LeaderAdmin = "X-Placement-Leader-Admin"
)

// OutcomeUnknown is the "outcome" of a 503 for a write that may still apply.
const OutcomeUnknown = "unknown"

// Rejection pairs a rejection reason of the registry with its code.
type Rejection struct {
	Code string
	Err  error
}

// Rejections are the registry's reasons, most specific first, each with
// the code an error body carries in "code".
var Rejections = []Rejection{
	{"unknown-shard", placement.ErrUnknownShard},
	{"unknown-node", placement.ErrUnknownNode},
	{"stale-epoch", placement.ErrStaleEpoch},
	{"wrong-owner", placement.ErrWrongOwner},
	{"node-not-up", placement.ErrNodeNotUp},
	{"node-exists", placement.ErrNodeExists},
	{"node-not-empty", placement.ErrNodeNotEmpty},
	{"shard-moving", placement.ErrShardMoving},
	{"not-moving", placement.ErrNotMoving},
	{"shard-exists", placement.ErrShardExists},
	{"overlap", placement.ErrOverlap},
	{"invalid-range", placement.ErrInvalidRange},
	{"bad-split-key", placement.ErrBadSplitKey},
	{"not-adjacent", placement.ErrNotAdjacent},
	{"node-mismatch", placement.ErrNodeMismatch},
	{"format-version", placement.ErrFormatVersion},
	{"invalid-command", placement.ErrInvalidCommand},
}

// RejectedCode is the code of a rejection that matches none of the
// reasons in Rejections.
const RejectedCode = "rejected"

// Code returns the code of a rejection err, "rejected" for one wrapping
// placement.ErrRejected with no reason known here, and "" for an error
// that is no rejection.
func Code(err error) string {
	for _, r := range Rejections {
		if errors.Is(err, r.Err) {
			return r.Code
		}
	}
	if errors.Is(err, placement.ErrRejected) {
		return RejectedCode
	}
	return ""
}

// Rejected returns the sentinel error of code (each wraps
// placement.ErrRejected): placement.ErrRejected itself for "rejected", and
// nil for a code it does not know.
func Rejected(code string) error {
	for _, r := range Rejections {
		if r.Code == code {
			return r.Err
		}
	}
	if code == RejectedCode {
		return placement.ErrRejected
	}
	return nil
}

// Moves is the body of GET /moves.
type Moves struct {
	// Index is the raft index of the map the moves were read from
	// (View.Index): the same on every replica for the same map.
	Index uint64 `json:"index"`
	// Moves are the moves in flight, in shard order.
	Moves []placement.Move `json:"moves"`
	// Leader tells whether the server that answered leads, and
	// LeaderAdmin names the leader's admin URL when it does not and the
	// URL is known.
	Leader      bool   `json:"leader"`
	LeaderAdmin string `json:"leader_admin,omitempty"`
}

// Outcomes of a move's end, in MoveEnded.
const (
	Completed = "completed"
	Aborted   = "aborted"
)

// MoveEnded is the body of a 200 from POST /moves/complete and
// /moves/abort.
type MoveEnded struct {
	Move    placement.Move `json:"move"`
	Outcome string         `json:"outcome"`
}

// Stats is the body of POST /stats: soft figures, recorded by the server
// that receives them only.
type Stats struct {
	Stats []Stat `json:"stats"`
}

// Stat is one shard's figures in Stats.
type Stat struct {
	Shard placement.ShardID `json:"shard"`
	Keys  uint64            `json:"keys"`
	Bytes uint64            `json:"bytes"`
	// Load is an optional rate of work (requests/s or the like); it must
	// be finite and at least zero.
	Load float64 `json:"load"`
	// SplitKey is an optional base64 hint; if given it must lie strictly
	// inside the shard's range.
	SplitKey []byte `json:"split_key"`
}

// Progress is the body of POST /moves/progress: a move in its JSON form
// (began optional, RFC 3339) and the bytes its copy has made so far. Soft,
// like Stats: recorded by the server that receives it only.
type Progress struct {
	Shard  placement.ShardID `json:"shard"`
	Epoch  uint64            `json:"epoch"`
	From   placement.NodeID  `json:"from"`
	To     placement.NodeID  `json:"to"`
	Began  string            `json:"began,omitempty"`
	Copied uint64            `json:"copied"`
}
