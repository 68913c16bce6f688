package placement

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ErrAbortMove, wrapped by the error a Mover's copy function returns, says
// the copy will never succeed: the Mover aborts the move at once instead
// of retrying it.
var ErrAbortMove = errors.New("placement: abort the move")

// MoverConfig configures a Mover. Node, Source, Completer and Copy are
// required.
type MoverConfig struct {
	// Node is the data node this Mover copies for.
	Node NodeID
	// Source tells which moves are in flight: the local ShardRegistry on a
	// raft server, or the admin API's client on a data node that is not
	// one.
	Source MoveSource
	// Completer ends the moves. Completions are proposed by the leader:
	// on a data node that is not the leader, use the admin API's client,
	// which reaches the leader from any server. The local Scheduler suits
	// a Mover that runs where the leader is (its proposals on a follower
	// fail with ErrNotLeader, which the Mover retries until this server
	// leads or the move leaves the map).
	Completer Completer
	// Copy copies move m's shard: by default (Select) into Node, from
	// m.From, which keeps serving it. It returns nil once the copy on m.To
	// is whole, so that the Mover may complete the move. It must stop when
	// ctx ends: the move left the map (aborted, completed elsewhere,
	// restarted at a new epoch) or the Mover is stopping. It may be called
	// again for the same move after an error or a restart, so it resumes
	// or starts over on a partial copy. An error wrapping ErrAbortMove
	// aborts the move; any other is retried after a backoff. ReportCopied
	// reports its progress.
	Copy func(ctx context.Context, m Move) error
	// Select picks the moves this Mover performs; nil picks those into
	// Node (m.To == Node).
	Select func(m Move) bool
	// Concurrency is how many copies run at once; 0 means 2.
	Concurrency int
	// MaxAttempts is how many times a copy is tried before the move is
	// aborted; 0 means until the move leaves the map (the leader aborts it
	// after Policy.MoveTimeout).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before a retry, which
	// doubles from MinBackoff on each failure; 0 means 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// WatchWait bounds one Source.WatchMoves call; 0 means 30s. A Source
	// that may miss a change (a network one whose long poll is cut short)
	// is asked again at least this often.
	WatchWait time.Duration
	// Done, if not nil, is called once for each move the Mover took up,
	// when it is done with it: err is nil when the move completed, wraps
	// ErrAbortMove when this Mover aborted it, is the Completer's
	// rejection (ErrStaleEpoch, ErrNotMoving, ErrUnknownShard: the copy on
	// m.To is not the shard's data, unless a newer move of the shard into
	// it is in flight) or context.Canceled when the move left the map
	// before its copy was done, or with the outcome of its end unknown, or
	// the Mover stopped first. It runs on the copy's goroutine.
	Done func(m Move, err error)
	// OnProgress, if not nil, is called with each ReportCopied.
	OnProgress func(m Move, copied uint64)
	// Logger receives the Mover's logs; nil means none.
	Logger *zap.Logger
}

// Mover is the data node's side of a move, level-triggered: it watches the
// moves in flight (MoveSource), copies each one this node must perform
// (MoverConfig.Copy) with bounded concurrency, retries failed copies with
// backoff, and completes or aborts the move through a Completer, retrying
// while the outcome is unknown. It keys each copy by the move's shard,
// epoch and nodes: a move that leaves the map (aborted, completed
// elsewhere) or begins again at a new epoch cancels the old copy's
// context. It holds nothing it cannot learn again from the map, so it
// survives leader changes and restarts of its process: a move still in
// flight is copied again.
type Mover struct {
	cfg MoverConfig
	log *zap.Logger
	sem chan struct{}

	mu    sync.Mutex
	tasks map[moveKey]*moveTask
	wg    sync.WaitGroup
}

// moveKey names one attempt of a move: a new epoch is a new attempt.
type moveKey struct {
	shard    ShardID
	epoch    uint64
	from, to NodeID
}

func keyOf(m Move) moveKey { return moveKey{m.Shard, m.Epoch, m.From, m.To} }

// NewMover checks cfg and returns a Mover; Run or Start runs it.
func NewMover(cfg MoverConfig) (*Mover, error) {
	switch {
	case cfg.Node == 0:
		return nil, errors.New("placement: MoverConfig.Node must be a node ID, not 0")
	case cfg.Source == nil:
		return nil, errors.New("placement: MoverConfig.Source is required")
	case cfg.Completer == nil:
		return nil, errors.New("placement: MoverConfig.Completer is required")
	case cfg.Copy == nil:
		return nil, errors.New("placement: MoverConfig.Copy is required")
	case cfg.Concurrency < 0 || cfg.MaxAttempts < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.WatchWait < 0:
		return nil, errors.New("placement: MoverConfig: Concurrency, MaxAttempts, MinBackoff, MaxBackoff and WatchWait must not be negative")
	}
	if cfg.Select == nil {
		node := cfg.Node
		cfg.Select = func(m Move) bool { return m.To == node }
	}
	cfg.Concurrency = cmp0(cfg.Concurrency, 2)
	cfg.MinBackoff = cmp0(cfg.MinBackoff, 100*time.Millisecond)
	cfg.MaxBackoff = max(cmp0(cfg.MaxBackoff, 30*time.Second), cfg.MinBackoff)
	cfg.WatchWait = cmp0(cfg.WatchWait, 30*time.Second)
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Mover{
		cfg:   cfg,
		log:   log.With(zap.Uint64("data_node", uint64(cfg.Node))),
		sem:   make(chan struct{}, cfg.Concurrency),
		tasks: map[moveKey]*moveTask{},
	}, nil
}

// cmp0 is v, or def when v is zero.
func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Start runs Run on a new goroutine and returns its Handle.
func (mv *Mover) Start() *Handle { return startHandle(mv.Run) }

