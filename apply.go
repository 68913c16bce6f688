package placement

import (
	"context"
	"fmt"
)

// ApplyCommands proposes cmds through n as one log entry (Encode) and
// waits until this server's FSM has applied it, as RaftNode.Apply does. It
// returns one result per command: nil for a command that applied, the
// rejection (wrapping ErrRejected) for one that was applied as a no-op.
//
// The error is for the entry as a whole: raft's (wrapping ErrNotLeader for
// the not-leader family, or the context's error when the outcome is
// unknown; see RaftNode.Apply), the FSM's (an entry it could not decode),
// or a response that is not the FSM's answer to this entry, as when a
// host's own FSM does not route the entry to FSM.ApplyEntryAt. A command
// the wire cannot carry (nil, a value Encode refuses; see CheckProposal)
// is refused with an error wrapping ErrInvalidCommand before anything is
// proposed.
//
// It does not check cmds against the cluster's format version: call
// CheckProposal with the leader's View first, as the Scheduler does.
func ApplyCommands(ctx context.Context, n RaftNode, cmds ...Command) ([]error, error) {
	for _, c := range cmds {
		if err := checkValue(c); err != nil {
			return nil, err
		}
	}
	resp, err := n.Apply(ctx, Encode(cmds...))
	if err != nil {
		return nil, err
	}
	return commandResults(resp, len(cmds))
}

// commandResults turns an FSM's response to an entry of n commands into
// their results.
func commandResults(resp any, n int) ([]error, error) {
	switch r := resp.(type) {
	case []error:
		if len(r) != n {
			return nil, fmt.Errorf("placement: apply: the FSM answered %d results for %d commands", len(r), n)
		}
		return r, nil
	case error:
		return nil, r
	}
	return nil, fmt.Errorf("placement: apply: the response %T is not the FSM's []error (is the entry applied by FSM.ApplyEntryAt?)", resp)
}
