package placement

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// fixture: nodes 1, 2 up, 3 draining, 4 down; shards
// 1 ["a","m") on 1, 2 ["m","t") on 2, 3 ["t",+inf) on 1; ["", "a") is free.
func fixture(t *testing.T) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g,
		AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3}, AddNode{Node: 4},
		SetNodeState{Node: 3, State: NodeDraining}, SetNodeState{Node: 4, State: NodeDown},
		CreateShard{Range: KeyRange{Start: []byte("a"), End: []byte("m")}, Node: 1},
		CreateShard{Range: KeyRange{Start: []byte("m"), End: []byte("t")}, Node: 2},
		CreateShard{Range: KeyRange{Start: []byte("t")}, Node: 1},
	)
	require.NoError(t, g.ReportStats(1, Stats{Keys: 10, Bytes: 100, SplitKey: []byte("f")}))
	return g
}

func mustApply(t *testing.T, g *ShardRegistry, cmds ...Command) {
	t.Helper()
	for _, c := range cmds {
		require.NoError(t, g.Apply(c), "apply %v", c)
	}
}

func key(s string) []byte { return []byte(s) }

func TestApplyRejects(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
		want error
	}{
		{name: "add node zero", cmd: AddNode{Node: 0}, want: ErrInvalidCommand},
		{name: "add existing node", cmd: AddNode{Node: 1}, want: ErrNodeExists},
		{name: "state of unknown node", cmd: SetNodeState{Node: 9, State: NodeUp}, want: ErrUnknownNode},
		{name: "zero state", cmd: SetNodeState{Node: 1}, want: ErrInvalidCommand},
		{name: "undefined state", cmd: SetNodeState{Node: 1, State: 7}, want: ErrInvalidCommand},
		{name: "remove unknown node", cmd: RemoveNode{Node: 9}, want: ErrUnknownNode},
		{name: "remove node owning shards", cmd: RemoveNode{Node: 1}, want: ErrNodeNotEmpty},
		{name: "create with used ID", cmd: CreateShard{ID: 2, Range: KeyRange{End: key("a")}, Node: 1}, want: ErrShardExists},
		{name: "create with last ID", cmd: CreateShard{ID: ^ShardID(0), Range: KeyRange{End: key("a")}, Node: 1}, want: ErrInvalidCommand},
		{name: "create reversed range", cmd: CreateShard{Range: KeyRange{Start: key("b"), End: key("a")}, Node: 1}, want: ErrInvalidRange},
		{name: "create empty range", cmd: CreateShard{Range: KeyRange{Start: key("a"), End: key("a")}, Node: 1}, want: ErrInvalidRange},
		{name: "create empty end", cmd: CreateShard{Range: KeyRange{End: []byte{}}, Node: 1}, want: ErrInvalidRange},
		{name: "create overlapping left", cmd: CreateShard{Range: KeyRange{End: key("b")}, Node: 1}, want: ErrOverlap},
		{name: "create overlapping inside", cmd: CreateShard{Range: KeyRange{Start: key("n"), End: key("o")}, Node: 1}, want: ErrOverlap},
		{name: "create overlapping unbounded", cmd: CreateShard{Range: KeyRange{Start: key("")}, Node: 1}, want: ErrOverlap},
		{name: "create on unknown node", cmd: CreateShard{Range: KeyRange{End: key("a")}, Node: 9}, want: ErrUnknownNode},
		{name: "create on draining node", cmd: CreateShard{Range: KeyRange{End: key("a")}, Node: 3}, want: ErrNodeNotUp},
		{name: "create on down node", cmd: CreateShard{Range: KeyRange{End: key("a")}, Node: 4}, want: ErrNodeNotUp},
		{name: "split unknown shard", cmd: PlaceSplit{Shard: 9, Epoch: 1, SplitKey: key("b")}, want: ErrUnknownShard},
		{name: "split stale epoch", cmd: PlaceSplit{Shard: 1, Epoch: 0, SplitKey: key("b")}, want: ErrStaleEpoch},
		{name: "split at start", cmd: PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("a")}, want: ErrBadSplitKey},
		{name: "split at end", cmd: PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("m")}, want: ErrBadSplitKey},
		{name: "split outside", cmd: PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("z")}, want: ErrBadSplitKey},
		{name: "split at nil key", cmd: PlaceSplit{Shard: 1, Epoch: 1}, want: ErrBadSplitKey},
		{name: "merge unknown left", cmd: PlaceMerge{Left: 9, LeftEpoch: 1, Right: 2, RightEpoch: 1}, want: ErrUnknownShard},
		{name: "merge unknown right", cmd: PlaceMerge{Left: 1, LeftEpoch: 1, Right: 9, RightEpoch: 1}, want: ErrUnknownShard},
		{name: "merge stale left", cmd: PlaceMerge{Left: 1, LeftEpoch: 2, Right: 2, RightEpoch: 1}, want: ErrStaleEpoch},
		{name: "merge stale right", cmd: PlaceMerge{Left: 1, LeftEpoch: 1, Right: 2, RightEpoch: 2}, want: ErrStaleEpoch},
		{name: "merge not adjacent", cmd: PlaceMerge{Left: 3, LeftEpoch: 1, Right: 1, RightEpoch: 1}, want: ErrNotAdjacent},
		{name: "merge with itself", cmd: PlaceMerge{Left: 1, LeftEpoch: 1, Right: 1, RightEpoch: 1}, want: ErrNotAdjacent},
		{name: "merge across nodes", cmd: PlaceMerge{Left: 1, LeftEpoch: 1, Right: 2, RightEpoch: 1}, want: ErrNodeMismatch},
		{name: "transfer unknown shard", cmd: PlaceTransfer{Shard: 9, Epoch: 1, From: 1, To: 2}, want: ErrUnknownShard},
		{name: "transfer stale epoch", cmd: PlaceTransfer{Shard: 1, Epoch: 5, From: 1, To: 2}, want: ErrStaleEpoch},
		{name: "transfer from wrong owner", cmd: PlaceTransfer{Shard: 1, Epoch: 1, From: 2, To: 1}, want: ErrWrongOwner},
		{name: "transfer to unknown node", cmd: PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 9}, want: ErrUnknownNode},
		{name: "transfer to draining node", cmd: PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 3}, want: ErrNodeNotUp},
		{name: "transfer to down node", cmd: PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 4}, want: ErrNodeNotUp},
		{name: "transfer to same node", cmd: PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 1}, want: ErrInvalidCommand},
		{name: "nil command", cmd: nil, want: ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := fixture(t)
			before := dumpOf(g.View())
			err := g.Apply(tt.cmd)
			require.ErrorIs(t, err, ErrRejected)
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, before, dumpOf(g.View()), "a rejected command changed the registry")
			require.NoError(t, checkInvariants(g.View()))
		})
	}
}

