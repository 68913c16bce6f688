package placement_test

// Benchmarks of the whole system: a Scheduler tick on a fake RaftNode at 1M
// shards, FSM snapshot persist and restore at 1M shards, and one tick of 64
// commands on a real 3-server raft cluster against 64 sequential and 64
// pipelined applies. Reproduce with:
//
//	go test -run '^$' -bench 'Tick|FSMSnapshot' -count 5 . | tee /tmp/system.txt
//	go test -run '^$' -bench 'Raft64' -count 5 . | tee -a /tmp/system.txt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// systemKey is the 16-byte big-endian key of shard i's start.
func systemKey(i int) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k[8:], uint64(i))
	return k
}

var (
	systemOnce sync.Once
	systemReg  *placement.ShardRegistry
)

// systemRegistry is 1M shards with stats on 999 nodes chosen at random,
// plus node 1000 up and empty, so every tick has transfers to plan.
func systemRegistry(b *testing.B) *placement.ShardRegistry {
	systemOnce.Do(func() {
		const shards, nodes = 1_000_000, 1000
		reg := placement.NewShardRegistry()
		for n := 1; n <= nodes; n++ {
			if err := reg.Apply(placement.AddNode{Node: placement.NodeID(n)}); err != nil {
				b.Fatal(err)
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < shards; i++ {
			r := placement.KeyRange{Start: systemKey(i)}
			if i+1 < shards {
				r.End = systemKey(i + 1)
			}
			node := placement.NodeID(1 + rng.IntN(nodes-1))
			if err := reg.Apply(placement.CreateShard{Range: r, Node: node}); err != nil {
				b.Fatal(err)
			}
			st := placement.Stats{Keys: 5_000 + uint64(rng.IntN(50_000)), Bytes: 32<<20 + uint64(rng.IntN(256<<20))}
			if err := reg.ReportStats(placement.ShardID(i+1), st); err != nil {
				b.Fatal(err)
			}
		}
		systemReg = reg
	})
	return systemReg
}

// BenchmarkTick is a whole leader tick without raft: View, Plan (limit 5),
// Encode, and the FSM applying the entry to the registry. After each tick,
// outside the timer, the transfers it made are moved back, so every timed
// tick has the same work to do however large b.N grows.
// Sub-benchmarks vary MaxActionsPerTick, to show allocations follow the
// actions, not the 1M shards.
func BenchmarkTick(b *testing.B) {
	for _, actions := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("actions=%d", actions), func(b *testing.B) { benchmarkTick(b, actions) })
	}
}

func benchmarkTick(b *testing.B, actions int) {
	reg := systemRegistry(b)
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	fake.SetLeader(true)
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = actions
	cfg.MaxMovesPerNode = actions
	sched, err := placement.New(fake, reg, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sched.Tick(ctx); err != nil { // the term's barrier
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	proposed := 0
	for i := 0; i < b.N; i++ {
		rep, err := sched.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Commands) == 0 || rep.Rejected() > 0 {
			b.Fatalf("tick proposed %d commands, results %v", len(rep.Commands), rep.Results)
		}
		proposed += len(rep.Commands)
		b.StopTimer()
		undoTransfers(b, reg, rep.Commands)
		b.StartTimer()
	}
	b.ReportMetric(float64(proposed)/float64(b.N), "cmds/tick")
}

// undoTransfers moves every transferred shard back where it came from.
func undoTransfers(b *testing.B, reg *placement.ShardRegistry, cmds []placement.Command) {
	for _, c := range cmds {
		tr, ok := c.(placement.PlaceTransfer)
		if !ok {
			b.Fatalf("tick proposed %v; the fixture has only transfers to make", c)
		}
		back := placement.PlaceTransfer{Shard: tr.Shard, Epoch: tr.Epoch + 1, From: tr.To, To: tr.From}
		if err := reg.Apply(back); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFSMSnapshot measures, at 1M shards, taking the snapshot on the
// apply goroutine (FSM.Snapshot), persisting it, and restoring it.
func BenchmarkFSMSnapshot(b *testing.B) {
	reg := systemRegistry(b)
	fsm := placement.NewFSM(reg)
	b.Run("capture", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			snap, err := fsm.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			snap.Release()
		}
	})
	var snapshot bytes.Buffer
	if err := reg.View().WriteSnapshot(&snapshot); err != nil {
		b.Fatal(err)
	}
	data := snapshot.Bytes()
	b.Run("persist", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			snap, err := fsm.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			sink := &bufferSink{}
			if err := snap.Persist(sink); err != nil {
				b.Fatal(err)
			}
			if sink.Len() != len(data) {
				b.Fatalf("persisted %d bytes, want %d", sink.Len(), len(data))
			}
		}
		b.ReportMetric(float64(len(data))/1e6, "MB")
	})
	b.Run("restore", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			other := placement.NewFSM(placement.NewShardRegistry())
			if err := other.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
				b.Fatal(err)
			}
			if other.Registry().View().ShardCount() != 1_000_000 {
				b.Fatal("restore lost shards")
			}
		}
	})
}

type bufferSink struct{ bytes.Buffer }

func (s *bufferSink) ID() string    { return "bench" }
func (s *bufferSink) Cancel() error { return nil }
func (s *bufferSink) Close() error  { return nil }

// BenchmarkRaft64 proposes 64 commands on a real 3-server in-memory raft
// cluster: as one entry (what a tick does), as 64 sequential applies, and as
// 64 concurrent (pipelined) applies.
func BenchmarkRaft64(b *testing.B) {
	// Long raft timeouts: a benchmark process holding 1M-shard fixtures
	// has GC pauses that would otherwise cost the leader its lease.
	c, err := placementtest.NewCluster(placementtest.ClusterOptions{ManualTicks: true, RaftTimeout: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	node := c.Servers[leader].Node
	next := placement.NodeID(1)
	batch := func() []placement.Command {
		cmds := make([]placement.Command, 64)
		for i := range cmds {
			cmds[i] = placement.AddNode{Node: next}
			next++
		}
		return cmds
	}
	apply := func(b *testing.B, cmds ...placement.Command) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := node.Apply(ctx, placement.Encode(cmds...))
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range resp.([]error) {
			if e != nil {
				b.Fatal(e)
			}
		}
	}
	b.Run("one-entry", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			apply(b, batch()...)
		}
	})
	b.Run("sequential", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, cmd := range batch() {
				apply(b, cmd)
			}
		}
	})
	b.Run("pipelined", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for _, cmd := range batch() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					if _, err := node.Apply(ctx, placement.Encode(cmd)); err != nil {
						errs <- fmt.Errorf("pipelined apply: %w", err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		}
	})
}
