// Package placementtest provides test doubles for code that embeds package
// placement: a fake RaftNode that commits entries at once, and (in
// cluster.go) a harness of real raft servers over the in-memory transport.
package placementtest

import (
	"context"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
)

// FakeRaft is a placement.RaftNode that needs no raft: Apply hands the entry
// at once to an apply function (usually an FSM's ApplyEntry) when the fake is
// leader. Leadership is switched by the test; any Apply can be made to fail
// with a raft error. It records every entry it was asked to apply. It is
// safe for concurrent use.
type FakeRaft struct {
	mu       sync.Mutex
	apply    func(index uint64, entry []byte) any
	leader   bool
	term     uint64
	index    uint64
	entries  [][]byte
	barriers []uint64 // term of each barrier
	calls    int      // Apply calls so far
	failures map[int]failure
	changes  chan struct{}
	held     chan struct{} // while non-nil, Apply waits for it to close
}

type failure struct {
	err     error
	applied bool
}

var _ placement.RaftNode = (*FakeRaft)(nil)

// NewFakeRaft returns a follower that applies committed entries with apply,
// for instance placement.NewFSM(reg).ApplyEntry.
func NewFakeRaft(apply func(index uint64, entry []byte) any) *FakeRaft {
	return &FakeRaft{apply: apply, failures: map[int]failure{}, changes: make(chan struct{}, 1)}
}

// SetLeader makes the fake leader (in a new term) or a follower, and signals
// LeadershipChanges.
func (f *FakeRaft) SetLeader(leader bool) {
	f.mu.Lock()
	if leader && !f.leader {
		f.term++
	}
	f.leader = leader
	f.mu.Unlock()
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

// FailApply makes the k-th Apply call from now (k ≥ 1) return err, wrapped
// as the raft adapter wraps raft's errors. If applied is true the entry is
// applied first, as when raft commits an entry whose leader then lost
// leadership before answering (ErrLeadershipLost leaves the outcome in
// doubt).
func (f *FakeRaft) FailApply(k int, err error, applied bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[f.calls+k] = failure{err: err, applied: applied}
}

// HoldApplies makes every Apply call wait, without applying, until the
// returned release function is called or the call's context ends (then
// Apply returns the context's error, as the raft adapter does when an
// outcome is unknown). Release is idempotent.
func (f *FakeRaft) HoldApplies() (release func()) {
	held := make(chan struct{})
	f.mu.Lock()
	f.held = held
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.held = nil
			f.mu.Unlock()
			close(held)
		})
	}
}

// Entries returns the entries applied so far, in order.
func (f *FakeRaft) Entries() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.entries...)
}

// Barriers returns the term of every successful Barrier call, in order.
func (f *FakeRaft) Barriers() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.barriers...)
}

// Leader implements placement.RaftNode.
func (f *FakeRaft) Leader() (bool, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader, f.term
}

// LeadershipChanges implements placement.RaftNode.
func (f *FakeRaft) LeadershipChanges() <-chan struct{} { return f.changes }

// Barrier implements placement.RaftNode: it succeeds at once on the leader.
func (f *FakeRaft) Barrier(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.leader {
		return placement.WrapRaftError("barrier", raft.ErrNotLeader)
	}
	f.barriers = append(f.barriers, f.term)
	return nil
}

// Apply implements placement.RaftNode: on the leader it applies the entry at
// once and returns the apply function's result.
func (f *FakeRaft) Apply(ctx context.Context, entry []byte) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	held := f.held
	f.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	fail, failing := f.failures[f.calls]
	delete(f.failures, f.calls)
	if !f.leader {
		return nil, placement.WrapRaftError("apply", raft.ErrNotLeader)
	}
	if failing && !fail.applied {
		return nil, placement.WrapRaftError("apply", fail.err)
	}
	f.index++
	f.entries = append(f.entries, append([]byte(nil), entry...))
	resp := f.apply(f.index, entry)
	if failing {
		return nil, placement.WrapRaftError("apply", fail.err)
	}
	if err, ok := resp.(error); ok {
		return nil, err
	}
	return resp, nil
}
