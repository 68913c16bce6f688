package placement_test

import (
	"fmt"
	"time"

	"github.com/ukehi/placement"
)

// What adding a third node to two nodes of six 256 MiB shards each will
// cost, before it is added; and an AddNode of a node the map holds is an
// error that names it. The registry is not changed.
func ExampleForecast() {
	reg := placement.NewShardRegistry()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(reg.Apply(placement.AddNode{Node: 1}))
	must(reg.Apply(placement.AddNode{Node: 2}))
	for i := range 12 {
		r := placement.KeyRange{Start: []byte{byte('a' + i)}, End: []byte{byte('a' + i + 1)}}
		must(reg.Apply(placement.CreateShard{Range: r, Node: placement.NodeID(1 + i%2)}))
		must(reg.ReportStats(placement.ShardID(i+1), placement.Stats{Keys: 50_000, Bytes: 256 << 20}))
	}

	f := placement.Forecaster{CopyRate: 64 << 20, TickInterval: 10 * time.Second} // 4 s a shard
	fc, err := f.Forecast(reg.View(), placement.DefaultPolicy(), placement.AddNode{Node: 3})
	must(err)
	fmt.Println(fc)

	_, err = placement.Forecast(reg.View(), placement.DefaultPolicy(), placement.AddNode{Node: 2})
	fmt.Println(err)
	fmt.Println("nodes:", len(reg.View().Nodes()))
	// Output:
	// moves 4 (1.0 GiB), splits 0, merges 0, ticks 1 (ETA 10s), converged; bytes spread 1.50 -> 0.00
	// forecast: change 1: add-node 2: placement: command rejected: node already exists
	// nodes: 2
}
