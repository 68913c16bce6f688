package placementtest

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
)

// MoverOptions make a Cluster finish the moves in flight as a host that
// copies shards would: each copy takes Delay, after which the leader's
// scheduler proposes CompleteTransfer (or AbortTransfer for a copy that
// fails). A copy that stalls never reports; the leader aborts it after
// Policy.MoveTimeout.
type MoverOptions struct {
	// Delay is how long each copy takes, timed from when the mover first
	// sees the move; 0 completes moves at the mover's next look.
	Delay time.Duration
	// Fail, if set, says which copies fail: their moves are aborted.
	Fail func(placement.Move) bool
	// Stall, if set, says which copies never finish.
	Stall func(placement.Move) bool
	// Every is how often the mover looks at the leader's map; 0 means
	// 10ms.
	Every time.Duration
}

// mover is the goroutine behind ClusterOptions.Mover.
type mover struct {
	c    *Cluster
	opts MoverOptions
	stop chan struct{}
	done sync.WaitGroup

	mu      sync.Mutex
	seen    map[moveKey]time.Time // when each move was first seen
	decided map[moveKey]bool      // moves whose fate was drawn and settled
	ended   int                   // completions and aborts proposed and applied
}

// moveKey names one attempt at a move: a shard is moved again at a later
// epoch.
type moveKey struct {
	shard placement.ShardID
	epoch uint64
}

func startMover(c *Cluster, opts MoverOptions) *mover {
	if opts.Every == 0 {
		opts.Every = 10 * time.Millisecond
	}
	m := &mover{c: c, opts: opts, stop: make(chan struct{}), seen: map[moveKey]time.Time{}, decided: map[moveKey]bool{}}
	m.done.Add(1)
	go m.run()
	return m
}

func (m *mover) close() {
	close(m.stop)
	m.done.Wait()
}

func (m *mover) run() {
	defer m.done.Done()
	t := time.NewTicker(m.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.look()
		}
	}
}

// look finishes, on the current leader, each copy whose time has come.
func (m *mover) look() {
	sched, view, ok := m.c.leaderScheduler()
	if !ok {
		return
	}
	now := time.Now()
	for mv := range view.Moves() {
		k := moveKey{mv.Shard, mv.Epoch}
		m.mu.Lock()
		first, seen := m.seen[k]
		if !seen {
			m.seen[k], first = now, now
		}
		settled := m.decided[k]
		m.mu.Unlock()
		if settled || now.Sub(first) < m.opts.Delay {
			continue
		}
		if m.opts.Stall != nil && m.opts.Stall(mv) {
			m.settle(k, false)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var err error
		if m.opts.Fail != nil && m.opts.Fail(mv) {
			err = sched.AbortTransfer(ctx, mv)
		} else {
			err = sched.CompleteTransfer(ctx, mv)
		}
		cancel()
		// A failed proposal (no longer leader, stale epoch) is retried at
		// the next look unless the move has changed meanwhile.
		if err == nil {
			m.settle(k, true)
		}
	}
}

func (m *mover) settle(k moveKey, ended bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.decided[k] = true
	if ended {
		m.ended++
	}
}

// leaderScheduler returns the scheduler and map of a running, connected
// leader.
func (c *Cluster) leaderScheduler() (*placement.Scheduler, placement.View, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.Servers {
		if s.up && !s.cut && s.Raft.State() == raft.Leader {
			return s.Scheduler, s.Registry.View(), true
		}
	}
	return nil, placement.View{}, false
}

// MovesEnded returns how many moves the Cluster's mover has completed or
// aborted (0 without a mover).
func (c *Cluster) MovesEnded() int {
	if c.mover == nil {
		return 0
	}
	c.mover.mu.Lock()
	defer c.mover.mu.Unlock()
	return c.mover.ended
}
