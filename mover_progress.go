package placement

import (
	"context"
	"maps"
	"slices"
	"sync/atomic"
)

// CopyState is where a Mover's copy of a move stands.
type CopyState int

// The states of a copy, as Mover.Copies reports them.
const (
	// CopyQueued waits for one of MoverConfig.Concurrency slots.
	CopyQueued CopyState = iota
	// CopyRunning is in MoverConfig.Copy.
	CopyRunning
	// CopyRetrying waits out a backoff after a failed attempt.
	CopyRetrying
	// CopyDone has copied and completed or aborted the move (or is
	// proposing that), and waits for it to leave the map.
	CopyDone
)

var copyStateNames = [...]string{"queued", "running", "retrying", "done"}

// String returns "queued", "running", "retrying" or "done".
func (s CopyState) String() string {
	if s < 0 || int(s) >= len(copyStateNames) {
		return "unknown"
	}
	return copyStateNames[s]
}

// Copy is a Mover's copy of one move, as Mover.Copies reports it.
type Copy struct {
	Move  Move
	State CopyState
	// Attempts is how many times MoverConfig.Copy was called for it.
	Attempts int
	// Copied is the last count of bytes ReportCopied reported.
	Copied uint64
}

// moveTask is the Mover's state of one move.
type moveTask struct {
	move     Move
	cancel   context.CancelFunc
	state    atomic.Int64
	attempts atomic.Int64
	copied   atomic.Uint64
}

func (t *moveTask) setState(s CopyState) { t.state.Store(int64(s)) }

// Copies returns the copies the Mover is working on or has finished with
// moves still in the map, in shard order.
func (mv *Mover) Copies() []Copy {
	mv.mu.Lock()
	tasks := slices.Collect(maps.Values(mv.tasks))
	mv.mu.Unlock()
	out := make([]Copy, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, Copy{
			Move:     t.move,
			State:    CopyState(t.state.Load()),
			Attempts: int(t.attempts.Load()),
			Copied:   t.copied.Load(),
		})
	}
	slices.SortFunc(out, func(a, b Copy) int {
		if a.Move.Shard != b.Move.Shard {
			return cmpOrder(a.Move.Shard, b.Move.Shard)
		}
		return cmpOrder(a.Move.Epoch, b.Move.Epoch)
	})
	return out
}

func cmpOrder[T ~uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// progressKey keys a copy's progress in the context MoverConfig.Copy gets.
type progressKey struct{}

type progress struct {
	t  *moveTask
	mv *Mover
}

// ReportCopied records that the copy whose context ctx is (the one a
// Mover passed to MoverConfig.Copy) has copied bytes so far. The Mover
// shows it in Copies and passes it to MoverConfig.OnProgress. With any
// other context it does nothing.
func ReportCopied(ctx context.Context, bytes uint64) {
	p, ok := ctx.Value(progressKey{}).(*progress)
	if !ok {
		return
	}
	p.t.copied.Store(bytes)
	if p.mv.cfg.OnProgress != nil {
		p.mv.cfg.OnProgress(p.t.move, bytes)
	}
}

// startHandle runs run on a new goroutine and returns its Handle.
func startHandle(run func(context.Context) error) *Handle {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handle{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = run(ctx)
	}()
	return h
}
