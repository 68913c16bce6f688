package placement

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

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

var _ RaftNode = (*RaftAdapter)(nil)

// RaftAdapter is the RaftNode over a host's *raft.Raft. It is safe for
// concurrent use. It never touches r.LeaderCh, which belongs to the host, and
// it starts no goroutine of its own except one per Apply or Barrier in
// flight (see Apply).
type RaftAdapter struct {
	r        *raft.Raft
	changes  chan struct{}
	observer *raft.Observer
	closed   atomic.Bool

	// stopped is closed once r has shut down; every future's waiter is
	// released by it (see releaseOnShutdown).
	stopped  chan struct{}
	stop     sync.Once
	shutdown atomic.Bool // stopped is closed
	close    sync.Once
}

// NewRaftNode adapts r, which must not be nil, and registers a raft observer
// that feeds LeadershipChanges and notices when r shuts down. Call Close when
// the adapter is no longer used; r itself is left to the host to shut down.
func NewRaftNode(r *raft.Raft) *RaftAdapter {
	a := &RaftAdapter{r: r, changes: make(chan struct{}, 1), stopped: make(chan struct{})}
	// The filter runs on raft's goroutine under raft's observer lock: it
	// signals without blocking and returns false, so raft queues nothing and
	// no goroutine is needed to drain an observation channel.
	a.observer = raft.NewObserver(nil, false, func(o *raft.Observation) bool {
		state, isState := o.Data.(raft.RaftState)
		if isState && state == raft.Shutdown {
			a.markStopped()
		}
		if _, isLeader := o.Data.(raft.LeaderObservation); (isState || isLeader) && !a.closed.Load() {
			select {
			case a.changes <- struct{}{}:
			default: // a signal is already pending; coalesce.
			}
		}
		return false
	})
	r.RegisterObserver(a.observer)
	if r.State() == raft.Shutdown { // shut down before the observer was in place
		a.markStopped()
	}
	return a
}

func (a *RaftAdapter) markStopped() {
	a.stop.Do(func() {
		close(a.stopped)
		a.shutdown.Store(true)
	})
}

// Close stops LeadershipChanges: the channel receives nothing more. It is
// not closed, since a closed channel would look like an endless stream of
// changes to a receiver. Leader, Barrier and Apply keep working. The observer
// stays registered until r shuts down, so that waiters still in flight are
// released then (see Apply); Close deregisters it when r has already shut
// down. Close is idempotent and safe to call concurrently.
func (a *RaftAdapter) Close() {
	a.close.Do(func() {
		a.closed.Store(true)
		if a.shutdown.Load() || a.r.State() == raft.Shutdown {
			a.markStopped()
			a.r.DeregisterObserver(a.observer)
		}
	})
}

// Leader reports whether r is the leader and its current term. The two are
// read separately, so they may straddle a change; the change is then also
// signalled on LeadershipChanges.
func (a *RaftAdapter) Leader() (isLeader bool, term uint64) {
	return a.r.State() == raft.Leader, a.r.CurrentTerm()
}

// LeadershipChanges returns a channel of capacity 1 that receives a value
// after raft's state (follower, candidate, leader, shutdown) or its known
// leader changes. Values are coalesced; a receiver re-reads Leader.
func (a *RaftAdapter) LeadershipChanges() <-chan struct{} { return a.changes }

// Barrier waits until every entry committed before it has been applied to the
// local FSM. It fails with an error wrapping ErrNotLeader on a follower; ctx
// ends the wait as described for Apply.
func (a *RaftAdapter) Barrier(ctx context.Context) error {
	_, err := a.await(ctx, "barrier", func(timeout time.Duration) raft.Future {
		return a.r.Barrier(timeout)
	})
	return err
}

