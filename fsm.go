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
// to ApplyEntryAt, write View.WriteSnapshot's output into its own
// snapshots, and read it back with RestoreFrom.
type FSM struct {
	reg       *ShardRegistry
	onApply   func(index uint64, cmd Command)
	onEffect  func(index uint64, e Effect)
	onRestore func(prev, next View)
}

var _ raft.FSM = (*FSM)(nil)

// FSMOption configures an FSM.
type FSMOption func(*FSM)

// WithApplyFunc registers fn to be told of every command the FSM applies
// (not of rejected ones), with the raft log index of its entry, on raft's
// apply goroutine. A host uses it to act on placement changes, such as
// moving a transferred shard's data. fn must not block for long and must
// not call back into raft.
//
// Changes that arrive by Restore (a snapshot installed from the leader, or
// read at start-up) are not commands and do not reach fn: a host that acts
// on changes also needs WithRestoreFunc.
func WithApplyFunc(fn func(index uint64, cmd Command)) FSMOption {
	return func(f *FSM) { f.onApply = fn }
}

// Effect is an applied command with what it did that the command itself
// does not say, as WithEffectFunc reports it.
type Effect struct {
	// Command is the command applied.
	Command Command
	// NewShard is the ID of the shard the command created: for a
	// PlaceSplit the right half's (the left half keeps the split shard's
	// ID), for a CreateShard its ID, the registry's next ID when the
	// command had none. 0 for every other command.
	NewShard ShardID
	// Aborted are the moves a SetNodeState aborted: those into a node that
	// left the up state (it takes no more data), and from format version 4
	// those out of a node declared lost (its data is gone), so the host
	// stops their copies. Empty for every other command.
	Aborted []Move
}

// WithEffectFunc registers fn to be told of every command the FSM applies
// (not of rejected ones) with its Effect, with the raft log index of its
// entry, on raft's apply goroutine, after the function of WithApplyFunc if
// both are set. Like WithApplyFunc it is not called for changes that
// arrive by Restore (see WithRestoreFunc), and fn must not block for long
// and must not call back into raft. For a PlaceSplit, and a CreateShard
// without an ID, the FSM reads the registry's next ID from a View taken
// before applying the command (so that command's write copies the tree
// nodes it touches, as any write after a View does); so does a SetNodeState
// taking a node out of the up state while moves are in flight, to list the
// moves it aborts. Other commands cost nothing more.
func WithEffectFunc(fn func(index uint64, e Effect)) FSMOption {
	return func(f *FSM) { f.onEffect = fn }
}

// WithRestoreFunc registers fn to be called after every successful Restore
// (a snapshot installed from the leader, or the latest local snapshot read
// when raft restarts), with the registry's View before the restore and
// after it, on raft's goroutine that calls Restore. No command reaches
// WithApplyFunc or WithEffectFunc for the changes a snapshot brings, so a
// host that acts on placement changes reconciles here, typically by
// ranging over Diff(prev, next). A failed Restore changes nothing and does
// not call fn. fn must not block for long and must not call back into
// raft.
//
// A host with its own FSM restores our section with RestoreFrom, which
// calls fn as Restore does.
func WithRestoreFunc(fn func(prev, next View)) FSMOption {
	return func(f *FSM) { f.onRestore = fn }
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
	// The index advances whether or not the entry changes the map, so
	// that a waiter on it (ShardRegistry.Await) sees the log move on.
	defer f.reg.applied(index)
	if err != nil {
		return err
	}
	results := make([]error, len(cmds))
	for i, c := range cmds {
		var e Effect
		if f.onEffect != nil {
			e = f.effect(c)
		}
		results[i] = f.reg.ApplyAt(c, at)
		if results[i] != nil {
			continue
		}
		if f.onApply != nil {
			f.onApply(index, c)
		}
		if f.onEffect != nil {
			f.onEffect(index, e)
		}
	}
	return results
}

// effect returns the Effect c will have if it applies, from the registry
// as it is before c: a split's right half, and a CreateShard without an
// ID, take the next-ID counter.
func (f *FSM) effect(c Command) Effect {
	e := Effect{Command: c}
	switch c := c.(type) {
	case PlaceSplit:
		e.NewShard = f.reg.View().NextShardID()
	case CreateShard:
		e.NewShard = c.ID
		if c.ID == 0 {
			e.NewShard = f.reg.View().NextShardID()
		}
	case SetNodeState:
		if c.State == NodeUp {
			break
		}
		v := f.reg.View()
		if v.MoveCount() == 0 {
			break
		}
		n, ok := v.Node(c.Node)
		if !ok || n.State == c.State {
			break
		}
		// Only an up node has moves into it; only a lost one loses the
		// moves out of it (format version 4).
		in := n.State == NodeUp
		out := c.State == NodeLost && v.FormatVersion() >= versionDest
		if !in && !out {
			break
		}
		for m := range v.Moves() {
			if (in && m.To == c.Node) || (out && m.From == c.Node) {
				e.Aborted = append(e.Aborted, m)
			}
		}
	}
	return e
}

// Snapshot implements raft.FSM. It takes a View of the registry in O(1);
// Persist does the work, off the apply goroutine.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{view: f.reg.View()}, nil
}

// Restore implements raft.FSM: it replaces the registry's whole state with
// the snapshot's (RestoreFrom), or returns an error wrapping
// ErrCorruptSnapshot and leaves the registry unchanged. Soft stats are not
// in snapshots and start empty. On success it calls the function of
// WithRestoreFunc, if any.
//
// Raft hands rc to the FSM, which owns it from then on: Restore closes
// it, whether or not the restore succeeds.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.RestoreFrom(rc)
}

// RestoreFrom is Restore for a host whose own FSM keeps our section in its
// snapshots: it reads a snapshot written by View.WriteSnapshot from r,
// replaces the registry's state with it (or returns an error and leaves
// the registry unchanged, as ShardRegistry.ReadSnapshot does), and on
// success calls the function of WithRestoreFunc with the Views before and
// after. It does not close r.
//
// When the snapshot is self-delimiting (View.SnapshotSelfDelimiting: from
// format version 3 on), RestoreFrom reads exactly its bytes and leaves
// what follows, the host's own state say, in r. An older snapshot is read
// to the end of r: a host that writes after one frames it (see
// View.WriteSnapshot) and passes RestoreFrom a reader limited to it.
func (f *FSM) RestoreFrom(r io.Reader) error {
	if f.onRestore == nil {
		return f.reg.ReadSnapshot(r)
	}
	prev := f.reg.View()
	if err := f.reg.ReadSnapshot(r); err != nil {
		return err
	}
	f.onRestore(prev, f.reg.View())
	return nil
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
