package placement

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Run ticks every TickInterval, at once after leadership may have changed,
// and at once after Resume, until ctx ends; then it returns nil. The caller
// owns the goroutine Run runs on; Start runs it on one it owns for you.
//
// A tick's not-leader error sends the loop back to waiting; other errors are
// logged and the next tick tries again.
func (s *Scheduler) Run(ctx context.Context) error {
	ticker := time.NewTicker(s.cfg.TickInterval)
	defer ticker.Stop()
	changes := s.raft.LeadershipChanges()
	for {
		s.runTick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-changes:
		case <-s.wake:
		}
	}
}

func (s *Scheduler) runTick(ctx context.Context) {
	rep, err := s.Tick(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = nil // stopping: not the tick's fault
	case errors.Is(err, ErrNotLeader):
		s.log.Debug("tick ended: not the leader", zap.Error(err))
	default:
		s.log.Warn("tick failed; retrying next tick", zap.Error(err))
	}
	if s.cfg.OnTick != nil && ctx.Err() == nil {
		s.cfg.OnTick(rep, err)
	}
}

// Handle controls a loop started by Scheduler.Start.
type Handle struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start runs Run on a new goroutine and returns its Handle. If the loop is
// already running, Start returns the running loop's Handle.
func (s *Scheduler) Start() *Handle {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.handle != nil {
		select {
		case <-s.handle.done:
		default:
			return s.handle
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handle{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = s.Run(ctx)
	}()
	s.handle = h
	return h
}

// Stop stops the loop started by Start and waits for it to exit. It is safe
// to call before Start, more than once, and from several goroutines.
func (s *Scheduler) Stop() {
	s.runMu.Lock()
	h := s.handle
	s.runMu.Unlock()
	if h != nil {
		h.Stop()
	}
}

// Stop cancels the loop and waits for it to exit. A tick in progress is
// cancelled through its context. Stop is idempotent and safe to call from
// several goroutines.
func (h *Handle) Stop() {
	h.cancel()
	<-h.done
}

// Done is closed when the loop has exited.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Err returns the loop's error once Done is closed (nil after a normal
// stop), and nil before.
func (h *Handle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}
