package placement_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// newUpgradeHarness is a leader on the skewed map at format version 1, whose
// voters report the versions that formats returns, one per call.
func newUpgradeHarness(t *testing.T, formats func() (uint64, error)) (*harness, *int) {
	t.Helper()
	reg := placement.NewShardRegistry()
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	for i := range 12 {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.Apply(placement.CreateShard{Range: r, Node: 1}))
	}
	calls := new(int)
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	fake.SetLeader(true)
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = 3
	cfg.TickInterval = time.Hour
	cfg.ClusterFormat = func(ctx context.Context) (uint64, error) {
		*calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("ClusterFormat called without a deadline")
		}
		return formats()
	}
	sched, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	return &harness{reg: reg, fake: fake, sched: sched}, calls
}

func entryTypes(t *testing.T, entry []byte) []placement.CommandType {
	t.Helper()
	cmds, err := placement.Decode(entry)
	require.NoError(t, err)
	types := make([]placement.CommandType, len(cmds))
	for i, c := range cmds {
		types[i] = c.Type()
	}
	return types
}

func TestUpgradeWaitsForEveryVoter(t *testing.T) {
	version := uint64(1) // one voter still runs a build that reads only 1
	h, calls := newUpgradeHarness(t, func() (uint64, error) { return version, nil })

	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Zero(t, rep.Upgraded)
	require.Equal(t, uint64(1), h.reg.View().FormatVersion())
	require.Len(t, h.fake.Entries(), 1, "the plan alone, with no flag: version 1 cannot record it")
	require.NotContains(t, entryTypes(t, h.fake.Entries()[0]), placement.TypeSetRebalancing)
	require.Equal(t, 1, *calls)

	version = placement.FormatVersion // the last voter is upgraded
	rep, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, uint64(placement.FormatVersion), rep.Upgraded)
	require.Equal(t, uint64(placement.FormatVersion), h.reg.View().FormatVersion())
	entries := h.fake.Entries()
	require.Len(t, entries, 3)
	require.Equal(t, []placement.CommandType{placement.TypeSetFormatVersion}, entryTypes(t, entries[1]))
	// The same tick's plan already records the rebalance under the new
	// version.
	require.Contains(t, entryTypes(t, entries[2]), placement.TypeSetRebalancing)

	// At this build's version the voters are not asked again.
	_, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, *calls)
}

func TestUpgradeUnknownVotersKeepTheVersion(t *testing.T) {
	h, calls := newUpgradeHarness(t, func() (uint64, error) {
		return 0, errors.New("voter node3 did not answer")
	})
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err, "a voter that cannot be asked does not fail the tick")
	require.Zero(t, rep.Upgraded)
	require.NotEmpty(t, rep.Commands, "the tick still plans")
	require.Equal(t, uint64(1), h.reg.View().FormatVersion())
	require.Equal(t, 1, *calls)
}

func TestUpgradeCappedAtThisBuild(t *testing.T) {
	h, _ := newUpgradeHarness(t, func() (uint64, error) { return placement.FormatVersion + 5, nil })
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Equal(t, uint64(placement.FormatVersion), rep.Upgraded)
	require.Equal(t, uint64(placement.FormatVersion), h.reg.View().FormatVersion())
}

func TestUpgradeNotLeaderEndsTheTick(t *testing.T) {
	h, _ := newUpgradeHarness(t, func() (uint64, error) { return 2, nil })
	h.fake.FailApply(1, placement.ErrNotLeader, false)
	_, err := h.sched.Tick(context.Background())
	require.ErrorIs(t, err, placement.ErrNotLeader)
	require.Empty(t, h.fake.Entries())
	require.Equal(t, uint64(1), h.reg.View().FormatVersion())
}
