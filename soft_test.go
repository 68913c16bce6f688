package placement

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadHalvesOnSplitAndAddsOnMerge(t *testing.T) {
	g := fixture(t)
	g.setLoadHalfLife(0) // each report taken as it is
	require.NoError(t, g.ReportStats(1, Stats{Keys: 10, Bytes: 100, Load: 8}))
	next := g.View().NextShardID()
	mustApply(t, g, PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")})
	v := g.View()
	for _, id := range []ShardID{1, next} {
		st, ok := v.Stats(id)
		require.True(t, ok)
		require.Equal(t, 4.0, st.Load, "shard %d", id)
	}
	u, ok := v.Usage(1)
	require.True(t, ok)
	require.Equal(t, Usage{Known: 2, Bytes: 100, Load: 8}, u)
	require.NoError(t, checkInvariants(v))

	mustApply(t, g, PlaceMerge{Left: 1, LeftEpoch: 2, Right: next, RightEpoch: 2})
	st, _ := g.View().Stats(1)
	require.Equal(t, 8.0, st.Load)
	require.NoError(t, checkInvariants(g.View()))
}

func TestUsageFollowsTransfersAndReports(t *testing.T) {
	g := fixture(t)
	g.setLoadHalfLife(0) // each report taken as it is
	require.NoError(t, g.ReportStats(2, Stats{Keys: 5, Bytes: 50, Load: 1.5}))
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	v := g.View()
	u1, _ := v.Usage(1)
	u2, _ := v.Usage(2)
	require.Equal(t, Usage{}, u1, "node 1 keeps only shard 3, whose stats are unknown")
	require.Equal(t, Usage{Known: 2, Bytes: 150, Load: 1.5}, u2)
	require.NoError(t, checkInvariants(v))

	// A new report replaces the old figures in the sums.
	require.NoError(t, g.ReportStats(2, Stats{Keys: 5, Bytes: 20}))
	u2, _ = g.View().Usage(2)
	require.Equal(t, Usage{Known: 2, Bytes: 120}, u2)
	_, ok := g.View().Usage(99)
	require.False(t, ok)
}

func TestReportStatsRefusesBadLoad(t *testing.T) {
	g := fixture(t)
	before := dumpOf(g.View())
	for _, l := range []float64{-1, math.NaN(), math.Inf(1)} {
		err := g.ReportStats(2, Stats{Keys: 1, Load: l})
		require.ErrorIs(t, err, ErrInvalidStats, "load %v", l)
	}
	require.Equal(t, before, dumpOf(g.View()))
	// A load beyond float32 saturates rather than turning infinite.
	require.NoError(t, g.ReportStats(2, Stats{Load: math.MaxFloat64}))
	st, _ := g.View().Stats(2)
	require.Equal(t, float64(math.MaxFloat32), st.Load)
}

func TestNodeStatsAreSoft(t *testing.T) {
	g := fixture(t)
	require.NoError(t, g.ReportNodeStats(2, NodeStats{Capacity: 1 << 40}))
	require.ErrorIs(t, g.ReportNodeStats(9, NodeStats{Capacity: 1}), ErrUnknownNode)
	v := g.View()
	ns, ok := v.NodeStats(2)
	require.True(t, ok)
	require.Equal(t, NodeStats{Capacity: 1 << 40}, ns)
	ns, ok = v.NodeStats(1)
	require.True(t, ok)
	require.Equal(t, NodeStats{}, ns, "never reported")
	_, ok = v.NodeStats(9)
	require.False(t, ok)

	// Not in snapshots: two registries with different capacities write
	// the same bytes, and a restore forgets them.
	other := fixture(t)
	var a, b bytes.Buffer
	require.NoError(t, v.WriteSnapshot(&a))
	require.NoError(t, other.View().WriteSnapshot(&b))
	require.Equal(t, a.Bytes(), b.Bytes())
	require.NoError(t, g.ReadSnapshot(bytes.NewReader(a.Bytes())))
	ns, _ = g.View().NodeStats(2)
	require.Equal(t, NodeStats{}, ns)

	// Adding and removing nodes keeps capacities with their nodes.
	require.NoError(t, g.ReportNodeStats(2, NodeStats{Capacity: 7}))
	mustApply(t, g, AddNode{Node: 0 + 1<<10}, SetNodeState{Node: 4, State: NodeUp})
	ns, _ = g.View().NodeStats(2)
	require.Equal(t, uint64(7), ns.Capacity)
}

// The halves of a split and a merged shard carry estimated stats until the
// host reports them; an estimate over the split threshold is not split.
func TestEstimatedStatsAreNotSplit(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, AddNode{Node: 1}, CreateShard{Range: KeyRange{Start: key("a"), End: key("z")}, Node: 1})
	pol := DefaultPolicy()
	require.NoError(t, g.ReportStats(1, Stats{Keys: 8 * pol.SplitKeys}))
	st, _ := g.View().Stats(1)
	require.False(t, st.Estimated, "reported")
	p := NewCoordinator(pol).Plan(g.View(), 5)
	require.Len(t, p.Commands, 1)
	mustApply(t, g, p.Commands...)
	v := g.View()
	for sh := range v.Shards() {
		st, _ := v.Stats(sh.ID)
		require.True(t, st.Estimated, "shard %d: half of a split", sh.ID)
	}
	p = NewCoordinator(pol).Plan(v, 5)
	require.Empty(t, p.Commands, "4× the threshold each, but a guess")
	require.Contains(t, p.Skipped, Skip{Reason: SkipStatsEstimated, Count: 2})
	// Reported: split again.
	require.NoError(t, g.ReportStats(1, Stats{Keys: 4 * pol.SplitKeys}))
	p = NewCoordinator(pol).Plan(g.View(), 5)
	require.Len(t, p.Commands, 1)
}

// Load is an exponentially decaying average of the reports, with the
// half-life of the replicated policy once there is one; a shard's first
// report, and its first after a split, are taken as they are.
func TestLoadSmoothing(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, AddNode{Node: 1}, CreateShard{Range: KeyRange{Start: key("a"), End: key("z")}, Node: 1})
	load := func(id ShardID) float64 {
		st, ok := g.View().Stats(id)
		require.True(t, ok)
		return st.Load
	}
	report := func(id ShardID, l float64) {
		require.NoError(t, g.ReportStats(id, Stats{Keys: 10, Bytes: 10, Load: l}))
	}
	report(1, 100)
	require.Equal(t, 100.0, load(1), "the first report as it is")
	// Default half-life 8: one report of 200 moves the average by
	// 1 − 2^(−1/8) ≈ 8.3% of the way.
	report(1, 200)
	require.InDelta(t, 100+100*(1-math.Exp2(-0.125)), load(1), 1e-3)
	// One noisy report among steady ones moves it little, and steady
	// reports bring it back: after 8 reports at 100, half the distance.
	before := load(1) - 100
	for range 8 {
		report(1, 100)
	}
	require.InDelta(t, before/2, load(1)-100, 1e-3)

	// The replicated policy's half-life rules once there is one.
	p := DefaultPolicy()
	p.LoadHalfLife = 1
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	mustApply(t, g, SetPolicy{Policy: p, MaxActionsPerTick: 5})
	report(1, 100)
	cur := load(1)
	report(1, 300)
	require.InDelta(t, (cur+300)/2, load(1), 1e-3, "half-life 1: halfway")

	// The halves of a split carry estimates; their first report replaces
	// them.
	next := g.View().NextShardID()
	mustApply(t, g, PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("m")})
	report(1, 7)
	report(next, 9)
	require.Equal(t, 7.0, load(1))
	require.Equal(t, 9.0, load(next))
}
