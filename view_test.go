package placement_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// ShardsFrom agrees with a naive walk: every shard, sorted by ID, from the
// first ID at or above the start; and it stops when told to.
func TestViewShardsFrom(t *testing.T) {
	reg := placement.NewShardRegistry()
	require.NoError(t, reg.Apply(placement.AddNode{Node: 1}))
	// IDs 1 to 3 in key order, then 100 (an explicit ID) below them by
	// key, then the split of 2, which takes 101.
	require.NoError(t, reg.Apply(placement.CreateShard{Range: placement.KeyRange{Start: []byte("b"), End: []byte("c")}, Node: 1}))
	require.NoError(t, reg.Apply(placement.CreateShard{Range: placement.KeyRange{Start: []byte("c"), End: []byte("e")}, Node: 1}))
	require.NoError(t, reg.Apply(placement.CreateShard{Range: placement.KeyRange{Start: []byte("e")}, Node: 1}))
	require.NoError(t, reg.Apply(placement.CreateShard{ID: 100, Range: placement.KeyRange{End: []byte("b")}, Node: 1}))
	require.NoError(t, reg.Apply(placement.PlaceSplit{Shard: 2, Epoch: 1, SplitKey: []byte("d")}))

	v := reg.View()
	all := slices.SortedFunc(v.Shards(), func(a, b placement.Shard) int { return int(a.ID) - int(b.ID) })
	for _, from := range []placement.ShardID{0, 1, 2, 3, 4, 100, 101, 102} {
		var want []placement.Shard
		for _, s := range all {
			if s.ID >= from {
				want = append(want, s)
			}
		}
		require.Equal(t, want, slices.Collect(v.ShardsFrom(from)), "from %d", from)
	}
	n := 0
	for range v.ShardsFrom(0) {
		n++
		break
	}
	require.Equal(t, 1, n)
}