func TestSplitKeepsLeftIDAndTakesNextID(t *testing.T) {
	g := fixture(t)
	next := g.View().NextShardID()
	mustApply(t, g, PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")})
	v := g.View()
	left, ok := v.Shard(1)
	require.True(t, ok)
	right, ok := v.Shard(next)
	require.True(t, ok)
	require.Equal(t, Shard{ID: 1, Range: KeyRange{Start: key("a"), End: key("f")}, Node: 1, Epoch: 2}, left)
	require.Equal(t, Shard{ID: next, Range: KeyRange{Start: key("f"), End: key("m")}, Node: 1, Epoch: 2}, right)
	require.Equal(t, next+1, v.NextShardID())
	require.Equal(t, 3, v.Count(1))
	ls, _ := v.Stats(1)
	rs, _ := v.Stats(next)
	require.Equal(t, Stats{Keys: 5, Bytes: 50, Estimated: true}, ls, "split halves the parent's estimates and drops the hint")
	require.Equal(t, Stats{Keys: 5, Bytes: 50, Estimated: true}, rs)
	require.NoError(t, checkInvariants(v))
}

func TestMergeAbsorbsRightAndAddsStats(t *testing.T) {
	g := fixture(t)
	next := g.View().NextShardID()
	mustApply(t, g,
		PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")},
		PlaceMerge{Left: 1, LeftEpoch: 2, Right: next, RightEpoch: 2},
	)
	v := g.View()
	merged, _ := v.Shard(1)
	require.Equal(t, Shard{ID: 1, Range: KeyRange{Start: key("a"), End: key("m")}, Node: 1, Epoch: 3}, merged)
	_, ok := v.Shard(next)
	require.False(t, ok, "the right shard is gone")
	st, ok := v.Stats(1)
	require.True(t, ok)
	require.Equal(t, Stats{Keys: 10, Bytes: 100, Estimated: true}, st)
	require.Equal(t, 2, v.Count(1))
	require.NoError(t, checkInvariants(v))
}

func TestTransferMovesOwnerAndBumpsEpoch(t *testing.T) {
	g := fixture(t)
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	v := g.View()
	sh, _ := v.Shard(1)
	require.Equal(t, NodeID(2), sh.Node)
	require.Equal(t, uint64(2), sh.Epoch)
	require.Equal(t, 1, v.Count(1))
	require.Equal(t, 2, v.Count(2))
	err := g.Apply(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	require.ErrorIs(t, err, ErrStaleEpoch, "a replayed transfer is stale")
	require.NoError(t, checkInvariants(g.View()))
}

func TestViewNeverChanges(t *testing.T) {
	g := fixture(t)
	v := g.View()
	before := dumpOf(v)
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, PlaceSplit{Shard: 3, Epoch: 1, SplitKey: key("x")}, AddNode{Node: 5})
	require.NoError(t, g.ReportStats(2, Stats{Keys: 1}))
	require.Equal(t, before, dumpOf(v))
	require.NotEqual(t, before, dumpOf(g.View()))
}

func TestCreateShardIDs(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, AddNode{Node: 1},
		CreateShard{ID: 10, Range: KeyRange{End: key("k")}, Node: 1},
		CreateShard{Range: KeyRange{Start: key("k")}, Node: 1})
	v := g.View()
	sh, ok := v.Lookup(key("z"))
	require.True(t, ok)
	require.Equal(t, ShardID(11), sh.ID, "a CreateShard without ID takes the counter, which moved past 10")
	require.Equal(t, ShardID(12), v.NextShardID())
	_, ok = v.Lookup(nil)
	require.True(t, ok, "the empty key is in the first shard")
}

