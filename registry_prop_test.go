package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// genKey draws a short key from a small alphabet so that random ranges
// collide, touch and nest often.
func genKey(t *rapid.T, label string) []byte {
	return rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0x01, 'a', 'b', 'm', 0x80, 0xff}), 0, 3).Draw(t, label)
}

// genCommand draws a command that is usually plausible for v (a real shard
// at its real epoch, a real neighbour, a free range) and sometimes not.
func genCommand(t *rapid.T, v View) Command {
	shards := []Shard{}
	for sh := range v.Shards() {
		shards = append(shards, sh)
	}
	node := NodeID(rapid.IntRange(0, 6).Draw(t, "node"))
	pick := func() Shard {
		if len(shards) == 0 {
			return Shard{ID: ShardID(rapid.IntRange(0, 5).Draw(t, "id")), Epoch: 1}
		}
		sh := rapid.SampledFrom(shards).Draw(t, "shard")
		if rapid.IntRange(0, 9).Draw(t, "stale") == 0 {
			sh.Epoch--
		}
		return sh
	}
	switch rapid.IntRange(0, 10).Draw(t, "kind") {
	case 0:
		return AddNode{Node: node}
	case 10:
		if rapid.Bool().Draw(t, "format") {
			return SetFormatVersion{Version: uint64(rapid.IntRange(0, FormatVersion+1).Draw(t, "version"))}
		}
		return SetRebalancing{Bytes: rapid.Bool().Draw(t, "rebytes"), Load: rapid.Bool().Draw(t, "reload")}
	case 1:
		return SetNodeState{Node: node, State: NodeState(rapid.IntRange(0, 4).Draw(t, "state"))}
	case 2:
		return RemoveNode{Node: node}
	case 3, 4:
		start := genKey(t, "start")
		var end []byte
		if rapid.Bool().Draw(t, "bounded") {
			end = genKey(t, "end")
		}
		id := ShardID(0)
		if rapid.IntRange(0, 3).Draw(t, "explicit") == 0 {
			id = ShardID(rapid.IntRange(0, 30).Draw(t, "newid"))
		}
		return CreateShard{ID: id, Range: KeyRange{Start: start, End: end}, Node: node}
	case 5:
		sh := pick()
		k, ok := MidKey(sh.Range)
		if !ok || rapid.IntRange(0, 4).Draw(t, "randkey") == 0 {
			k = genKey(t, "splitkey")
		}
		return PlaceSplit{Shard: sh.ID, Epoch: sh.Epoch, SplitKey: k}
	case 6:
		l, r := pick(), pick()
		if n, ok := v.Lookup(l.Range.End); ok && l.Range.End != nil && rapid.Bool().Draw(t, "neighbour") {
			r = n
		}
		return PlaceMerge{Left: l.ID, LeftEpoch: l.Epoch, Right: r.ID, RightEpoch: r.Epoch}
	default:
		sh := pick()
		if sh.MovingTo != 0 || rapid.IntRange(0, 9).Draw(t, "endmove") == 0 {
			// End the move (or try to end one that is not in flight).
			if rapid.Bool().Draw(t, "complete") {
				return CompleteTransfer{Shard: sh.ID, Epoch: sh.Epoch}
			}
			return AbortTransfer{Shard: sh.ID, Epoch: sh.Epoch}
		}
		from := sh.Node
		if rapid.IntRange(0, 9).Draw(t, "wrongfrom") == 0 {
			from = node
		}
		return PlaceTransfer{Shard: sh.ID, Epoch: sh.Epoch, From: from, To: node}
	}
}

// Replica b is viewed before every step (its writes copy on write); replica
// a only now and then, so runs of its writes change its trees in place. Both
// must stay identical and consistent.
func TestRegistryRandomCommands(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := NewShardRegistry(), NewShardRegistry()
		epochs := map[ShardID]uint64{}
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			old := b.View()
			oldDump := dumpOf(old)
			if rapid.IntRange(0, 4).Draw(t, "report") == 0 && old.ShardCount() > 0 {
				sh := rapid.SampledFrom(collect(old)).Draw(t, "statshard")
				st := Stats{Keys: rapid.Uint64Range(0, 5000).Draw(t, "keys"), Bytes: rapid.Uint64Range(0, 1<<20).Draw(t, "bytes")}
				if rapid.Bool().Draw(t, "loaded") {
					st.Load = float64(rapid.IntRange(0, 1000).Draw(t, "load")) / 8
				}
				if rapid.Bool().Draw(t, "hint") {
					st.SplitKey = genKey(t, "hintkey")
				}
				require.NoError(t, a.ReportStats(sh.ID, st))
				require.NoError(t, b.ReportStats(sh.ID, st))
			} else {
				cmd := genCommand(t, old)
				errA, errB := a.Apply(cmd), b.Apply(cmd)
				require.Equal(t, errA == nil, errB == nil, "replicas disagree on %v", cmd)
				if errB != nil {
					require.ErrorIs(t, errB, ErrRejected)
					require.Equal(t, oldDump, dumpOf(b.View()), "rejected %v changed the map", cmd)
				}
			}
			vb := b.View()
			require.NoError(t, checkInvariants(vb))
			require.Equal(t, oldDump, dumpOf(old), "a view changed after it was taken")
			for sh := range vb.Shards() {
				require.GreaterOrEqual(t, sh.Epoch, epochs[sh.ID], "epoch of %d went down", sh.ID)
				epochs[sh.ID] = sh.Epoch
			}
			if i == steps-1 || rapid.IntRange(0, 7).Draw(t, "observe") == 0 {
				va := a.View()
				require.NoError(t, checkInvariants(va))
				require.Equal(t, dumpOf(vb), dumpOf(va), "replicas differ")
			}
		}
	})
}

func collect(v View) []Shard {
	var out []Shard
	for sh := range v.Shards() {
		out = append(out, sh)
	}
	return out
}
