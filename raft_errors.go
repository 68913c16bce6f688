package placement

// WrapRaftError wraps an error returned by hashicorp/raft the way the
// RaftNode adapter does: errors of raft's not-leader family (ErrNotLeader,
// ErrLeadershipLost, ErrLeadershipTransferInProgress, ErrRaftShutdown,
// ErrAbortedByRestore, ErrEnqueueTimeout) then match both ErrNotLeader and
// raft's own error under errors.Is. op names the operation in the message.
// It returns nil for a nil err. Fakes and hosts proposing through raft
// themselves use it to report errors the Scheduler understands.
func WrapRaftError(op string, err error) error {
	if err == nil {
		return nil
	}
	return raftError(op, err)
}