// Apply proposes entry and waits until the local FSM has applied it,
// returning the FSM's response. A response that is an error is returned as
// the error: that is how the FSM reports a failure.
//
// Raft's futures cannot be cancelled, so the proposal and the wait run in a
// goroutine and Apply returns when ctx ends, with an error wrapping ctx.Err()
// that means "outcome unknown": the entry may still be committed. That
// goroutine ends when raft resolves the future, which it does on commit and
// on losing leadership, or when raft shuts down: raft v1.8.0 never resolves
// an entry that was committed but still queued for the FSM at shutdown
// (hashicorp/raft#498), so the adapter points the future's own shutdown
// channel at one it closes when it observes the shutdown, and the wait ends
// with ErrRaftShutdown. Raft is given ctx's deadline as its enqueue timeout,
// so a deadline also bounds the proposal itself.
func (a *RaftAdapter) Apply(ctx context.Context, entry []byte) (any, error) {
	f, err := a.await(ctx, "apply", func(timeout time.Duration) raft.Future {
		return a.r.Apply(entry, timeout)
	})
	if err != nil {
		return nil, err
	}
	resp := f.(raft.ApplyFuture).Response()
	if fsmErr, ok := resp.(error); ok {
		return nil, fsmErr
	}
	return resp, nil
}

// await starts an operation with an enqueue timeout taken from ctx's deadline
// and waits for its future or for ctx, whichever comes first.
func (a *RaftAdapter) await(ctx context.Context, op string, start func(time.Duration) raft.Future) (raft.Future, error) {
	if err := ctx.Err(); err != nil {
		// Nothing was proposed, so here the outcome is known; the error is
		// the same as when ctx ends later, for one code path in the caller.
		return nil, fmt.Errorf("placement: %s: %w", op, err)
	}
	var timeout time.Duration // 0: raft waits as long as it takes to enqueue.
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), time.Nanosecond)
	}
	var (
		future raft.Future
		err    error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		future = start(timeout)
		releaseOnShutdown(future, a.stopped)
		err = future.Error()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done: // resolved meanwhile: a known outcome beats an unknown one.
		default:
			return nil, fmt.Errorf("placement: %s: outcome unknown: %w", op, ctx.Err())
		}
	}
	if err != nil {
		return nil, raftError(op, err)
	}
	return future, nil
}

// releaseOnShutdown makes f's Error return ErrRaftShutdown once stopped is
// closed, and reports whether it could. Raft's futures embed an exported
// ShutdownCh that Error selects on, but raft sets it only on the futures of
// its own snapshots; Apply and Barrier futures wait on their answer alone,
// which never comes for an entry queued for the FSM when raft shuts down
// (hashicorp/raft#498). The field is set before Error is called, from the
// goroutine that calls it, and raft never reads it elsewhere. A future of
// another shape (an errorFuture, already resolved) is left alone; a test
// checks that Apply and Barrier futures keep the field.
func releaseOnShutdown(f raft.Future, stopped chan struct{}) bool {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	field := v.Elem().FieldByName("ShutdownCh")
	if !field.IsValid() || !field.CanSet() || field.Type() != reflect.TypeOf(stopped) {
		return false
	}
	if field.IsNil() {
		field.Set(reflect.ValueOf(stopped))
	}
	return true
}

// raftError wraps err from raft, adding ErrNotLeader for raft's not-leader
// family so callers need test only our sentinel.
func raftError(op string, err error) error {
	for _, target := range notLeaderFamily {
		if errors.Is(err, target) {
			return &notLeaderError{op: op, err: err}
		}
	}
	return fmt.Errorf("placement: %s: %w", op, err)
}

// notLeaderFamily lists raft's errors meaning "propose on the leader, or
// later": the proposal was refused, aborted or left in doubt by a change of
// leadership, a shutdown, a restore, or a main loop too busy to take it.
var notLeaderFamily = []error{
	raft.ErrNotLeader,
	raft.ErrLeadershipLost,
	raft.ErrLeadershipTransferInProgress,
	raft.ErrRaftShutdown,
	raft.ErrAbortedByRestore,
	raft.ErrEnqueueTimeout,
}

// notLeaderError matches both ErrNotLeader and raft's own error, so a caller
// can test the broad class or the exact cause (ErrLeadershipLost: in doubt).
type notLeaderError struct {
	op  string
	err error
}

func (e *notLeaderError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrNotLeader, e.op, e.err)
}

func (e *notLeaderError) Unwrap() []error { return []error{ErrNotLeader, e.err} }

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
