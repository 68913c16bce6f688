package placement

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// starvationMap builds nodes 1–3 (all up), and n shards on node 3 with the
// given stats, then one more shard on node 1 with stats up1, and sets node
// 3 to state.
func starvationMap(t *testing.T, n int, st Stats, up1 Stats, state NodeState) (*ShardRegistry, ShardID) {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion}, AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3})
	for i := range n {
		r := KeyRange{Start: fmt.Appendf(nil, "k%04d", i), End: fmt.Appendf(nil, "k%04d", i+1)}
		mustApply(t, g, CreateShard{Range: r, Node: 3})
		require.NoError(t, g.ReportStats(ShardID(i+1), st))
	}
	id := ShardID(n + 1)
	mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte("z"), End: []byte("zz")}, Node: 1})
	require.NoError(t, g.ReportStats(id, up1))
	mustApply(t, g, SetNodeState{Node: 3, State: state})
	return g, id
}

// Oversized shards on a down node cost no scan budget: the up node's
// oversized shard is split in the first plan (it never was: 104 "node not
// up" skips filled every plan's budget).
func TestDownNodeDoesNotStarveSplits(t *testing.T) {
	pol := DefaultPolicy()
	big := Stats{Keys: 2 * pol.SplitKeys, Bytes: 1 << 20}
	g, id := starvationMap(t, 200, big, big, NodeDown)
	p := NewCoordinator(pol).Plan(g.View(), 5)
	require.True(t, splits(p, id), "plan %v", p.Commands)
	require.Contains(t, p.Skipped, Skip{Reason: SkipNodeNotUp, Count: 200})
}

// Cold shards on a down node cost no scan budget either: cold neighbours
// on an up node merge (none did before).
func TestDownNodeDoesNotStarveMerges(t *testing.T) {
	pol := DefaultPolicy()
	cold := Stats{Keys: 1, Bytes: 1}
	g, id := starvationMap(t, 200, cold, cold, NodeDown)
	mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte("zz"), End: []byte("zzz")}, Node: 1})
	require.NoError(t, g.ReportStats(id+1, cold))
	pol.MergeEmbargo = 0
	p := NewCoordinator(pol).Plan(g.View(), 5)
	require.Contains(t, p.Commands, Command(PlaceMerge{Left: id, LeftEpoch: 1, Right: id + 1, RightEpoch: 1}), "plan %v", p.Commands)
}

// A long drain does not hold back splits: each kind of work has room
// reserved in every plan.
func TestLongDrainDoesNotStarveSplits(t *testing.T) {
	pol := DefaultPolicy()
	mid := Stats{Keys: pol.SplitKeys / 2, Bytes: 1 << 20}
	big := Stats{Keys: 2 * pol.SplitKeys, Bytes: 1 << 20}
	g, id := starvationMap(t, 300, mid, big, NodeDraining)
	p := NewCoordinator(pol).Plan(g.View(), 5)
	require.Len(t, p.Commands, 5)
	require.True(t, splits(p, id), "plan %v", p.Commands)
	transfers := 0
	for _, c := range p.Commands {
		if _, ok := c.(PlaceTransfer); ok {
			transfers++
		}
	}
	require.Equal(t, 4, transfers, "the drain takes the room the others leave")
}

// splits reports whether p splits shard id.
func splits(p Plan, id ShardID) bool {
	for _, c := range p.Commands {
		if sp, ok := c.(PlaceSplit); ok && sp.Shard == id {
			return true
		}
	}
	return false
}

// A lost node's shards are re-homed, all of them, and the empty node can
// then be removed; a down node keeps its shards.
func TestLostNodeIsRehomedThenRemovable(t *testing.T) {
	g, _ := starvationMap(t, 30, Stats{Keys: 10_000, Bytes: 1 << 20}, Stats{Keys: 10_000, Bytes: 1 << 20}, NodeLost)
	require.ErrorIs(t, g.Apply(RemoveNode{Node: 3}), ErrNodeNotEmpty)
	c := NewCoordinator(DefaultPolicy())
	for round := 0; g.View().Count(3) > 0; round++ {
		require.Less(t, round, 50)
		p := c.Plan(g.View(), 5)
		require.NotEmpty(t, p.Commands)
		for _, cmd := range p.Commands {
			if tr, ok := cmd.(PlaceTransfer); ok && tr.From == 3 {
				require.Contains(t, []NodeID{1, 2}, tr.To, "re-homed onto an up node")
			}
			applyAndComplete(t, g, cmd) // copied from replicas or backups
		}
	}
	require.NoError(t, g.Apply(RemoveNode{Node: 3}))
	require.NoError(t, checkInvariants(g.View()))
}