func TestRemoveNodeAndStates(t *testing.T) {
	g := fixture(t)
	mustApply(t, g, RemoveNode{Node: 4}, SetNodeState{Node: 3, State: NodeDraining}, SetNodeState{Node: 3, State: NodeUp})
	v := g.View()
	_, ok := v.Node(4)
	require.False(t, ok)
	n, _ := v.Node(3)
	require.Equal(t, NodeUp, n.State)
	err := g.ReportStats(99, Stats{})
	require.True(t, errors.Is(err, ErrUnknownShard))
}

func TestShardsOnCheapestFirst(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, AddNode{Node: 1}, AddNode{Node: 2})
	for i := 0; i < 5; i++ {
		mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: 1})
	}
	mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{9}}, Node: 2})
	require.NoError(t, g.ReportStats(2, Stats{Bytes: 50}))
	require.NoError(t, g.ReportStats(4, Stats{Bytes: 10}))
	require.NoError(t, g.ReportStats(5, Stats{Bytes: 0}))
	var ids []ShardID
	for sh := range g.View().ShardsOn(1) {
		ids = append(ids, sh.ID)
	}
	require.Equal(t, []ShardID{5, 4, 2, 1, 3}, ids, "known sizes ascending, then unknown by ID")
}

func TestTryChangesNothing(t *testing.T) {
	g := fixture(t)
	v := g.View()
	before := dumpOf(v)
	tried, results := g.Try(
		PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2},
		PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, // stale after the first
		AddNode{Node: 7},
	)
	require.NoError(t, results[0])
	require.ErrorIs(t, results[1], ErrStaleEpoch)
	require.NoError(t, results[2])
	require.Equal(t, before, dumpOf(g.View()), "Try changed the registry")
	require.Equal(t, before, dumpOf(v), "Try changed an earlier view")
	sh, _ := tried.Shard(1)
	require.Equal(t, NodeID(2), sh.Node)
	_, ok := tried.Node(7)
	require.True(t, ok)
	require.NoError(t, checkInvariants(tried))
	// The registry goes on writing after a Try without disturbing it.
	mustApply(t, g, PlaceTransfer{Shard: 3, Epoch: 1, From: 1, To: 2})
	sh, _ = tried.Shard(3)
	require.Equal(t, NodeID(1), sh.Node)
}
