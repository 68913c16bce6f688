package baseline

import (
	"encoding/binary"
	"slices"
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

// alternating returns n owners alternating between nodes 1 and 2.
func alternating(n int) []uint64 {
	owners := make([]uint64, n)
	for i := range owners {
		owners[i] = uint64(1 + i%2)
	}
	return owners
}

var thresholds = Thresholds{
	SplitKeys: 100_000, SplitBytes: 512 << 20,
	MergeKeys: 1_000, MergeBytes: 10 << 20,
	MergeMaxFraction:   0.5,
	ImbalanceThreshold: 0.2,
	StopBand:           0.05,
}

// planners are the two variants, for tests that hold for both.
var planners = []struct {
	name string
	plan func(Input) []Action
}{{"Plan", Plan}, {"PlanFixedCounting", PlanFixedCounting}}

// applyTransfers checks that every action is a transfer of a shard from its
// owner, no shard twice, and returns the counts per node afterwards.
func applyTransfers(t *testing.T, shards []Shard, got []Action) map[uint64]int {
	t.Helper()
	owner := map[uint64]uint64{}
	counts := map[uint64]int{}
	for _, s := range shards {
		owner[s.ID] = s.Node
		counts[s.Node]++
	}
	moved := map[uint64]bool{}
	for _, a := range got {
		if a.Kind != Transfer || a.Epoch != 1 {
			t.Fatalf("unexpected action %+v", a)
		}
		if moved[a.Shard] {
			t.Fatalf("shard %d moved twice", a.Shard)
		}
		moved[a.Shard] = true
		if owner[a.Shard] != a.From {
			t.Fatalf("shard %d is on node %d, action moves it from %d", a.Shard, owner[a.Shard], a.From)
		}
		counts[a.From]--
		counts[a.To]++
	}
	return counts
}

// PlanFixedCounting sees a new empty node beside two full ones and fills it
// from both until the counts are as even as they can be: 10,10,0 → 7,7,6 in
// the minimum of 6 moves. Each move takes the first unplanned shard of the
// fullest node in key order, whatever its size: the original never ordered
// a node's shards.
func TestPlanFixedCountingFillsEmptyNode(t *testing.T) {
	shards := contiguous(alternating(20))
	shards[0].Bytes = 400 << 20 // node 1's largest shard is still its first to go
	in := Input{Shards: shards, UpNodes: []uint64{1, 2, 3}, Limit: 100, Thresholds: thresholds}

	got := PlanFixedCounting(in)

	counts := applyTransfers(t, shards, got)
	if len(got) != 6 || counts[1] != 7 || counts[2] != 7 || counts[3] != 6 {
		t.Fatalf("got %d transfers, counts %v; want 6 transfers, counts 7,7,6", len(got), counts)
	}
	// Ties go to the first node in UpNodes: nodes 1 and 2 take turns, each
	// giving its shards in key order (node 1 owns 1, 3, 5; node 2 2, 4, 6).
	for i, a := range got {
		if want := uint64(i + 1); a.Shard != want || a.From != 2-want%2 || a.To != 3 {
			t.Fatalf("transfer %d is %+v, want shard %d from node %d to 3", i, a, want, 2-want%2)
		}
	}
	if in.Shards[0].Node != 1 || in.Shards[0].ID != 1 || len(in.Shards) != 20 {
		t.Fatal("PlanFixedCounting modified its input")
	}
}

// Plan, like the original, counts nodes from the shards only: the empty
// node is invisible, the two full ones look balanced, and nothing is
// planned.
func TestPlanDoesNotSeeEmptyNode(t *testing.T) {
	in := Input{Shards: contiguous(alternating(20)), UpNodes: []uint64{1, 2, 3}, Limit: 100, Thresholds: thresholds}
	if got := Plan(in); len(got) != 0 {
		t.Fatalf("Plan with an empty node beside two even ones: got %+v, want no actions", got)
	}
}

// When the nodes that own shards are imbalanced, Plan rebalances among them
// only: the empty node never receives a shard, while PlanFixedCounting
// fills it too. Shards on a node that is not up are neither counted nor
// moved nor split, by either variant.
func TestPlanRebalancesOnlyVisibleNodes(t *testing.T) {
	owners := make([]uint64, 24)
	for i := range owners {
		owners[i] = 1
		if i%4 == 3 {
			owners[i] = 2 // of the first 20 shards, node 1 owns 15 and node 2 5
		}
	}
	owners[20], owners[21], owners[22], owners[23] = 9, 9, 9, 9 // node 9 is down
	shards := contiguous(owners)
	shards[21].Keys = 900_000 // hot, but on a down node
	in := Input{Shards: shards, UpNodes: []uint64{1, 2, 3}, Limit: 100, Thresholds: thresholds}

	got := Plan(in)
	counts := applyTransfers(t, shards, got)
	if len(got) != 5 || counts[1] != 10 || counts[2] != 10 || counts[3] != 0 || counts[9] != 4 {
		t.Fatalf("Plan: got %+v, counts %v; want 5 transfers to node 2, counts 10,10,0 and 4 on node 9", got, counts)
	}

	got = PlanFixedCounting(in)
	counts = applyTransfers(t, shards, got)
	even := []int{counts[1], counts[2], counts[3]}
	slices.Sort(even)
	if len(got) != 8 || counts[1] != 7 || !slices.Equal(even, []int{6, 7, 7}) || counts[9] != 4 {
		t.Fatalf("PlanFixedCounting: got %+v, counts %v; want 8 transfers from node 1, counts 7,7,6 in some order and 4 on node 9", got, counts)
	}
}

func TestPlanLimitAndTolerance(t *testing.T) {
	owners := make([]uint64, 20)
	for i := range owners {
		owners[i] = uint64(1 + min(i%4, 1)) // node 1: 5 shards, node 2: 15
	}
	for _, p := range planners {
		skewed := Input{Shards: contiguous(owners), UpNodes: []uint64{1, 2}, Limit: 2, Thresholds: thresholds}
		if got := p.plan(skewed); len(got) != 2 {
			t.Errorf("%s, limit 2: got %d actions, want 2", p.name, len(got))
		}
		skewed.Limit = 0
		if got := p.plan(skewed); len(got) != 0 {
			t.Errorf("%s, limit 0: got %d actions, want none", p.name, len(got))
		}
		skewed.Limit = 100
		if got := p.plan(skewed); len(got) != 5 {
			t.Errorf("%s, limit 100: got %d actions, want the 5 that make the counts 10,10", p.name, len(got))
		}
		even := Input{Shards: contiguous(alternating(20)), UpNodes: []uint64{1, 2}, Limit: 100, Thresholds: thresholds}
		if got := p.plan(even); len(got) != 0 {
			t.Errorf("%s, balanced map: got %v, want no actions", p.name, got)
		}
		if got := p.plan(Input{UpNodes: []uint64{1, 2}, Limit: 100, Thresholds: thresholds}); len(got) != 0 {
			t.Errorf("%s, no shards: got %v, want no actions", p.name, got)
		}
	}
}

// splitMergeShards returns 12 shards, 6 on node 1 and 6 on node 2, with
// two hot shards on node 1, one mergeable cold pair on node 2 and cold
// shards that must not merge.
func splitMergeShards() []Shard {
	shards := contiguous([]uint64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2})
	shards[1].Keys = 150_000                         // hot
	shards[4].Keys = 300_000                         // hotter
	shards[5].Keys, shards[5].Known = 900_000, false // unknown: not split
	shards[7].Keys, shards[8].Keys = 100, 200        // cold pair on node 2
	shards[10].Keys, shards[11].Keys = 10, 10        // colder pair on node 2...
	shards[11].Known = false                         // ...but one is unknown: not merged
	shards[2].Keys, shards[3].Keys = 10, 10          // cold, adjacent...
	shards[3].Node, shards[9].Node = 2, 1            // ...but on different nodes
	return shards
}