// Run watches the moves until ctx ends, then cancels every copy, waits for
// them to return, and returns nil. Errors of the Source are logged and
// retried after a backoff.
func (mv *Mover) Run(ctx context.Context) error {
	defer mv.stopAll()
	var token uint64
	failures := 0
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, mv.cfg.WatchWait)
		moves, next, err := mv.cfg.Source.WatchMoves(wctx, token)
		timedOut := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && timedOut:
			continue // the wait ended with nothing new: ask again
		case err != nil:
			failures++
			mv.log.Warn("watching moves failed; retrying", zap.Error(err), zap.Int("failures", failures))
			token = 0
			if !sleepCtx(ctx, mv.backoff(failures)) {
				return nil
			}
			continue
		}
		failures = 0
		token = next
		mv.reconcile(ctx, moves)
	}
	return nil
}

// reconcile cancels the copies of moves no longer in flight and starts
// one for each new move this node performs.
func (mv *Mover) reconcile(ctx context.Context, moves []Move) {
	want := make(map[moveKey]Move, len(moves))
	for _, m := range moves {
		if mv.cfg.Select(m) {
			want[keyOf(m)] = m
		}
	}
	mv.mu.Lock()
	defer mv.mu.Unlock()
	for k, t := range mv.tasks {
		if _, ok := want[k]; !ok {
			t.cancel()
			delete(mv.tasks, k)
		}
	}
	for k, m := range want {
		if _, ok := mv.tasks[k]; ok {
			continue // running, or done and not yet gone from the map
		}
		tctx, cancel := context.WithCancel(ctx)
		t := &moveTask{move: m, cancel: cancel}
		mv.tasks[k] = t
		mv.wg.Add(1)
		go mv.run(ctx, tctx, t)
	}
}

// stopAll cancels every copy and waits for them.
func (mv *Mover) stopAll() {
	mv.mu.Lock()
	for k, t := range mv.tasks {
		t.cancel()
		delete(mv.tasks, k)
	}
	mv.mu.Unlock()
	mv.wg.Wait()
}

// backoff is the wait before retry n (n ≥ 1).
func (mv *Mover) backoff(n int) time.Duration {
	d := mv.cfg.MinBackoff
	for i := 1; i < n && d < mv.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, mv.cfg.MaxBackoff)
}

// sleepCtx waits d, or until ctx ends (then it returns false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run copies t's move, then completes it, or aborts it when the copy will
// not succeed. The copy runs under copyCtx, which ends when the move
// leaves the map; the completion or abort runs under ctx, the Mover's, so
// that a move that leaves the map because the completion applied (its
// answer not back yet) is reported as completed, not cancelled: its
// answer, or a retry's, says how the move ended.
func (mv *Mover) run(ctx, copyCtx context.Context, t *moveTask) {
	defer mv.wg.Done()
	m := t.move
	log := mv.log.With(zap.Stringer("move", m))
	err := mv.copyWithRetries(copyCtx, t, log)
	switch {
	case copyCtx.Err() != nil:
		err = context.Canceled
	case err == nil:
		t.setState(CopyDone)
		err = mv.end(ctx, copyCtx, log, "complete", mv.cfg.Completer.CompleteTransfer, m)
		if err == nil {
			log.Info("move completed")
		}
	default:
		t.setState(CopyDone)
		if aerr := mv.end(ctx, copyCtx, log, "abort", mv.cfg.Completer.AbortTransfer, m); aerr != nil {
			err = aerr
		} else {
			log.Warn("copy failed; move aborted", zap.Error(err))
			err = fmt.Errorf("%w: %w", ErrAbortMove, err)
		}
	}
	t.setState(CopyDone)
	if mv.cfg.Done != nil {
		mv.cfg.Done(m, err)
	}
}

// copyWithRetries runs the copy until it succeeds, returns an error to
// abort with, or ctx ends.
func (mv *Mover) copyWithRetries(ctx context.Context, t *moveTask, log *zap.Logger) error {
	for attempt := 1; ; attempt++ {
		t.setState(CopyQueued)
		select {
		case mv.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		t.setState(CopyRunning)
		t.attempts.Store(int64(attempt))
		err := mv.cfg.Copy(context.WithValue(ctx, progressKey{}, &progress{t: t, mv: mv}), t.move)
		<-mv.sem
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			return nil
		case errors.Is(err, ErrAbortMove), mv.cfg.MaxAttempts > 0 && attempt >= mv.cfg.MaxAttempts:
			return err
		}
		log.Info("copy failed; retrying", zap.Int("attempt", attempt), zap.Error(err))
		t.setState(CopyRetrying)
		if !sleepCtx(ctx, mv.backoff(attempt)) {
			return ctx.Err()
		}
	}
}

// end proposes the move's completion or abort through fn under ctx,
// retrying with backoff while the outcome is unknown (not leader, no
// answer): it returns nil or the rejection once the outcome is known, or
// context.Canceled when ctx ends or, with the outcome unknown, the move
// has left the map (gone ended: it ended, by this call or another way).
func (mv *Mover) end(ctx, gone context.Context, log *zap.Logger, what string, fn func(context.Context, Move) error, m Move) error {
	for n := 1; ; n++ {
		err := fn(ctx, m)
		if err == nil || errors.Is(err, ErrRejected) {
			if err != nil {
				log.Warn("move ended elsewhere: "+what+" rejected", zap.Error(err))
			}
			return err
		}
		if gone.Err() != nil {
			return context.Canceled
		}
		log.Debug(what+" in doubt; retrying", zap.Int("attempt", n), zap.Error(err))
		if !sleepCtx(gone, mv.backoff(n)) {
			return context.Canceled
		}
	}
}
