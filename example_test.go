package placement_test

import (
	"fmt"

	"github.com/ukehi/placement"
)

// A new, empty node joins two full ones: the plan moves the minimum number of
// shards onto it and says why it did nothing else.
func ExampleCoordinator_Plan() {
	reg := placement.NewShardRegistry()
	for _, c := range []placement.Command{
		placement.AddNode{Node: 1},
		placement.AddNode{Node: 2},
		placement.AddNode{Node: 3}, // new and empty
	} {
		if err := reg.Apply(c); err != nil {
			panic(err)
		}
	}
	for i := 0; i < 6; i++ {
		r := placement.KeyRange{Start: []byte{byte('a' + i)}, End: []byte{byte('a' + i + 1)}}
		if err := reg.Apply(placement.CreateShard{Range: r, Node: placement.NodeID(1 + i%2)}); err != nil {
			panic(err)
		}
	}

	plan := placement.NewCoordinator(placement.DefaultPolicy()).Plan(reg.View(), 5)
	fmt.Printf("imbalance %.2f, minimum moves %d\n", plan.Imbalance, plan.MinMoves)
	for _, c := range plan.Commands {
		fmt.Println(c)
	}
	for _, s := range plan.Skipped {
		fmt.Println("skipped:", s)
	}
	// Output:
	// imbalance 1.50, minimum moves 2
	// transfer 1@1 1 -> 3
	// transfer 2@1 2 -> 3
	// skipped: stats unknown count=6
}

// An oversized shard is split at the storage engine's hint; a shard whose
// range has no key strictly inside it cannot be split, and the plan says so.
func ExampleCoordinator_Plan_split() {
	reg := placement.NewShardRegistry()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(reg.Apply(placement.AddNode{Node: 1}))
	must(reg.Apply(placement.CreateShard{ID: 1, Range: placement.KeyRange{Start: []byte("a"), End: []byte("a\x00")}, Node: 1}))
	must(reg.Apply(placement.CreateShard{ID: 2, Range: placement.KeyRange{Start: []byte("b")}, Node: 1}))
	must(reg.ReportStats(1, placement.Stats{Keys: 500_000, Bytes: 1 << 20}))
	must(reg.ReportStats(2, placement.Stats{Keys: 200_000, Bytes: 1 << 20, SplitKey: []byte("user/5000")}))

	plan := placement.NewCoordinator(placement.DefaultPolicy()).Plan(reg.View(), 5)
	for _, c := range plan.Commands {
		fmt.Println(c)
	}
	for _, s := range plan.Skipped {
		fmt.Println("skipped:", s)
	}
	// Output:
	// split 2@1 at "user/5000"
	// skipped: no split key inside the range shard=1
}
