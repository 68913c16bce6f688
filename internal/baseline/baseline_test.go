package baseline

import (
	"encoding/binary"
	"testing"
)

func key(i int) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k[8:], uint64(i))
	return k
}

// contiguous returns shards with IDs 1..len(owners) covering the key space
// in order, shard i on owners[i], all mid-sized with known stats.
func contiguous(owners []uint64) []Shard {
	out := make([]Shard, len(owners))
	for i, n := range owners {
		out[i] = Shard{
			ID: uint64(i + 1), Start: key(i), End: key(i + 1), Node: n, Epoch: 1,
			Keys: 50_000, Bytes: uint64(1000 + i), Known: true,
		}
	}
	out[0].Start = nil
	out[len(out)-1].End = nil
	return out
}

var thresholds = Thresholds{
	SplitKeys: 100_000, SplitBytes: 512 << 20,
	MergeKeys: 1_000, MergeBytes: 10 << 20,
	MergeMaxFraction:   0.5,
	ImbalanceThreshold: 0.2,
	StopBand:           0.05,
}

// A new empty node beside two full ones gets shards from both, the cheapest
// of each first, until the counts are as even as they can be: 10,10,0 →
// 7,7,6 in the minimum of 6 moves.
func TestPlanFillsEmptyNode(t *testing.T) {
	owners := make([]uint64, 20)
	for i := range owners {
		owners[i] = uint64(1 + i%2)
	}
	in := Input{Shards: contiguous(owners), UpNodes: []uint64{1, 2, 3}, Limit: 100, Thresholds: thresholds}

	got := Plan(in)

	counts := map[uint64]int{1: 10, 2: 10, 3: 0}
	moved := map[uint64]bool{}
	for _, a := range got {
		if a.Kind != Transfer || a.To != 3 || (a.From != 1 && a.From != 2) || a.Epoch != 1 {
			t.Fatalf("unexpected action %+v", a)
		}
		if moved[a.Shard] {
			t.Fatalf("shard %d moved twice", a.Shard)
		}
		moved[a.Shard] = true
		if owner := owners[a.Shard-1]; owner != a.From {
			t.Fatalf("shard %d is on node %d, action moves it from %d", a.Shard, owner, a.From)
		}
		counts[a.From]--
		counts[a.To]++
	}
	if len(got) != 6 || counts[1] != 7 || counts[2] != 7 || counts[3] != 6 {
		t.Fatalf("got %d transfers, counts %v; want 6 transfers, counts 7,7,6", len(got), counts)
	}
	// Cheapest first: node 1's smallest shards are IDs 1, 3, 5.
	if got[0].Shard != 1 || got[0].From != 1 {
		t.Fatalf("first transfer %+v, want shard 1 from node 1", got[0])
	}
	if in.Shards[0].Node != 1 || len(in.Shards) != 20 {
		t.Fatal("Plan modified its input")
	}
}

func TestPlanLimitAndTolerance(t *testing.T) {
	owners := make([]uint64, 20)
	for i := range owners {
		owners[i] = uint64(1 + i%2)
	}
	skewed := Input{Shards: contiguous(owners), UpNodes: []uint64{1, 2, 3}, Limit: 2, Thresholds: thresholds}
	if got := Plan(skewed); len(got) != 2 {
		t.Errorf("limit 2: got %d actions, want 2", len(got))
	}
	skewed.Limit = 0
	if got := Plan(skewed); len(got) != 0 {
		t.Errorf("limit 0: got %d actions, want none", len(got))
	}
	even := Input{Shards: contiguous(owners), UpNodes: []uint64{1, 2}, Limit: 100, Thresholds: thresholds}
	if got := Plan(even); len(got) != 0 {
		t.Errorf("balanced map: got %v, want no actions", got)
	}
}

// Hot shards are split, most keys first; adjacent cold shards on one node
// are merged; shards with unknown stats are neither.
func TestPlanSplitsAndMerges(t *testing.T) {
	shards := contiguous([]uint64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2})
	shards[1].Keys = 150_000                         // hot
	shards[4].Keys = 300_000                         // hotter
	shards[5].Keys, shards[5].Known = 900_000, false // unknown: not split
	shards[7].Keys, shards[8].Keys = 100, 200        // cold pair on node 2
	shards[10].Keys, shards[11].Keys = 10, 10        // colder pair on node 2...
	shards[11].Known = false                         // ...but one is unknown: not merged
	shards[2].Keys, shards[3].Keys = 10, 10          // cold, adjacent...
	shards[3].Node = 2                               // ...but on different nodes
	in := Input{Shards: shards, UpNodes: []uint64{1, 2}, Limit: 10, Thresholds: thresholds}

	got := Plan(in)

	want := []Action{
		{Kind: Split, Shard: 5, Epoch: 1},
		{Kind: Split, Shard: 2, Epoch: 1},
		{Kind: Merge, Shard: 8, Epoch: 1, Right: 9, RightEpoch: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("action %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestImbalanceCountsEmptyNodes(t *testing.T) {
	counts := map[uint64]int{1: 4, 2: 4}
	if got := Imbalance(counts, []uint64{1, 2, 3}); got != 1.5 {
		t.Fatalf("Imbalance with an empty node = %v, want (4-0)/(8/3) = 1.5", got)
	}
}
