package placement

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// evenNodes builds n up nodes; shards[i] shards go to node i+1.
func evenNodes(t *testing.T, shards ...int) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	k := 0
	for i, count := range shards {
		mustApply(t, g, AddNode{Node: NodeID(i + 1)})
		for ; count > 0; count-- {
			r := KeyRange{Start: []byte(fmt.Sprintf("k%05d", k)), End: []byte(fmt.Sprintf("k%05d", k+1))}
			mustApply(t, g, CreateShard{Range: r, Node: NodeID(i + 1)})
			k++
		}
	}
	return g
}

// A plan that reaches the stop band ends rebalancing: a later imbalance
// below the trigger (here after two splits) moves nothing.
func TestRebalancingEndsAtTheBand(t *testing.T) {
	g := evenNodes(t, 22, 0)
	pol := DefaultPolicy()
	pol.MaxMovesPerNode = 100
	c := NewCoordinator(pol)
	p := c.Plan(g.View(), 100)
	require.Len(t, p.Commands, 11)
	require.False(t, p.Rebalancing, "these moves reach the band")
	for _, cmd := range p.Commands {
		mustApply(t, g, cmd)
	}
	for _, id := range []ShardID{1, 2} { // still on node 1
		sh, _ := g.View().Shard(id)
		mid, _ := MidKey(sh.Range)
		mustApply(t, g, PlaceSplit{Shard: id, Epoch: sh.Epoch, SplitKey: mid})
	}
	v := g.View()
	require.Less(t, Imbalance(v), pol.ImbalanceThreshold)
	require.Greater(t, Imbalance(v), pol.StopBand)
	require.Empty(t, c.Plan(v, 100).Commands, "below the trigger, with rebalancing over")
}

// Neighbours few in keys but large in bytes are indexed as merge pairs but
// are not cold; the merge phase must not scan all of them.
func TestMergeScanIsBounded(t *testing.T) {
	g := evenNodes(t, 2000)
	pol := DefaultPolicy()
	for id := ShardID(1); id <= 2000; id++ {
		require.NoError(t, g.ReportStats(id, Stats{Keys: 10, Bytes: 64 << 20}))
	}
	p := NewCoordinator(pol).Plan(g.View(), 5)
	require.Empty(t, p.Commands)
	require.Contains(t, p.Skipped, Skip{Reason: SkipScanBudget, Shard: ShardID(scanBudget(5) + 1)},
		"the scan stopped after its budget of pairs")
}

func TestHugeLimit(t *testing.T) {
	g := evenNodes(t, 4, 0)
	require.NoError(t, g.ReportStats(1, Stats{Keys: 1 << 30, Bytes: 1}))
	p := NewCoordinator(DefaultPolicy()).Plan(g.View(), math.MaxInt)
	require.Contains(t, p.Commands, Command(PlaceSplit{Shard: 1, Epoch: 1, SplitKey: []byte("k00000\x80")}))
	require.NotContains(t, p.Skipped, Skip{Reason: SkipScanBudget, Shard: 1})
}

// A huge stop band and trigger mean "never rebalance", not an overflow.
func TestHugeStopBandDisablesRebalancing(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, AddNode{Node: 1}, AddNode{Node: 2})
	for i := range 10 {
		mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: 1})
	}
	pol := DefaultPolicy()
	pol.ImbalanceThreshold, pol.StopBand = 1e300, 1e300
	c := NewCoordinator(pol)
	c.ResumeRebalancing()
	p := c.Plan(g.View(), 5)
	require.Empty(t, p.Commands)
	require.Equal(t, 10, bandWidth(1e300, 10, 2))
}
