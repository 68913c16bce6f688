package placement

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// diffRegistry returns a registry at format version 3 (two-phase moves)
// with nodes 1 to 3 and shards 1 [a, m) on 1, 2 [m, t) on 2, 3 [t, +inf)
// on 1.
func diffRegistry(t *testing.T) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g,
		SetFormatVersion{Version: 3},
		AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3},
		CreateShard{Range: KeyRange{Start: key("a"), End: key("m")}, Node: 1},
		CreateShard{Range: KeyRange{Start: key("m"), End: key("t")}, Node: 2},
		CreateShard{Range: KeyRange{Start: key("t")}, Node: 1},
	)
	return g
}

// diffAfter applies cmds to g and returns Diff from the view before them to
// the view after, collected.
func diffAfter(t *testing.T, g *ShardRegistry, cmds ...Command) []Change {
	t.Helper()
	prev := g.View()
	mustApply(t, g, cmds...)
	return slices.Collect(Diff(prev, g.View()))
}

// changeStrings returns each change formatted by Change.String.
func changeStrings(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

func TestDiffSameState(t *testing.T) {
	g := diffRegistry(t)
	v := g.View()
	require.Empty(t, slices.Collect(Diff(v, v)))
	require.Empty(t, slices.Collect(Diff(v, g.View())), "no write between the views")
	require.Empty(t, slices.Collect(Diff(View{}, View{})))
	require.Empty(t, slices.Collect(Diff(View{}, NewShardRegistry().View())))

	// Soft state only: a new state, and nothing Diff reports.
	require.NoError(t, g.ReportStats(1, Stats{Keys: 1, Bytes: 2}))
	require.NoError(t, g.ReportNodeStats(1, NodeStats{Capacity: 10}))
	mustApply(t, g, SetRebalancing{Bytes: true})
	require.Empty(t, slices.Collect(Diff(v, g.View())))
}

func TestDiffFromEmpty(t *testing.T) {
	g := diffRegistry(t)
	got := slices.Collect(Diff(View{}, g.View()))
	require.Equal(t, []string{
		"node 1 added (up)",
		"node 2 added (up)",
		"node 3 added (up)",
		`shard 1 added: ["a", "m") on node 1`,
		`shard 2 added: ["m", "t") on node 2`,
		`shard 3 added: ["t", +inf) on node 1`,
	}, changeStrings(got))
	sh, _ := g.View().Shard(2)
	require.Equal(t, Change{Kind: ChangeShardAdded, Shard: 2, After: sh}, got[4])
	n, _ := g.View().Node(1)
	require.Equal(t, Change{Kind: ChangeNodeAdded, Node: 1, NodeAfter: n}, got[0])

	// And back: everything removed, nodes last.
	require.Equal(t, []string{
		`shard 1 removed: ["a", "m") on node 1`,
		`shard 2 removed: ["m", "t") on node 2`,
		`shard 3 removed: ["t", +inf) on node 1`,
		"node 1 removed",
		"node 2 removed",
		"node 3 removed",
	}, changeStrings(slices.Collect(Diff(g.View(), View{}))))
}

func TestDiffNodes(t *testing.T) {
	g := diffRegistry(t)
	got := diffAfter(t, g,
		AddNode{Node: 5},
		SetNodeState{Node: 2, State: NodeDraining},
		AddNode{Node: 4}, RemoveNode{Node: 4},
		RemoveNode{Node: 3},
		SetNodeState{Node: 1, State: NodeDown}, SetNodeState{Node: 1, State: NodeUp},
	)
	require.Equal(t, []string{"node 2 up -> draining", "node 5 added (up)", "node 3 removed"}, changeStrings(got))
	require.Equal(t, Change{
		Kind:       ChangeNodeStateChanged,
		Node:       2,
		NodeBefore: Node{ID: 2, State: NodeUp, Shards: 1},
		NodeAfter:  Node{ID: 2, State: NodeDraining, Shards: 1},
	}, got[0])
	require.Equal(t, Change{Kind: ChangeNodeRemoved, Node: 3, NodeBefore: Node{ID: 3, State: NodeUp}}, got[2])

	// A change of shard count alone is not a node change.
	got = diffAfter(t, g, CreateShard{Range: KeyRange{Start: key("0"), End: key("1")}, Node: 1})
	require.Equal(t, []string{`shard 4 added: ["0", "1") on node 1`}, changeStrings(got))
}

func TestDiffSplitAndMerge(t *testing.T) {
	g := diffRegistry(t)
	before, _ := g.View().Shard(1)
	got := diffAfter(t, g, PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")})
	require.Equal(t, []string{
		`shard 1 range ["a", "m") -> ["a", "f")`,
		`shard 4 added: ["f", "m") on node 1`,
	}, changeStrings(got))
	left, _ := g.View().Shard(1)
	require.Equal(t, Change{Kind: ChangeShardRangeChanged, Shard: 1, Before: before, After: left}, got[0])
	require.Equal(t, uint64(2), got[0].After.Epoch)

	got = diffAfter(t, g, PlaceMerge{Left: 1, LeftEpoch: 2, Right: 4, RightEpoch: 2})
	require.Equal(t, []string{
		`shard 1 range ["a", "f") -> ["a", "m")`,
		`shard 4 removed: ["f", "m") on node 1`,
	}, changeStrings(got))

	// Split and merged back: the same range, owner and no move, but a new
	// epoch.
	prev := g.View()
	mustApply(t, g,
		PlaceSplit{Shard: 2, Epoch: 1, SplitKey: key("p")},
		PlaceMerge{Left: 2, LeftEpoch: 2, Right: 5, RightEpoch: 2},
	)
	got = slices.Collect(Diff(prev, g.View()))
	require.Equal(t, []string{"shard 2 epoch 1 -> 3"}, changeStrings(got))
	require.Equal(t, ChangeShardEpochChanged, got[0].Kind)
}

func TestDiffMoves(t *testing.T) {
	g := diffRegistry(t)

	// Begun: moving, the owner unchanged.
	got := diffAfter(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	require.Equal(t, []string{"shard 1 moving: node 1 -> 2"}, changeStrings(got))
	require.Equal(t, NodeID(0), got[0].Before.MovingTo)
	require.Equal(t, Shard{ID: 1, Range: KeyRange{Start: key("a"), End: key("m")}, Node: 1, Epoch: 2, MovingTo: 2}, got[0].After)

	// Completed: moved, to the target of the move.
	got = diffAfter(t, g, CompleteTransfer{Shard: 1, Epoch: 2})
	require.Equal(t, []string{"shard 1 moved: node 1 -> 2"}, changeStrings(got))
	require.Equal(t, NodeID(2), got[0].Before.MovingTo)
	require.Equal(t, NodeID(0), got[0].After.MovingTo)

	// Aborted: the owner stays, MovingTo is cleared.
	mustApply(t, g, PlaceTransfer{Shard: 2, Epoch: 1, From: 2, To: 3})
	got = diffAfter(t, g, AbortTransfer{Shard: 2, Epoch: 2})
	require.Equal(t, []string{"shard 2 move to node 3 aborted"}, changeStrings(got))
	require.Equal(t, uint64(3), got[0].After.Epoch)

	// Aborted by the target leaving the up state.
	mustApply(t, g, PlaceTransfer{Shard: 2, Epoch: 3, From: 2, To: 3})
	got = diffAfter(t, g, SetNodeState{Node: 3, State: NodeDown})
	require.Equal(t, []string{"node 3 up -> down", "shard 2 move to node 3 aborted"}, changeStrings(got))
	mustApply(t, g, SetNodeState{Node: 3, State: NodeUp})

	// Between distant views: a move aborted and another begun to another
	// node, or to the same one (a new move: the epoch says so).
	mustApply(t, g, PlaceTransfer{Shard: 3, Epoch: 1, From: 1, To: 2})
	got = diffAfter(t, g, AbortTransfer{Shard: 3, Epoch: 2}, PlaceTransfer{Shard: 3, Epoch: 3, From: 1, To: 3})
	require.Equal(t, []string{"shard 3 move to node 2 aborted", "shard 3 moving: node 1 -> 3"}, changeStrings(got))
	got = diffAfter(t, g, AbortTransfer{Shard: 3, Epoch: 4}, PlaceTransfer{Shard: 3, Epoch: 5, From: 1, To: 3})
	require.Equal(t, []string{"shard 3 move to node 3 aborted", "shard 3 moving: node 1 -> 3"}, changeStrings(got))

	// Completed and a new move begun from the new owner.
	got = diffAfter(t, g, CompleteTransfer{Shard: 3, Epoch: 6}, PlaceTransfer{Shard: 3, Epoch: 7, From: 3, To: 2})
	require.Equal(t, []string{"shard 3 moved: node 1 -> 3", "shard 3 moving: node 3 -> 2"}, changeStrings(got))

	// A one-phase transfer, before format version 3, is a move at once.
	h := NewShardRegistry()
	mustApply(t, h, AddNode{Node: 1}, AddNode{Node: 2}, CreateShard{Range: KeyRange{}, Node: 1})
	got = diffAfter(t, h, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	require.Equal(t, []string{"shard 1 moved: node 1 -> 2"}, changeStrings(got))
}

func TestDiffSeveralChangesOfOneShard(t *testing.T) {
	g := diffRegistry(t)
	got := diffAfter(t, g,
		PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")},
		PlaceTransfer{Shard: 1, Epoch: 2, From: 1, To: 3},
		CompleteTransfer{Shard: 1, Epoch: 3},
		PlaceTransfer{Shard: 1, Epoch: 4, From: 3, To: 2},
	)
	require.Equal(t, []string{
		`shard 1 range ["a", "m") -> ["a", "f")`,
		"shard 1 moved: node 1 -> 3",
		"shard 1 moving: node 3 -> 2",
		`shard 4 added: ["f", "m") on node 1`,
	}, changeStrings(got))
	for _, c := range got[:3] {
		require.Equal(t, uint64(1), c.Before.Epoch)
		require.Equal(t, uint64(5), c.After.Epoch)
	}
}

func TestDiffStopsEarly(t *testing.T) {
	g := diffRegistry(t)
	v := g.View()
	for _, n := range []int{1, 3, 4, 6} {
		var got []Change
		for c := range Diff(View{}, v) {
			got = append(got, c)
			if len(got) == n {
				break
			}
		}
		require.Len(t, got, n)
	}
	// Stopping on a removed shard, and on a removed node.
	for _, n := range []int{1, 4} {
		var got []Change
		for c := range Diff(v, View{}) {
			got = append(got, c)
			if len(got) == n {
				break
			}
		}
		require.Len(t, got, n)
	}
	// Ranged over again, it yields the same.
	d := Diff(View{}, v)
	require.Equal(t, slices.Collect(d), slices.Collect(d))
}

func TestChangeKindString(t *testing.T) {
	for k := ChangeNodeAdded; k <= ChangeShardEpochChanged; k++ {
		require.NotContains(t, k.String(), "ChangeKind(")
		require.NotEmpty(t, Change{Kind: k}.String())
	}
	require.Equal(t, "ChangeKind(0)", ChangeKind(0).String())
	require.Equal(t, "ChangeKind(99) shard 7", Change{Kind: 99, Shard: 7}.String())
}

// diffCommand draws a command for v that usually applies, the two-phase
// commands included.
func diffCommand(t *rapid.T, v View) Command {
	shards := slices.Collect(v.Shards())
	moves := slices.Collect(v.Moves())
	node := NodeID(rapid.IntRange(1, 4).Draw(t, "node"))
	if len(shards) == 0 || rapid.IntRange(0, 9).Draw(t, "nodecmd") == 0 {
		switch rapid.IntRange(0, 3).Draw(t, "nodekind") {
		case 0:
			return AddNode{Node: node}
		case 1:
			return SetNodeState{Node: node, State: NodeState(rapid.IntRange(1, 4).Draw(t, "state"))}
		case 2:
			return RemoveNode{Node: node}
		}
		start := []byte{byte(rapid.IntRange('a', 'z').Draw(t, "start"))}
		return CreateShard{Range: KeyRange{Start: start, End: append(start, 0)}, Node: node}
	}
	sh := rapid.SampledFrom(shards).Draw(t, "shard")
	switch rapid.IntRange(0, 4).Draw(t, "kind") {
	case 0:
		k, _ := MidKey(sh.Range)
		return PlaceSplit{Shard: sh.ID, Epoch: sh.Epoch, SplitKey: k}
	case 1:
		if n, ok := v.Lookup(sh.Range.End); ok && sh.Range.End != nil {
			return PlaceMerge{Left: sh.ID, LeftEpoch: sh.Epoch, Right: n.ID, RightEpoch: n.Epoch}
		}
	case 2:
		if len(moves) > 0 {
			m := rapid.SampledFrom(moves).Draw(t, "move")
			if rapid.Bool().Draw(t, "complete") {
				return CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}
			}
			return AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}
		}
	}
	return PlaceTransfer{Shard: sh.ID, Epoch: sh.Epoch, From: sh.Node, To: node}
}

// Between any two views of a random history, Diff's changes take prev's
// nodes and shards to next's exactly, each change's Before is what prev
// holds, and the kinds agree with the fields that changed.
func TestDiffReplaysToNext(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := NewShardRegistry()
		if rapid.Bool().Draw(t, "twophase") {
			require.NoError(t, g.Apply(SetFormatVersion{Version: 3}))
		}
		views := []View{g.View()}
		for range rapid.IntRange(1, 80).Draw(t, "steps") {
			_ = g.Apply(diffCommand(t, g.View()))
			if rapid.IntRange(0, 3).Draw(t, "keep") == 0 {
				views = append(views, g.View())
			}
		}
		views = append(views, g.View())
		prev := rapid.SampledFrom(views).Draw(t, "prev")
		next := rapid.SampledFrom(views).Draw(t, "next")

		requireDiffReplays(t, prev, next)
	})
}

