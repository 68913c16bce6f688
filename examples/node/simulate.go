package main

import (
	"context"
	"time"

	"github.com/ukehi/placement"
)

// simulateCopies stands in for the data nodes' copies when no data-node
// process does them (-copy-time > 0): a Mover for every move, whose copy
// takes copyTime from the move's log time (so a new leader picks up where
// the old one stopped), completed through this server's Scheduler. Only
// the leader's completion is proposed; a follower's is retried, quietly,
// until the move leaves the map.
func (s *server) simulateCopies() (*placement.Handle, error) {
	mv, err := placement.NewMover(placement.MoverConfig{
		Node:        1, // every node's: Select below
		Select:      func(placement.Move) bool { return true },
		Source:      s.reg,
		Completer:   s.sched,
		Concurrency: 64,
		MaxBackoff:  s.cfg.copyTime,
		Logger:      s.log,
		Copy: func(ctx context.Context, m placement.Move) error {
			t := time.NewTimer(time.Until(m.Began.Add(s.cfg.copyTime)))
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return mv.Start(), nil
}
