package placement

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
)

// effectsOf applies cmds as one log entry at index through an FSM over g
// and returns the effects reported, and each command's result.
func effectsOf(t *testing.T, g *ShardRegistry, index uint64, cmds ...Command) ([]Effect, []error) {
	t.Helper()
	var effects []Effect
	var applied []Command
	f := NewFSM(g,
		WithApplyFunc(func(i uint64, c Command) {
			require.Equal(t, index, i)
			applied = append(applied, c)
		}),
		WithEffectFunc(func(i uint64, e Effect) {
			require.Equal(t, index, i)
			require.Len(t, applied, len(effects)+1, "the apply function hears of a command first")
			require.Equal(t, applied[len(applied)-1], e.Command)
			effects = append(effects, e)
		}),
	)
	res := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: Encode(cmds...)})
	results, ok := res.([]error)
	require.True(t, ok, "result %v", res)
	return effects, results
}

func TestEffectOfSplit(t *testing.T) {
	g := diffRegistry(t)
	require.Equal(t, ShardID(4), g.View().NextShardID())
	split := PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")}
	effects, results := effectsOf(t, g, 3, split, PlaceSplit{Shard: 4, Epoch: 2, SplitKey: key("h")})
	require.Equal(t, []error{nil, nil}, results)
	require.Equal(t, []Effect{
		{Command: split, NewShard: 4},
		{Command: PlaceSplit{Shard: 4, Epoch: 2, SplitKey: key("h")}, NewShard: 5},
	}, effects)
	right, ok := g.View().Shard(4)
	require.True(t, ok)
	require.Equal(t, KeyRange{Start: key("f"), End: key("h")}, right.Range, "4 is the right half of the first split")
	right, ok = g.View().Shard(5)
	require.True(t, ok)
	require.Equal(t, KeyRange{Start: key("h"), End: key("m")}, right.Range)

	// A rejected split reports nothing, and takes no ID.
	effects, results = effectsOf(t, g, 4, PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("c")})
	require.ErrorIs(t, results[0], ErrStaleEpoch)
	require.Empty(t, effects)
	require.Equal(t, ShardID(6), g.View().NextShardID())
}

func TestEffectOfCreate(t *testing.T) {
	g := diffRegistry(t)
	r := func(s, e string) KeyRange { return KeyRange{Start: key(s), End: key(e)} }
	cmds := []Command{
		CreateShard{Range: r("0", "1"), Node: 1},         // takes the next ID, 4
		CreateShard{ID: 10, Range: r("1", "2"), Node: 2}, // its own
		CreateShard{Range: r("2", "3"), Node: 3},         // 11, past the explicit one
		CreateShard{ID: 5, Range: r("3", "4"), Node: 3},  // below the counter: rejected
	}
	effects, results := effectsOf(t, g, 9, cmds...)
	require.NoError(t, results[0])
	require.NoError(t, results[1])
	require.NoError(t, results[2])
	require.ErrorIs(t, results[3], ErrRejected)
	require.Equal(t, []Effect{
		{Command: cmds[0], NewShard: 4},
		{Command: cmds[1], NewShard: 10},
		{Command: cmds[2], NewShard: 11},
	}, effects)
	for _, e := range effects {
		sh, ok := g.View().Shard(e.NewShard)
		require.True(t, ok)
		require.Equal(t, e.Command.(CreateShard).Range, sh.Range)
	}
}

func TestEffectOfOtherCommands(t *testing.T) {
	g := diffRegistry(t)
	cmds := []Command{
		AddNode{Node: 4},
		SetNodeState{Node: 4, State: NodeDraining},
		PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2},
		CompleteTransfer{Shard: 1, Epoch: 2},
		PlaceTransfer{Shard: 2, Epoch: 1, From: 2, To: 3},
		AbortTransfer{Shard: 2, Epoch: 2},
		PlaceMerge{Left: 2, LeftEpoch: 3, Right: 1, RightEpoch: 3}, // not adjacent that way round
		SetRebalancing{Load: true},
	}
	effects, results := effectsOf(t, g, 2, cmds...)
	var want []Effect
	for i, c := range cmds {
		if results[i] == nil {
			want = append(want, Effect{Command: c})
		}
	}
	require.Len(t, want, len(cmds)-1)
	require.Equal(t, want, effects)
}

// An FSM without an effect function applies exactly as before, and with
// only an effect function needs no apply function.
func TestEffectFuncOptional(t *testing.T) {
	a, b := diffRegistry(t), diffRegistry(t)
	entry := Encode(PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")}, CreateShard{Range: KeyRange{Start: key("0"), End: key("1")}, Node: 1})
	var effects []Effect
	require.Equal(t, []error{nil, nil}, NewFSM(a).ApplyEntry(1, entry))
	require.Equal(t, []error{nil, nil}, NewFSM(b, WithEffectFunc(func(_ uint64, e Effect) { effects = append(effects, e) })).ApplyEntry(1, entry))
	require.Equal(t, dumpOf(a.View()), dumpOf(b.View()))
	require.Equal(t, []ShardID{4, 5}, []ShardID{effects[0].NewShard, effects[1].NewShard})
}

// A node leaving the up state aborts the moves into it; the effect lists
// them, so the host stops those copies.
func TestEffectListsMovesAbortedByANodeState(t *testing.T) {
	reg := NewShardRegistry()
	var effects []Effect
	f := NewFSM(reg, WithEffectFunc(func(_ uint64, e Effect) { effects = append(effects, e) }))
	at := time.Unix(1_800_000_000, 0)
	entry := Encode(SetFormatVersion{Version: FormatVersion}, AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3},
		CreateShard{Range: KeyRange{Start: []byte("a"), End: []byte("m")}, Node: 1},
		CreateShard{Range: KeyRange{Start: []byte("m")}, Node: 1},
		PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2},
		PlaceTransfer{Shard: 2, Epoch: 1, From: 1, To: 3},
		SetNodeState{Node: 2, State: NodeDown})
	for _, err := range f.ApplyEntryAt(1, at, entry).([]error) {
		require.NoError(t, err)
	}
	last := effects[len(effects)-1]
	require.Equal(t, []Move{{Shard: 1, From: 1, To: 2, Epoch: 2, Began: at}}, last.Aborted)
	for _, e := range effects[:len(effects)-1] {
		require.Empty(t, e.Aborted)
	}
	sh, _ := reg.View().Shard(1)
	require.Zero(t, sh.MovingTo)
}
