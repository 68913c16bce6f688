package placement

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// applyAndComplete applies cmd and, for a transfer that began a move,
// completes it at once: a host whose copies are instant.
func applyAndComplete(t *testing.T, g *ShardRegistry, cmd Command) {
	t.Helper()
	require.NoError(t, g.Apply(cmd))
	if tr, ok := cmd.(PlaceTransfer); ok {
		if sh, _ := g.View().Shard(tr.Shard); sh.MovingTo != 0 {
			require.NoError(t, g.Apply(CompleteTransfer{Shard: tr.Shard, Epoch: sh.Epoch}))
		}
	}
}

// movesMap is a format-3 registry: nodes 1..nodes up, and shards one-key
// shards on node 1.
func movesMap(t *testing.T, nodes, shards int) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	for n := 1; n <= nodes; n++ {
		mustApply(t, g, AddNode{Node: NodeID(n)})
	}
	for i := range shards {
		mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: 1})
	}
	return g
}

func TestTransferBeginsThenCompletes(t *testing.T) {
	g := movesMap(t, 2, 1)
	at := time.Unix(1_700_000_000, 5)
	require.NoError(t, g.ApplyAt(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, at))
	v := g.View()
	sh, _ := v.Shard(1)
	require.Equal(t, Shard{ID: 1, Range: sh.Range, Node: 1, Epoch: 2, MovingTo: 2}, sh, "the owner keeps serving")
	require.Equal(t, 1, v.Count(1))
	moves := slices.Collect(v.Moves())
	require.Equal(t, []Move{{Shard: 1, From: 1, To: 2, Epoch: 2, Began: at}}, moves)

	// Stale epochs and second moves are refused.
	require.ErrorIs(t, g.Apply(CompleteTransfer{Shard: 1, Epoch: 1}), ErrStaleEpoch)
	require.ErrorIs(t, g.Apply(PlaceTransfer{Shard: 1, Epoch: 2, From: 1, To: 2}), ErrShardMoving)
	require.ErrorIs(t, g.Apply(PlaceSplit{Shard: 1, Epoch: 2, SplitKey: []byte{0, 1}}), ErrShardMoving)

	require.NoError(t, g.Apply(CompleteTransfer{Shard: 1, Epoch: 2}))
	sh, _ = g.View().Shard(1)
	require.Equal(t, NodeID(2), sh.Node)
	require.Zero(t, sh.MovingTo)
	require.Equal(t, uint64(3), sh.Epoch)
	require.Zero(t, g.View().MoveCount())
	require.ErrorIs(t, g.Apply(CompleteTransfer{Shard: 1, Epoch: 3}), ErrNotMoving)
	require.NoError(t, checkInvariants(g.View()))
}

func TestAbortKeepsTheOwner(t *testing.T) {
	g := movesMap(t, 2, 1)
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	mustApply(t, g, AbortTransfer{Shard: 1, Epoch: 2})
	sh, _ := g.View().Shard(1)
	require.Equal(t, NodeID(1), sh.Node)
	require.Zero(t, sh.MovingTo)
	require.Equal(t, uint64(3), sh.Epoch)
	require.ErrorIs(t, g.Apply(AbortTransfer{Shard: 1, Epoch: 3}), ErrNotMoving)
}

// A node that stops being up takes no data: moves into it are aborted as
// part of the state change, on every replica alike; and a node with moves
// into it cannot be removed.
func TestLeavingUpAbortsMovesInto(t *testing.T) {
	g := movesMap(t, 3, 2)
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	mustApply(t, g, PlaceTransfer{Shard: 2, Epoch: 1, From: 1, To: 3})
	require.ErrorIs(t, g.Apply(RemoveNode{Node: 2}), ErrNodeNotEmpty)
	mustApply(t, g, SetNodeState{Node: 2, State: NodeDraining})
	sh, _ := g.View().Shard(1)
	require.Zero(t, sh.MovingTo)
	require.Equal(t, uint64(3), sh.Epoch, "aborted: the next epoch")
	sh, _ = g.View().Shard(2)
	require.Equal(t, NodeID(3), sh.MovingTo, "moves into other nodes go on")
	mustApply(t, g, RemoveNode{Node: 2})
}

// Before format version 3 a transfer moves the shard at once, as older
// releases do, and the new commands are refused.
func TestTransferIsOnePhaseBeforeVersion3(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: versionFlags})
	mustApply(t, g, AddNode{Node: 1})
	mustApply(t, g, AddNode{Node: 2})
	mustApply(t, g, CreateShard{Range: KeyRange{}, Node: 1})
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	sh, _ := g.View().Shard(1)
	require.Equal(t, NodeID(2), sh.Node)
	require.Zero(t, sh.MovingTo)
	require.ErrorIs(t, g.Apply(AbortTransfer{Shard: 1, Epoch: 2}), ErrFormatVersion)
}

