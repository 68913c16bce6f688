package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ukehi/placement"
	"go.uber.org/zap"
)

// copier stands in for a database's data movement. A move begins when a
// PlaceTransfer applies; the shard's new owner would then copy the data
// and report back. Here the copy is simulated: once a move has been in
// flight for copyTime (by its log time, so a new leader picks up where the
// old one stopped), the leader proposes its CompleteTransfer. It looks
// every copyTime/4 and only acts while this server leads: the check is
// level-triggered, so no completion is lost to a leader change.
type copier struct {
	s        *server
	copyTime time.Duration
	stop     chan struct{}
	done     sync.WaitGroup
}

func startCopier(s *server, copyTime time.Duration) *copier {
	c := &copier{s: s, copyTime: copyTime, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c
}

func (c *copier) close() {
	close(c.stop)
	c.done.Wait()
}

func (c *copier) run() {
	defer c.done.Done()
	t := time.NewTicker(max(c.copyTime/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.completeDue()
		}
	}
}

func (c *copier) completeDue() {
	if leader, _ := c.s.node.Leader(); !leader {
		return
	}
	now := time.Now()
	for m := range c.s.reg.View().Moves() {
		if now.Sub(m.Began) < c.copyTime {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.s.sched.CompleteTransfer(ctx, m)
		cancel()
		switch {
		case err == nil:
			c.s.log.Info("shard copied; move completed", zap.Uint64("shard", uint64(m.Shard)),
				zap.Uint64("from", uint64(m.From)), zap.Uint64("to", uint64(m.To)))
		case errors.Is(err, placement.ErrNotLeader):
			return
		default:
			c.s.log.Debug("completing a move", zap.Uint64("shard", uint64(m.Shard)), zap.Error(err))
		}
	}
}
