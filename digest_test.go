package placement_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// digestHistory applies to reg a history that touches everything a
// snapshot carries (nodes in several states, a split, a completed move and
// one in flight, recent moves, the pause, a policy and the rebalancing
// flags), each command at its own log time, and returns the commands with
// their times so another registry can replay them.
func digestHistory(t *testing.T, reg *placement.ShardRegistry) []func(*placement.ShardRegistry) error {
	t.Helper()
	var replay []func(*placement.ShardRegistry) error
	at := time.Unix(1_700_000_000, 0)
	apply := func(c placement.Command) {
		t.Helper()
		at = at.Add(time.Second)
		when := at
		require.NoError(t, reg.ApplyAt(c, when), "%v", c)
		replay = append(replay, func(r *placement.ShardRegistry) error { return r.ApplyAt(c, when) })
	}
	epoch := func(id placement.ShardID) uint64 {
		sh, ok := reg.View().Shard(id)
		require.True(t, ok)
		return sh.Epoch
	}
	apply(placement.SetFormatVersion{Version: placement.FormatVersion})
	for n := placement.NodeID(1); n <= 4; n++ {
		apply(placement.AddNode{Node: n})
	}
	apply(placement.CreateShard{Range: placement.KeyRange{End: []byte("m")}, Node: 1})
	apply(placement.CreateShard{Range: placement.KeyRange{Start: []byte("m")}, Node: 1})
	apply(placement.PlaceSplit{Shard: 1, Epoch: epoch(1), SplitKey: []byte("f")})
	apply(placement.PlaceTransfer{Shard: 2, Epoch: epoch(2), From: 1, To: 2})
	apply(placement.CompleteTransfer{Shard: 2, Epoch: epoch(2), To: 2})
	apply(placement.PlaceTransfer{Shard: 3, Epoch: epoch(3), From: 1, To: 3})
	apply(placement.SetNodeState{Node: 4, State: placement.NodeDraining})
	apply(placement.SetRebalancing{Bytes: true})
	apply(placement.SetPause{Paused: true, Until: at.Add(time.Hour)})
	apply(placement.SetPolicy{Policy: placement.DefaultPolicy(), MaxActionsPerTick: 7})
	return replay
}

// Two registries that applied the same commands have the same digest,
// whatever their soft stats and applied index; a snapshot round trip keeps
// it; one more command changes it.
func TestDigest(t *testing.T) {
	a := placement.NewShardRegistry()
	replay := digestHistory(t, a)
	b := placement.NewShardRegistry()
	for _, apply := range replay {
		require.NoError(t, apply(b))
	}
	va, vb := a.View(), b.View()
	require.Equal(t, 1, va.MoveCount(), "a move in flight")
	require.Equal(t, va.Digest(), vb.Digest())
	require.True(t, va.Equal(vb))
	require.True(t, va.Equal(va))
	require.Len(t, va.Digest().String(), 64)

	require.NoError(t, b.ReportStats(1, placement.Stats{Keys: 10, Bytes: 1 << 20, Load: 3}))
	require.NoError(t, b.ReportNodeStats(1, placement.NodeStats{Capacity: 1 << 30}))
	require.True(t, va.Equal(b.View()), "soft stats are not replicated state")

	var snap bytes.Buffer
	require.NoError(t, va.WriteSnapshot(&snap))
	restored := placement.NewShardRegistry()
	require.NoError(t, restored.ReadSnapshot(&snap))
	require.Equal(t, va.Digest(), restored.View().Digest(), "a snapshot round trip")

	require.NoError(t, b.Apply(placement.SetRebalancing{}))
	require.False(t, va.Equal(b.View()))
	require.NotEqual(t, va.Digest(), b.View().Digest())
}

// The digest is the same whether the map was built by commands or
// restored, at every format version, and maps at different versions
// differ.
func TestDigestEveryFormat(t *testing.T) {
	seen := map[placement.Digest]uint64{}
	for version := uint64(1); version <= placement.FormatVersion; version++ {
		v := mapAt(version).View()
		var snap bytes.Buffer
		require.NoError(t, v.WriteSnapshot(&snap))
		restored := placement.NewShardRegistry()
		require.NoError(t, restored.ReadSnapshot(&snap))
		require.True(t, v.Equal(restored.View()), "format %d", version)
		d := v.Digest()
		require.NotContains(t, seen, d, "format %d", version)
		seen[d] = version
	}
	require.True(t, placement.View{}.Equal(placement.NewShardRegistry().View()), "the zero View is empty")
}