// requireDiffReplays checks that Diff's changes take prev's nodes and shards
// to next's exactly, that each change's Before is what prev holds and its
// After what next holds, and that the kinds agree with the fields that
// changed and come in order.
func requireDiffReplays(t require.TestingT, prev, next View) {
	nodes := map[NodeID]NodeState{}
	for _, n := range prev.Nodes() {
		nodes[n.ID] = n.State
	}
	shards := map[ShardID]Shard{}
	for sh := range prev.Shards() {
		shards[sh.ID] = sh
	}
	seen := map[ShardID][]ChangeKind{}
	for c := range Diff(prev, next) {
		if c.Kind.isNode() {
			require.Zero(t, c.Shard)
			b, ok := prev.Node(c.Node)
			require.Equal(t, c.Kind != ChangeNodeAdded, ok)
			require.Equal(t, b, c.NodeBefore)
			if c.Kind == ChangeNodeRemoved {
				delete(nodes, c.Node)
			} else {
				nodes[c.Node] = c.NodeAfter.State
			}
			continue
		}
		require.Zero(t, c.Node)
		b, ok := prev.Shard(c.Shard)
		require.Equal(t, c.Kind != ChangeShardAdded, ok)
		require.Equal(t, b, c.Before)
		a, _ := next.Shard(c.Shard)
		if c.Kind != ChangeShardRemoved {
			require.Equal(t, a, c.After)
		}
		switch c.Kind {
		case ChangeShardRemoved:
			delete(shards, c.Shard)
		case ChangeShardRangeChanged:
			require.False(t, sameRange(c.Before.Range, c.After.Range))
		case ChangeShardMoved:
			require.NotEqual(t, c.Before.Node, c.After.Node)
		case ChangeShardMoving:
			require.NotZero(t, c.After.MovingTo)
		case ChangeShardMoveAborted:
			require.NotZero(t, c.Before.MovingTo)
			require.Equal(t, c.Before.Node, c.After.Node)
		}
		if c.Kind != ChangeShardRemoved {
			shards[c.Shard] = c.After
		}
		seen[c.Shard] = append(seen[c.Shard], c.Kind)
	}
	for id, ks := range seen {
		require.True(t, slices.IsSorted(ks), "shard %d: kinds out of order: %v", id, ks)
		if slices.Contains(ks, ChangeShardEpochChanged) {
			require.Len(t, ks, 1)
		}
	}

	want := map[NodeID]NodeState{}
	for _, n := range next.Nodes() {
		want[n.ID] = n.State
	}
	require.Equal(t, want, nodes)
	wantShards := map[ShardID]Shard{}
	for sh := range next.Shards() {
		wantShards[sh.ID] = sh
	}
	require.Equal(t, wantShards, shards)
}

