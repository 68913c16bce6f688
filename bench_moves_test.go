package placement

import (
	"fmt"
	"testing"
)

// benchMovesRegistry is buildBenchRegistry at format version 3 (two-phase
// transfers), built per benchmark: the shared fixtures stay at format 1.
func benchMovesRegistry(b *testing.B, sz benchSize) *ShardRegistry {
	b.Helper()
	reg := buildBenchRegistry(b, sz)
	if err := reg.Apply(SetFormatVersion{Version: FormatVersion}); err != nil {
		b.Fatal(err)
	}
	return reg
}

// BenchmarkApplyMove applies a whole two-phase move, PlaceTransfer then
// CompleteTransfer, of shards spread over the key space to the empty node
// and back, as a host's moves are committed at format version 3. It reports
// moves a second (two commands each).
func BenchmarkApplyMove(b *testing.B) {
	for _, sz := range benchApplySizes {
		b.Run(sz.String(), func(b *testing.B) {
			reg := benchMovesRegistry(b, sz)
			v := reg.View()
			empty := NodeID(sz.nodes)
			var probes []Shard
			for k := range min(sz.shards-1, 1024) {
				s, _ := v.Lookup(benchKey(make([]byte, 16), 1+k*(sz.shards-1)/min(sz.shards-1, 1024)))
				probes = append(probes, s)
			}
			b.ReportAllocs()
			b.ResetTimer()
			k := 0
			for b.Loop() {
				p := &probes[k]
				to := empty
				if p.Node == empty {
					to = NodeID(1)
				}
				if err := reg.Apply(PlaceTransfer{Shard: p.ID, Epoch: p.Epoch, From: p.Node, To: to}); err != nil {
					b.Fatal(err)
				}
				if err := reg.Apply(CompleteTransfer{Shard: p.ID, Epoch: p.Epoch + 1}); err != nil {
					b.Fatal(err)
				}
				p.Node, p.Epoch = to, p.Epoch+2
				if k++; k == len(probes) {
					k = 0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "moves/s")
		})
	}
}

// BenchmarkPlanMovesInFlight plans at format version 3 on 1M shards over
// 1,000 nodes with no move in flight, and with about 4,000 in flight (at
// most four out of and four into each node, the default window), which the
// planner projects as made and counts against the windows.
func BenchmarkPlanMovesInFlight(b *testing.B) {
	sz := benchSize{1_000_000, 1_000}
	reg := benchMovesRegistry(b, sz)
	pol := DefaultPolicy()
	idle := reg.View()
	// Shards spread over the key space, each moving to the next node
	// after its owner that has room, so that no node has more than
	// pol.MaxInflightPerNode moves in flight into it or out of it.
	w := pol.MaxInflightPerNode
	in, out := make([]int, sz.nodes+1), make([]int, sz.nodes+1)
	begun := 0
	for k := 0; begun < w*(sz.nodes-1) && k < sz.shards; k++ {
		s, _ := idle.Lookup(benchKey(make([]byte, 16), k))
		if out[s.Node] == w {
			continue
		}
		to := s.Node
		for step := 1; step < sz.nodes && to == s.Node; step++ {
			if c := NodeID(1 + (int(s.Node)-1+step)%sz.nodes); in[c] < w {
				to = c
			}
		}
		if to == s.Node {
			break
		}
		if err := reg.Apply(PlaceTransfer{Shard: s.ID, Epoch: s.Epoch, From: s.Node, To: to}); err != nil {
			b.Fatal(err)
		}
		in[to]++
		out[s.Node]++
		begun++
	}
	busy := reg.View()
	for _, c := range []struct {
		name string
		v    View
	}{{"in-flight=0", idle}, {fmt.Sprintf("in-flight=%d", busy.MoveCount()), busy}} {
		b.Run(sz.String()+"/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSinkPlan = NewCoordinator(pol).Plan(c.v, 5)
			}
		})
	}
}
