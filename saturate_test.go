package placement_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// Sizes no engine holds (a -1 cast to uint64) are refused, so such a shard
// is never split on them; node sums never wrap, so huge shards together
// never make a node look emptier, and the planner moves them off it.
func TestHugeSizesNeverWrap(t *testing.T) {
	reg := placement.NewShardRegistry()
	for n := placement.NodeID(1); n <= 2; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	const huge = 18
	for i := 0; i < huge; i++ {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.Apply(placement.CreateShard{Range: r, Node: 1}))
	}
	require.NoError(t, reg.Apply(placement.CreateShard{Range: placement.KeyRange{Start: []byte{huge}}, Node: 2}))
	require.ErrorIs(t, reg.ReportStats(1, placement.Stats{Keys: 1, Bytes: math.MaxUint64}), placement.ErrInvalidStats)
	_, known := reg.View().Stats(1)
	require.False(t, known, "nothing recorded")
	for id := placement.ShardID(1); id <= huge; id++ {
		require.NoError(t, reg.ReportStats(id, placement.Stats{Keys: 1, Bytes: placement.MaxShardBytes}))
	}
	require.NoError(t, reg.ReportStats(huge+1, placement.Stats{Keys: 1, Bytes: 1 << 20}))

	u, _ := reg.View().Usage(1)
	require.Equal(t, uint64(math.MaxUint64), u.Bytes, "18 EiB saturates; it used to wrap to 2 EiB")
	// Moving shards away takes the exact sum back under 2^64.
	for id := placement.ShardID(1); id <= 3; id++ {
		require.NoError(t, reg.Apply(placement.PlaceTransfer{Shard: id, Epoch: 1, From: 1, To: 2}))
	}
	u, _ = reg.View().Usage(1)
	require.Equal(t, uint64(15*placement.MaxShardBytes), u.Bytes)
	for id := placement.ShardID(1); id <= 3; id++ {
		require.NoError(t, reg.Apply(placement.PlaceTransfer{Shard: id, Epoch: 2, From: 2, To: 1}))
	}
	u, _ = reg.View().Usage(1)
	require.Equal(t, uint64(math.MaxUint64), u.Bytes)

	pol := placement.DefaultPolicy()
	pol.SplitBytes = math.MaxUint64 // no splits: the test is about balance
	pol.SplitKeys = math.MaxUint64
	plan := placement.NewCoordinator(pol).Plan(reg.View(), 5)
	require.NotEmpty(t, plan.Commands)
	for _, c := range plan.Commands {
		tr, ok := c.(placement.PlaceTransfer)
		require.True(t, ok, "%v", c)
		require.Equal(t, placement.NodeID(1), tr.From, "off the fuller node")
	}
}
