package placement

import "context"

// RaftNode is what the Scheduler needs from the host's raft server. NewRaftNode
// adapts a *raft.Raft; tests use the fake in package placementtest.
type RaftNode interface {
	// Leader reports whether this server is the leader, and the current
	// term. The Scheduler issues a barrier before planning in a new term.
	Leader() (isLeader bool, term uint64)

	// LeadershipChanges returns a channel that receives a value, coalesced
	// and without blocking the sender, after leadership may have changed,
	// so the Scheduler can tick at once instead of at its next interval.
	LeadershipChanges() <-chan struct{}

	// Barrier returns once every entry committed before it has been applied
	// to the local FSM, or with an error when ctx ends first or this server
	// loses leadership (then the error wraps ErrNotLeader).
	Barrier(ctx context.Context) error

	// Apply proposes one log entry and waits until it is applied, returning
	// the FSM's response, or an error when ctx ends first or the entry
	// could not be committed. Errors of raft's not-leader family wrap
	// ErrNotLeader; an entry whose fate is unknown (ErrLeadershipLost, a
	// context deadline) may still be applied later.
	Apply(ctx context.Context, entry []byte) (response any, err error)
}
