package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Over rounds of planning, beginning, completing, aborting and draining on
// random format-3 maps, no node ever has more moves in flight into it, or
// out of it, than Policy.MaxInflightPerNode, nor more bytes in flight than
// MaxInflightBytesPerNode unless a single move carries them; and the map
// keeps its invariants.
func TestInflightWindowsHold(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, nodes, shards := drawMap(t, 7, func(int) int { return 1 }, 120)
		pol := DefaultPolicy()
		pol.MaxInflightPerNode = rapid.IntRange(1, 6).Draw(t, "window")
		pol.MaxInflightBytesPerNode = rapid.Uint64Range(0, 64<<20).Draw(t, "bytesWindow")
		pol.MaxMovesPerNode = rapid.IntRange(1, 10).Draw(t, "cap")
		for id := ShardID(1); id <= ShardID(shards); id++ {
			if rapid.Bool().Draw(t, "hasstats") {
				st := Stats{Keys: 50_000, Bytes: rapid.Uint64Range(1<<20, 40<<20).Draw(t, "bytes")}
				require.NoError(t, g.ReportStats(id, st))
			}
		}
		c := NewCoordinator(pol)
		for round := range 12 {
			p := c.Plan(g.View(), rapid.IntRange(1, 20).Draw(t, "limit"))
			for _, cmd := range p.Commands {
				require.NoError(t, g.Apply(cmd), "round %d: %v", round, cmd)
			}
			checkWindows(t, g.View(), pol)
			for m := range g.View().Moves() {
				switch rapid.IntRange(0, 3).Draw(t, "fate") {
				case 0:
					require.NoError(t, g.Apply(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}))
				case 1:
					require.NoError(t, g.Apply(AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}))
				}
			}
			if rapid.IntRange(0, 5).Draw(t, "drain") == 0 {
				n := NodeID(rapid.IntRange(1, nodes).Draw(t, "drained"))
				require.NoError(t, g.Apply(SetNodeState{Node: n, State: NodeDraining}))
				for m := range g.View().Moves() {
					require.NotEqual(t, n, m.To, "a move into a draining node")
				}
			}
			require.NoError(t, checkInvariants(g.View()))
		}
	})
}

func checkWindows(t *rapid.T, v View, pol Policy) {
	in, out := map[NodeID]int{}, map[NodeID]int{}
	inBytes, outBytes := map[NodeID]uint64{}, map[NodeID]uint64{}
	mean := meanKnownBytes(v)
	for m := range v.Moves() {
		in[m.To]++
		out[m.From]++
		b := mean
		if st, ok := v.Stats(m.Shard); ok {
			b = float64(st.Bytes)
		}
		inBytes[m.To] += uint64(b)
		outBytes[m.From] += uint64(b)
	}
	for n, k := range in {
		require.LessOrEqual(t, k, pol.MaxInflightPerNode, "moves into node %d", n)
		if w := pol.MaxInflightBytesPerNode; w > 0 && k > 1 {
			require.LessOrEqual(t, inBytes[n], w+uint64(k), "bytes into node %d", n) // +k: rounding
		}
	}
	for n, k := range out {
		require.LessOrEqual(t, k, pol.MaxInflightPerNode, "moves out of node %d", n)
		if w := pol.MaxInflightBytesPerNode; w > 0 && k > 1 {
			require.LessOrEqual(t, outBytes[n], w+uint64(k), "bytes out of node %d", n)
		}
	}
}

func meanKnownBytes(v View) float64 {
	known, sum := 0, 0.0
	for _, n := range v.Nodes() {
		u, _ := v.Usage(n.ID)
		known += u.Known
		sum += float64(u.Bytes)
	}
	if known == 0 {
		return 0
	}
	return sum / float64(known)
}

// drawMap draws a map at the newest format version: 2 to maxNodes up
// nodes and minShards(nodes) to maxShards shards, each on node 1 or, drawn
// so, on any node.
func drawMap(t *rapid.T, maxNodes int, minShards func(nodes int) int, maxShards int) (g *ShardRegistry, nodes, shards int) {
	g = NewShardRegistry()
	require.NoError(t, g.Apply(SetFormatVersion{Version: FormatVersion}))
	nodes = rapid.IntRange(2, maxNodes).Draw(t, "nodes")
	for n := 1; n <= nodes; n++ {
		require.NoError(t, g.Apply(AddNode{Node: NodeID(n)}))
	}
	shards = rapid.IntRange(minShards(nodes), maxShards).Draw(t, "shards")
	for i := range shards {
		owner := NodeID(1)
		if rapid.Bool().Draw(t, "spread") {
			owner = NodeID(rapid.IntRange(1, nodes).Draw(t, "owner"))
		}
		r := KeyRange{Start: []byte{byte(i >> 8), byte(i)}, End: []byte{byte((i + 1) >> 8), byte(i + 1)}}
		require.NoError(t, g.Apply(CreateShard{Range: r, Node: owner}))
	}
	return g, nodes, shards
}
