package placement

import "context"

// Completer ends moves: it proposes a move's CompleteTransfer or
// AbortTransfer to the leader and reports the outcome, with the errors
// Scheduler.CompleteTransfer documents (nil: done; an error wrapping
// ErrRejected: a definite no; anything else: unknown, retry). The
// Scheduler is one, for a data node that is also a raft server; the admin
// API's client (package admin/client) is one for a data node that is not.
type Completer interface {
	CompleteTransfer(ctx context.Context, m Move) error
	AbortTransfer(ctx context.Context, m Move) error
}

// MoveSource tells a Mover which moves are in flight. WatchMoves returns
// them with a token; called with token 0 it answers at once, and with the
// token of its last answer it waits until there may be something new (or
// until ctx ends, returning ctx's error). It may answer early with
// nothing new: the Mover compares, it does not assume. A ShardRegistry is
// one (the local map of a raft server); the admin client is another (the
// leader's map over the network, GET /moves long-polled).
type MoveSource interface {
	WatchMoves(ctx context.Context, token uint64) (moves []Move, next uint64, err error)
}

var (
	_ Completer  = (*Scheduler)(nil)
	_ MoveSource = (*ShardRegistry)(nil)
)
