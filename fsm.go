package placement

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
)

// FSM is a raft.FSM over a ShardRegistry. Apply decodes an entry made by
// Encode and applies its commands in order; Snapshot captures the registry
// in O(1) and Persist streams it; Restore replaces the registry's state,
// next-ID counter included.
//
// A host with its own FSM can instead route entries for which IsEntry holds
// to ApplyEntry, and include Snapshot/Restore output in its own snapshots.
type FSM struct {
	reg     *ShardRegistry
	onApply func(index uint64, cmd Command)
}

var _ raft.FSM = (*FSM)(nil)

// FSMOption configures an FSM.
type FSMOption func(*FSM)

// WithApplyFunc registers fn to be told of every command the FSM applies
// (not of rejected ones), with the raft log index of its entry, on raft's
// apply goroutine. A host uses it to act on placement changes, such as
// moving a transferred shard's data. fn must not block for long and must
// not call back into raft.
func WithApplyFunc(fn func(index uint64, cmd Command)) FSMOption {
	return func(f *FSM) { f.onApply = fn }
}

// NewFSM returns an FSM that applies committed entries to reg.
func NewFSM(reg *ShardRegistry, opts ...FSMOption) *FSM {
	f := &FSM{reg: reg}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Registry returns the registry the FSM applies to.
func (f *FSM) Registry() *ShardRegistry { return f.reg }

// Apply implements raft.FSM. It returns ApplyEntryAt's result, with the
// entry's AppendedAt as its time.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyEntryAt(l.Index, l.AppendedAt, l.Data)
}

// ApplyEntry applies one entry made by Encode. It returns a []error with one
// element per command, nil for a command that applied and the rejection
// reason (wrapping ErrRejected) for one that did not; or, for an entry that
// does not decode, an error wrapping ErrCorruptCommand, having applied
// nothing. An entry of a format version newer than this build reads
// (ErrNewerFormat) is the one exception: it panics, stopping this replica
// loudly rather than letting its map fall behind the others'. Upgrade
// every server before using what a new format adds.
func (f *FSM) ApplyEntry(index uint64, entry []byte) any {
	return f.ApplyEntryAt(index, time.Time{}, entry)
}

// ApplyEntryAt is ApplyEntry for an entry appended to the log at the given
// time: raft's Log.AppendedAt, which the leader sets and every replica
// stores, so all apply it alike. A move's begin time comes from it (see
// ShardRegistry.ApplyAt), so that a new leader measures
// Policy.MoveTimeout from the same instant as the old one. A host with its
// own FSM passes l.AppendedAt.
func (f *FSM) ApplyEntryAt(index uint64, at time.Time, entry []byte) any {
	cmds, err := Decode(entry)
	if errors.Is(err, ErrNewerFormat) {
		// Skipping it would leave this replica's map behind the others'
		// for good. Stop, as etcd and CockroachDB do on entries they
		// cannot apply: the fix is to upgrade this server.
		panic(fmt.Sprintf("placement: log entry %d: %v: upgrade this server before it applies more of the log", index, err))
	}
	if err != nil {
		return err
	}
	results := make([]error, len(cmds))
	for i, c := range cmds {
		results[i] = f.reg.ApplyAt(c, at)
		if results[i] == nil && f.onApply != nil {
			f.onApply(index, c)
		}
	}
	return results
}

// Snapshot implements raft.FSM. It takes a View of the registry in O(1);
// Persist does the work, off the apply goroutine.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{view: f.reg.View()}, nil
}

// Restore implements raft.FSM: it replaces the registry's whole state with
// the snapshot's, or returns an error wrapping ErrCorruptSnapshot and leaves
// the registry unchanged. Soft stats are not in snapshots and start empty.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.reg.ReadSnapshot(rc)
}

type fsmSnapshot struct{ view View }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.view.WriteSnapshot(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
