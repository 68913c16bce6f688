package placement_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// Two-phase moves under leader kills, isolations, restarts and snapshot
// installs, with copies that fail or stall: no move is lost or doubled
// (each shard ends where exactly one completion put it, every replica
// byte-identical, nothing left in flight), no move stays in flight much
// past MoveTimeout while a leader runs, and the map ends balanced.
func TestClusterMovesSurviveChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var rngMu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 0))
	chance := func(p float64) bool {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64() < p
	}
	intn := func(n int) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.IntN(n)
	}
	const timeout = placement.MinMoveTimeout
	pol := placement.DefaultPolicy()
	log := newLog()
	c := newCluster(t, log, func(o *placementtest.ClusterOptions) {
		o.Config.MaxActionsPerTick = 3
		o.Config.MoveTimeout = timeout
		o.SnapshotThreshold, o.TrailingLogs = 16, 4
		o.Mover = &placementtest.MoverOptions{
			Delay: 30 * time.Millisecond,
			Fail:  func(placement.Move) bool { return chance(0.15) },
			Stall: func(placement.Move) bool { return chance(0.15) },
		}
	})
	boot := append([]placement.Command{placement.SetFormatVersion{Version: placement.FormatVersion}}, skewedBootstrap()...)
	results, err := c.Apply(proposal, boot...)
	require.NoError(t, err)
	require.Equal(t, make([]error, len(boot)), results)
	before := ranges(c, c.Leader())

	// Watch the age of moves in flight on whichever server leads.
	var (
		ageMu  sync.Mutex
		oldest time.Duration
		stop   = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			i := c.Leader()
			if i < 0 {
				continue
			}
			now := time.Now()
			for m := range c.Servers[i].Registry.View().Moves() {
				ageMu.Lock()
				oldest = max(oldest, now.Sub(m.Began))
				ageMu.Unlock()
			}
		}
	}()
	defer func() { close(stop); <-done }()

	progress := func() {
		t.Helper()
		ended := c.MovesEnded()
		require.NoError(t, placementtest.WaitFor(settle, func() bool {
			return c.MovesEnded() > ended || balanced(c, max(c.Leader(), 0), pol)
		}), "no move ended")
	}
	for step := range 6 {
		leader, err := c.WaitLeader(settle)
		require.NoError(t, err)
		// A new empty node each step keeps moves going through the chaos.
		addNode(t, c, placement.NodeID(5+step))
		switch op := intn(3); op {
		case 0:
			t.Logf("step %d: kill the leader, server %d", step, leader)
			c.Kill(leader)
			_, err = c.WaitLeader(settle)
			require.NoError(t, err)
			progress()
			require.NoError(t, c.Restart(leader))
		case 1:
			f := (leader + 1 + intn(2)) % 3
			t.Logf("step %d: isolate server %d", step, f)
			c.Isolate(f)
			progress()
			c.Heal(f)
		case 2:
			f := (leader + 1 + intn(2)) % 3
			t.Logf("step %d: restart server %d", step, f)
			c.Kill(f)
			progress()
			require.NoError(t, c.Restart(f))
		}
		progress()
	}

	// A follower that misses a compacted stretch of log while moves are in
	// flight catches up through a snapshot install.
	leader, err := c.WaitLeader(settle)
	require.NoError(t, err)
	behind := (leader + 1) % 3
	c.Kill(behind)
	restores := c.Restores(behind)
	snaps, err := c.SnapshotIDs(leader)
	require.NoError(t, err)
	for n := placement.NodeID(11); n <= 30; n++ {
		addNode(t, c, n)
	}
	require.NoError(t, placementtest.WaitFor(settle, func() bool {
		ids, err := c.SnapshotIDs(leader)
		return err == nil && len(ids) > 0 && (len(snaps) == 0 || ids[0] != snaps[0])
	}), "the leader took no new snapshot")
	require.NoError(t, c.Restart(behind))
	require.NoError(t, placementtest.WaitFor(settle, func() bool { return c.Restores(behind) > restores }),
		"the lagging follower was not sent a snapshot")

	require.NoError(t, placementtest.WaitFor(settle, func() bool {
		i := c.Leader()
		return i >= 0 && c.Servers[i].Registry.View().MoveCount() == 0 && balanced(c, i, pol)
	}), "moves in flight or unbalanced at the end")
	require.NoError(t, c.WaitIdentical(settle))
	for i := range c.Servers {
		require.Equal(t, before, ranges(c, i), "server %d: shards lost, duplicated or reshaped", i)
		require.Zero(t, c.Servers[i].Registry.View().MoveCount())
	}
	restored := int64(0)
	for i := range c.Servers {
		restored += c.Restores(i)
	}
	ageMu.Lock()
	defer ageMu.Unlock()
	t.Logf("moves ended by the mover: %d; snapshot restores: %d; oldest move seen in flight: %v",
		c.MovesEnded(), restored, oldest)
	// A move outlives MoveTimeout by at most a tick, an apply, and, when
	// its leader dies, an election and MoveTimeout again (a new leader
	// waits the whole timeout on its own clock): generous for a loaded CI
	// machine.
	require.Less(t, oldest, 2*timeout+5*time.Second)
}

// addNode adds node n through the leader, again when leadership is lost
// with the outcome in doubt (a loaded machine can cost the leader its
// lease mid-apply): a retry that finds the node added did add it.
func addNode(t *testing.T, c *placementtest.Cluster, n placement.NodeID) {
	t.Helper()
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		res, err := c.Apply(proposal, placement.AddNode{Node: n})
		if err != nil {
			last = err
			continue // a new leader, or the same after a barrier
		}
		if attempt > 0 && errors.Is(res[0], placement.ErrNodeExists) {
			return
		}
		require.NoError(t, res[0])
		return
	}
	require.NoError(t, last, "add node %d", n)
}
