package placement

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// hotUnsplittable builds 16 up nodes of 20 shards each, every shard of the
// same size; node 1 holds 8 shards of load hot (reported without a
// split-key hint, so none can be split for its load) and 12 of load 1,
// every other node 20 of load 1. It returns the registry and the hot
// shards.
func hotUnsplittable(t *testing.T, hot float64) (*ShardRegistry, []ShardID) {
	t.Helper()
	g := NewShardRegistry()
	var hotIDs []ShardID
	k := 0
	for n := NodeID(1); n <= 16; n++ {
		mustApply(t, g, AddNode{Node: n})
		for j := 0; j < 20; j++ {
			r := KeyRange{Start: []byte(fmt.Sprintf("k%05d", k)), End: []byte(fmt.Sprintf("k%05d", k+1))}
			k++
			mustApply(t, g, CreateShard{Range: r, Node: n})
			id := ShardID(k)
			load := 1.0
			if n == 1 && j < 8 {
				load = hot
				hotIDs = append(hotIDs, id)
			}
			require.NoError(t, g.ReportStats(id, Stats{Keys: 5000, Bytes: 1 << 20, Load: load}))
		}
	}
	return g, hotIDs
}

// hottestOverFair is the hottest up node's load over the fair load (the
// mean load per up node).
func hottestOverFair(v View) float64 {
	total, hottest, n := 0.0, 0.0, 0
	for _, nd := range v.Nodes() {
		if nd.State != NodeUp {
			continue
		}
		u, _ := v.Usage(nd.ID)
		l := u.Load
		total += l
		hottest = max(hottest, l)
		n++
	}
	return hottest / (total / float64(n))
}

// Several hot shards with no split key on one node are spread: a shard
// hotter than its node's fair load moves when the move lowers the hotter
// node of the pair. Planning to a fixed point leaves the hottest node at
// most 2.5× the fair load, and every hot shard on a node of its own.
func TestHotUnsplittableShardsSpread(t *testing.T) {
	g, hot := hotUnsplittable(t, 60)
	before := hottestOverFair(g.View())
	require.Greater(t, before, 9.0, "node 1 holds the hot spot")

	pol := DefaultPolicy()
	pol.MaxMovesPerNode = 100
	c := NewCoordinator(pol)
	rounds := 0
	for ; rounds < 50; rounds++ {
		p := c.Plan(g.View(), 100)
		if len(p.Commands) == 0 {
			break
		}
		mustApply(t, g, p.Commands...)
		endMoves(t, g)
	}
	require.Less(t, rounds, 50, "planning reaches a fixed point")
	v := g.View()
	after := hottestOverFair(v)
	t.Logf("hottest node / fair load: before %.2f, after %.2f, %d rounds", before, after, rounds)
	require.LessOrEqual(t, after, 2.5)

	on := map[NodeID]ShardID{}
	for _, id := range hot {
		sh, ok := v.Shard(id)
		require.True(t, ok)
		require.NotContains(t, on, sh.Node, "hot shards %d and %d on node %d", on[sh.Node], id, sh.Node)
		on[sh.Node] = id
	}
}