// Diff walks many more shards than it reads at a time: changes at and
// around the batch boundaries, and at both ends, are all reported.
func TestDiffManyShards(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: 3}, AddNode{Node: 1}, AddNode{Node: 2})
	const n = 4*cursorBatch + 10
	for i := range n {
		s, e := []byte(fmt.Sprintf("k%05d", i)), []byte(fmt.Sprintf("k%05d", i+1))
		mustApply(t, g, CreateShard{Range: KeyRange{Start: s, End: e}, Node: 1})
	}
	prev := g.View()
	var want []string
	for _, id := range []ShardID{1, cursorBatch - 1, cursorBatch + 1, 2*cursorBatch + 1, 3 * cursorBatch, n - 1} {
		mustApply(t, g, PlaceMerge{Left: id, LeftEpoch: 1, Right: id + 1, RightEpoch: 1})
		want = append(want, fmt.Sprintf("shard %d range", id), fmt.Sprintf("shard %d removed", id+1))
	}
	for _, id := range []ShardID{2 * cursorBatch, 3*cursorBatch - 1, 3*cursorBatch + 2} {
		mustApply(t, g, PlaceTransfer{Shard: id, Epoch: 1, From: 1, To: 2})
		want = append(want, fmt.Sprintf("shard %d moving", id))
	}
	mustApply(t, g, PlaceSplit{Shard: 7, Epoch: 1, SplitKey: key("k00006x")})
	want = append(want, "shard 7 range", fmt.Sprintf("shard %d added", n+1))
	got := slices.Collect(Diff(prev, g.View()))
	require.Len(t, got, len(want))
	var gotStrings []string
	for _, c := range got {
		gotStrings = append(gotStrings, c.String())
	}
	slices.Sort(want)
	slices.SortFunc(gotStrings, func(a, b string) int { return strings.Compare(a, b) })
	for i := range want {
		require.True(t, strings.HasPrefix(gotStrings[i], want[i]), "%q is not %q", gotStrings[i], want[i])
	}
	requireDiffReplays(t, prev, g.View())
	requireDiffReplays(t, g.View(), prev)
	requireDiffReplays(t, View{}, g.View())
	requireDiffReplays(t, g.View(), View{})

	// A whole number of batches: the last read finds nothing more.
	h := NewShardRegistry()
	mustApply(t, h, AddNode{Node: 1})
	for i := range 2 * cursorBatch {
		mustApply(t, h, CreateShard{Range: KeyRange{Start: []byte(fmt.Sprintf("k%05d", i)), End: []byte(fmt.Sprintf("k%05d", i+1))}, Node: 1})
	}
	require.Len(t, slices.Collect(Diff(h.View(), View{})), 2*cursorBatch+1)
	requireDiffReplays(t, h.View(), View{})
	requireDiffReplays(t, View{}, h.View())
}