// The planner counts moves in flight as made, plans nothing for a moving
// shard, and keeps every node's window.
func TestPlannerCountsMovesInFlight(t *testing.T) {
	g := movesMap(t, 2, 8)
	pol := DefaultPolicy()
	pol.MaxInflightPerNode = 2
	c := NewCoordinator(pol)
	p := c.Plan(g.View(), 10)
	require.Len(t, p.Commands, 2, "the window of 2")
	require.Contains(t, p.Skipped, Skip{Reason: SkipInflightWindow, Node: 1})
	for _, cmd := range p.Commands {
		mustApply(t, g, cmd)
	}
	p = c.Plan(g.View(), 10)
	require.Empty(t, p.Commands, "the window is full until a move completes")
	for m := range g.View().Moves() {
		mustApply(t, g, CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch})
	}
	p = c.Plan(g.View(), 10)
	require.Len(t, p.Commands, 2)
	for _, cmd := range p.Commands {
		mustApply(t, g, cmd)
	}
	// Projected, the counts are even (4 and 4): once these moves
	// complete, nothing more is planned.
	for m := range g.View().Moves() {
		mustApply(t, g, CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch})
	}
	require.Equal(t, 4, g.View().Count(1))
	require.Equal(t, 4, g.View().Count(2))
	require.Empty(t, c.Plan(g.View(), 10).Commands)
}

// A byte window pauses a rebalance, it does not end it: the plan is
// limited (rebalancing stays on), and rounds of completing moves reach the
// stop band.
func TestByteWindowPausesRebalance(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion}, AddNode{Node: 1}, AddNode{Node: 2})
	for i := range 20 {
		owner := NodeID(1)
		if i >= 12 {
			owner = 2
		}
		mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: owner})
	}
	for id := ShardID(1); id <= 20; id++ {
		require.NoError(t, g.ReportStats(id, Stats{Keys: 50_000, Bytes: 10 << 20}))
	}
	pol := DefaultPolicy()
	pol.MaxInflightBytesPerNode = 15 << 20 // one 10 MiB shard at a time
	c := NewCoordinator(pol)
	for round := 0; g.View().Count(1) != 10; round++ {
		require.Less(t, round, 10)
		p := c.Plan(g.View(), 5)
		require.Len(t, p.Commands, 1, "round %d: %v", round, p.Skipped)
		if g.View().Count(1) > 11 { // more than this move to go
			require.True(t, p.Rebalancing, "round %d: the window ended the rebalance", round)
			require.Contains(t, p.Skipped, Skip{Reason: SkipInflightWindow, Node: 1})
		}
		require.NotContains(t, p.Skipped, Skip{Reason: SkipNoTarget})
		for _, cmd := range p.Commands {
			applyAndComplete(t, g, cmd)
		}
	}
	require.Equal(t, 10, g.View().Count(2))
}

// A drain (here the re-homing of a lost node's shards) whose emptiest
// destination's byte window is full goes on to the next destination.
func TestDrainTriesAnotherDestinationWhenAWindowIsFull(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	for n := NodeID(1); n <= 4; n++ {
		mustApply(t, g, AddNode{Node: n})
	}
	// Nodes 2 and 3 hold two shards each, node 1 none: node 1 stays the
	// emptiest after one shard is on its way to it.
	owners := []NodeID{4, 4, 4, 4, 4, 4, 2, 2, 3, 3}
	for i, owner := range owners {
		mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: owner})
	}
	for id := ShardID(1); id <= ShardID(len(owners)); id++ {
		require.NoError(t, g.ReportStats(id, Stats{Keys: 50_000, Bytes: 10 << 20}))
	}
	mustApply(t, g, SetNodeState{Node: 4, State: NodeLost})
	pol := DefaultPolicy()
	pol.MaxInflightBytesPerNode = 15 << 20 // one shard into each node at a time
	p := NewCoordinator(pol).Plan(g.View(), 10)
	to := map[NodeID]int{}
	for _, c := range p.Commands {
		to[c.(PlaceTransfer).To]++
	}
	require.Equal(t, map[NodeID]int{1: 1, 2: 1, 3: 1}, to, "one shard to each up node: %v", p.Commands)
}

// The planner finds the nodes of moves in flight by a table where node IDs
// are dense and by a search where they are not; both give s.nodes' index.
func TestNodeIndexerDenseAndSparse(t *testing.T) {
	for _, ids := range [][]NodeID{{1, 2, 3, 7}, {5, 1 << 40, 1<<63 + 9}} {
		g := NewShardRegistry()
		for _, id := range ids {
			mustApply(t, g, AddNode{Node: id})
		}
		pl := &planner{s: g.View().state(), sc: getScratch()}
		index := pl.nodeIndexer()
		for i, id := range ids {
			require.Equal(t, i, index(id), "node %d", id)
		}
		require.Equal(t, -1, index(4))
		require.Equal(t, -1, index(1<<62))
		scratchPool.Put(pl.sc)
	}
}
