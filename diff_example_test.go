package placement_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/ukehi/placement"
)

// A replica that fell behind installs the leader's snapshot instead of
// replaying the log, so no command reaches its apply function. The restore
// function reconciles with Diff: it acts on each change from the map it
// had to the map it has now.
func ExampleDiff() {
	// The leader's map: three nodes and three shards, two-phase moves.
	leader := placement.NewShardRegistry()
	apply := func(cmds ...placement.Command) {
		for _, c := range cmds {
			if err := leader.Apply(c); err != nil {
				panic(err)
			}
		}
	}
	apply(
		placement.SetFormatVersion{Version: 3},
		placement.AddNode{Node: 1}, placement.AddNode{Node: 2}, placement.AddNode{Node: 3},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte("a"), End: []byte("m")}, Node: 1},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte("m"), End: []byte("t")}, Node: 2},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte("t")}, Node: 2},
	)
	snapshot := func() io.ReadCloser {
		var buf bytes.Buffer
		if err := leader.View().WriteSnapshot(&buf); err != nil {
			panic(err)
		}
		return io.NopCloser(&buf)
	}

	// The replica restarts from a snapshot of that map, then misses what
	// follows.
	fsm := placement.NewFSM(placement.NewShardRegistry(),
		placement.WithRestoreFunc(func(prev, next placement.View) {
			fmt.Printf("restored: %d -> %d shards\n", prev.ShardCount(), next.ShardCount())
			for c := range placement.Diff(prev, next) {
				switch c.Kind {
				case placement.ChangeShardMoving:
					fmt.Printf("  copy shard %d from node %d to node %d\n", c.Shard, c.After.Node, c.After.MovingTo)
				case placement.ChangeShardMoved:
					fmt.Printf("  route shard %d to node %d\n", c.Shard, c.After.Node)
				default:
					fmt.Println(" ", c)
				}
			}
		}))
	if err := fsm.Restore(snapshot()); err != nil {
		panic(err)
	}

	apply(
		placement.AddNode{Node: 4},
		placement.PlaceSplit{Shard: 1, Epoch: 1, SplitKey: []byte("f")},
		placement.PlaceTransfer{Shard: 2, Epoch: 1, From: 2, To: 4},
		placement.PlaceTransfer{Shard: 3, Epoch: 1, From: 2, To: 3},
		placement.CompleteTransfer{Shard: 3, Epoch: 2},
		placement.SetNodeState{Node: 2, State: placement.NodeDraining},
	)
	if err := fsm.Restore(snapshot()); err != nil {
		panic(err)
	}
	// Output:
	// restored: 0 -> 3 shards
	//   node 1 added (up)
	//   node 2 added (up)
	//   node 3 added (up)
	//   shard 1 added: ["a", "m") on node 1
	//   shard 2 added: ["m", "t") on node 2
	//   shard 3 added: ["t", +inf) on node 2
	// restored: 3 -> 4 shards
	//   node 2 up -> draining
	//   node 4 added (up)
	//   shard 1 range ["a", "m") -> ["a", "f")
	//   copy shard 2 from node 2 to node 4
	//   route shard 3 to node 3
	//   shard 4 added: ["f", "m") on node 1
}
