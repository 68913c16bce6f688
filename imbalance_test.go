package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// naiveImbalance recounts every shard instead of reading maintained counts.
func naiveImbalance(v View) float64 {
	counts := map[NodeID]int{}
	for _, n := range v.Nodes() {
		if n.State == NodeUp {
			counts[n.ID] = 0
		}
	}
	total := 0
	for sh := range v.Shards() {
		if _, up := counts[sh.Node]; up {
			counts[sh.Node]++
			total++
		}
	}
	if len(counts) < 2 || total == 0 {
		return 0
	}
	lo, hi := -1, -1
	for _, c := range counts {
		if lo < 0 || c < lo {
			lo = c
		}
		if c > hi {
			hi = c
		}
	}
	mean := float64(total) / float64(len(counts))
	return float64(hi-lo) / mean
}

func TestImbalanceMatchesRecount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := NewShardRegistry()
		nodes := rapid.IntRange(0, 8).Draw(t, "nodes")
		for n := 1; n <= nodes; n++ {
			require.NoError(t, g.Apply(AddNode{Node: NodeID(n)}))
		}
		shards := rapid.IntRange(0, 60).Draw(t, "shards")
		for i := 0; i < shards && nodes > 0; i++ {
			r := KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
			node := NodeID(rapid.IntRange(1, nodes).Draw(t, "owner"))
			require.NoError(t, g.Apply(CreateShard{Range: r, Node: node}))
		}
		for n := 1; n <= nodes; n++ {
			st := NodeState(rapid.IntRange(1, 3).Draw(t, "state"))
			require.NoError(t, g.Apply(SetNodeState{Node: NodeID(n), State: st}))
		}
		v := g.View()
		require.InDelta(t, naiveImbalance(v), Imbalance(v), 1e-9)
	})
}

func TestImbalance(t *testing.T) {
	tests := []struct {
		name   string
		counts []int       // shards per node, nodes 1..n
		states []NodeState // optional, default up
		want   float64
	}{
		{name: "no nodes", want: 0},
		{name: "one node", counts: []int{5}, want: 0},
		{name: "no shards", counts: []int{0, 0}, want: 0},
		{name: "even", counts: []int{3, 3, 3}, want: 0},
		{name: "empty node counts", counts: []int{4, 4, 0}, want: 1.5},
		{name: "down node ignored", counts: []int{4, 4, 0}, states: []NodeState{NodeUp, NodeUp, NodeDown}, want: 0},
		{name: "draining node ignored", counts: []int{2, 4, 9}, states: []NodeState{NodeUp, NodeUp, NodeDraining}, want: 2.0 / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewShardRegistry()
			k := byte(0)
			for i, c := range tt.counts {
				id := NodeID(i + 1)
				require.NoError(t, g.Apply(AddNode{Node: id}))
				for j := 0; j < c; j++ {
					require.NoError(t, g.Apply(CreateShard{Range: KeyRange{Start: []byte{k}, End: []byte{k + 1}}, Node: id}))
					k++
				}
			}
			for i, st := range tt.states {
				require.NoError(t, g.Apply(SetNodeState{Node: NodeID(i + 1), State: st}))
			}
			require.InDelta(t, tt.want, Imbalance(g.View()), 1e-9)
		})
	}
}
