package placement_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// A pause is in the log: a new leader stays paused until the expiry the
// entry records, then ends the pause itself and plans.
func TestReplicatedPauseSurvivesLeaderChange(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, true)
	old := newSched()
	ctx := context.Background()
	require.NoError(t, old.Pause(ctx, time.Minute))
	require.True(t, reg.View().Pause().Paused)
	rep := tick(t, old)
	require.True(t, rep.Paused)
	require.Empty(t, rep.Commands)

	// Another server leads now; it has its own Config and no memory.
	fake.SetLeader(false)
	fake.SetLeader(true)
	next := newSched()
	require.True(t, next.Paused(), "paused by the log, not by this process")
	clock.Advance(59 * time.Second)
	rep = tick(t, next)
	require.True(t, rep.Paused)
	require.Empty(t, rep.Commands)

	// Its expiry has come, but this leader has seen only 1s of the
	// pause's minute: it waits the whole minute on its own clock.
	clock.Advance(time.Second)
	require.True(t, tick(t, next).Paused)
	clock.Advance(59 * time.Second)
	rep = tick(t, next)
	require.True(t, rep.PauseExpired)
	require.False(t, rep.Paused)
	require.NotEmpty(t, rep.Commands, "the tick that ends the pause plans")
	require.False(t, reg.View().Pause().Paused)
}

func TestPauseWithoutTTLUntilResume(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	_, fake, newSched := movesHarness(t, clock, true)
	s := newSched()
	ctx := context.Background()
	require.NoError(t, s.Pause(ctx, 0))
	clock.Advance(1000 * time.Hour)
	require.True(t, tick(t, s).Paused)
	require.NoError(t, s.Resume(ctx))
	require.NotEmpty(t, tick(t, s).Commands)

	fake.SetLeader(false)
	require.ErrorIs(t, s.Pause(ctx, time.Minute), placement.ErrNotLeader)
}

// The replicated policy and MaxActionsPerTick override every server's
// Config, on the leader and in a follower's DryRun.
func TestReplicatedPolicyOverridesConfig(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	_, fake, newSched := movesHarness(t, clock, true)
	s := newSched() // Config: 3 actions a tick
	pol := placement.DefaultPolicy()
	pol.InstantMoves = true
	require.NoError(t, s.SetPolicy(context.Background(), pol, 1))
	rep := tick(t, s)
	require.Len(t, rep.Commands, 1)

	bad := placement.DefaultPolicy()
	bad.StopBand = 5
	require.ErrorIs(t, s.SetPolicy(context.Background(), bad, 1), placement.ErrInvalidCommand)

	fake.SetLeader(false)
	require.Len(t, newSched().DryRun().Commands, 1, "a follower plans with the replicated limit")
}
