package placement_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// downHarness is movesHarness with node 1 down since the clock's time
// (with logTime the SetNodeState carries it, as raft's log would), and
// schedulers with DownTimeout 30 minutes and instant moves.
func downHarness(t *testing.T, clock *fakeClock, logTime bool) (*placement.ShardRegistry, *placementtest.FakeRaft, func() *placement.Scheduler) {
	t.Helper()
	reg, fake, newSched := movesHarness(t, clock, logTime, func(c *placement.Config) {
		c.Policy.DownTimeout = 30 * time.Minute
		c.InstantMoves = true
	})
	_, err := fake.Apply(context.Background(), placement.Encode(placement.SetNodeState{Node: 1, State: placement.NodeDown}))
	require.NoError(t, err)
	return reg, fake, newSched
}

// A node down past DownTimeout is declared lost, timed from the log across
// a change of leader (and on the new leader's own clock since its election
// too), and its shards are then re-homed.
func TestDownTimeoutDeclaresLost(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := downHarness(t, clock, true)
	since, _ := reg.View().NodeSince(1)
	require.True(t, since.Equal(clock.Now()))
	s := newSched()
	clock.Advance(29 * time.Minute)
	rep := tick(t, s)
	require.Empty(t, rep.Lost)
	require.Empty(t, rep.Commands, "a down node's shards stay where they are")

	fake.SetLeader(false)
	fake.SetLeader(true)
	clock.Advance(time.Minute)
	next := newSched()
	require.Empty(t, tick(t, next).Lost, "30 minutes down, none of them seen by this leader")
	clock.Advance(30 * time.Minute)
	rep = tick(t, next)
	require.Equal(t, []placement.NodeID{1}, rep.Lost)
	n, _ := reg.View().Node(1)
	require.Equal(t, placement.NodeLost, n.State)
	require.NotEmpty(t, rep.Commands, "the same tick re-homes the lost node's shards")
	for _, c := range rep.Commands {
		require.Equal(t, placement.NodeID(1), c.(placement.PlaceTransfer).From)
	}
}

func TestDownTimeoutWithoutLogTimeAndOff(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	_, _, newSched := downHarness(t, clock, false)
	s := newSched()
	clock.Advance(time.Hour)
	require.Empty(t, tick(t, s).Lost, "first seen now: no time in the log")
	clock.Advance(30 * time.Minute)
	require.Equal(t, []placement.NodeID{1}, tick(t, s).Lost)

	// Off by default.
	clock2 := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, _ := downHarness(t, clock2, true)
	cfg := placement.DefaultConfig()
	cfg.Clock = clock2.Now
	off, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	clock2.Advance(1000 * time.Hour)
	require.Empty(t, tick(t, off).Lost)

	cfg.Policy.DownTimeout = -time.Second
	require.ErrorIs(t, cfg.Validate(), placement.ErrInvalidConfig)
}

// DownTimeout is part of the Policy: replicated by SetPolicy, it holds on
// every leader whatever its own Config says.
func TestDownTimeoutFromTheReplicatedPolicy(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, _ := downHarness(t, clock, true)
	cfg := placement.DefaultConfig() // no DownTimeout here
	cfg.Clock = clock.Now
	s, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	pol := placement.DefaultPolicy()
	pol.DownTimeout = time.Minute
	require.NoError(t, s.SetPolicy(context.Background(), pol, 5))
	require.Empty(t, tick(t, s).Lost, "elected now")
	clock.Advance(time.Minute)
	require.Equal(t, []placement.NodeID{1}, tick(t, s).Lost)
}