// Above the imbalance gate, hot shards are split, most keys first; adjacent
// cold shards on one node are merged; shards with unknown stats are
// neither.
func TestPlanSplitsAndMerges(t *testing.T) {
	shards := splitMergeShards()
	shards[9].Node = 2 // counts 5,7 pass the gate
	in := Input{Shards: shards, UpNodes: []uint64{1, 2}, Limit: 10, Thresholds: thresholds}
	want := []Action{
		{Kind: Split, Shard: 5, Epoch: 1},
		{Kind: Split, Shard: 2, Epoch: 1},
		{Kind: Merge, Shard: 8, Epoch: 1, Right: 9, RightEpoch: 1},
	}
	for _, p := range planners {
		if got := p.plan(in); !slices.Equal(got, want) {
			t.Errorf("%s: got %+v, want %+v", p.name, got, want)
		}
	}
}

// The imbalance gate blocks everything: on a map with even counts neither
// variant splits its hot shards or merges its cold pair. With an empty up
// node beside it, Plan still sees even counts and plans nothing, while
// PlanFixedCounting passes the gate and plans the splits, the merge and
// transfers to the empty node.
func TestPlanGateBlocksSplitsAndMerges(t *testing.T) {
	shards := splitMergeShards() // counts 6,6
	even := Input{Shards: shards, UpNodes: []uint64{1, 2}, Limit: 10, Thresholds: thresholds}
	for _, p := range planners {
		if got := p.plan(even); len(got) != 0 {
			t.Errorf("%s, even counts: got %+v, want no actions", p.name, got)
		}
	}

	withEmpty := even
	withEmpty.UpNodes = []uint64{1, 2, 3}
	if got := Plan(withEmpty); len(got) != 0 {
		t.Errorf("Plan with an empty node: got %+v, want no actions", got)
	}
	got := PlanFixedCounting(withEmpty)
	want := []Action{
		{Kind: Split, Shard: 5, Epoch: 1},
		{Kind: Split, Shard: 2, Epoch: 1},
		{Kind: Merge, Shard: 8, Epoch: 1, Right: 9, RightEpoch: 1},
		// Counts 8,5,0 (splits and merges counted): node 1's first
		// unplanned shards in key order, ties going to the first node in
		// UpNodes, until the counts are 4,5,4.
		{Kind: Transfer, Shard: 1, Epoch: 1, From: 1, To: 3},
		{Kind: Transfer, Shard: 3, Epoch: 1, From: 1, To: 3},
		{Kind: Transfer, Shard: 6, Epoch: 1, From: 1, To: 3},
		{Kind: Transfer, Shard: 10, Epoch: 1, From: 1, To: 3},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("PlanFixedCounting with an empty node:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestImbalanceCountsEmptyNodes(t *testing.T) {
	counts := map[uint64]int{1: 4, 2: 4}
	if got := Imbalance(counts, []uint64{1, 2, 3}); got != 1.5 {
		t.Fatalf("Imbalance with an empty node = %v, want (4-0)/(8/3) = 1.5", got)
	}
	if got := Imbalance(counts, []uint64{1, 2}); got != 0 {
		t.Fatalf("Imbalance without it = %v, want 0", got)
	}
}
