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
