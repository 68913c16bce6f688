package placement

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// explainRegistry holds nodes 1–3 at format version 3 (moves take time):
// node 1 with ten shards of 100 MiB, node 2 with four, node 3 with two.
func explainRegistry(t *testing.T) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion}, AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3})
	owners := []NodeID{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3}
	for i, n := range owners {
		mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: n})
		require.NoError(t, g.ReportStats(ShardID(i+1), Stats{Keys: 1000, Bytes: 100 << 20}))
	}
	return g
}

// verdictFor returns the verdict on node n.
func verdictFor(t *testing.T, e ShardExplanation, n NodeID) MoveVerdict {
	t.Helper()
	for _, v := range e.Candidates {
		if v.Node == n {
			return v
		}
	}
	require.Failf(t, "no verdict", "node %d in %+v", n, e.Candidates)
	return MoveVerdict{}
}

func TestExplainNamesTheEmptiestNodeFirst(t *testing.T) {
	g := explainRegistry(t)
	c := NewCoordinator(DefaultPolicy())
	e, err := c.Explain(g.View(), 1)
	require.NoError(t, err)
	require.Equal(t, NodeID(1), e.Shard.Node)
	require.Equal(t, NodeUp, e.OwnerState)
	require.Equal(t, float64(100<<20), e.Bytes)
	require.Len(t, e.Candidates, 2)
	best := e.Candidates[0]
	require.Equal(t, MoveVerdict{Node: 3, Allowed: true, Phase: "bytes", Balance: best.Balance}, best)
	require.Less(t, best.Balance.Bytes, e.Balance.Bytes, "the move narrows the spread")
	// Node 1 holds 10/16 for a target of 1/3 (ratio 1.875), node 3 2/16
	// (0.375): after the move 9/16 and 3/16, a spread of (9−3)·3/16.
	require.InDelta(t, 6*3/16.0, best.Balance.Bytes, 1e-12)
	require.InDelta(t, 1.5, e.Balance.Bytes, 1e-12)

	// The plan's first move goes there too (of the equal shards, the one
	// its lookup meets first).
	p := c.Plan(g.View(), 1)
	require.Len(t, p.Commands, 1)
	tr := p.Commands[0].(PlaceTransfer)
	require.Equal(t, [2]NodeID{1, 3}, [2]NodeID{tr.From, tr.To})

	_, err = c.Explain(g.View(), 99)
	require.ErrorIs(t, err, ErrUnknownShard)
}

func TestExplainSaysWhyAShardCannotMove(t *testing.T) {
	pol := DefaultPolicy()
	t.Run("moving", func(t *testing.T) {
		g := explainRegistry(t)
		mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 3})
		e, err := NewCoordinator(pol).Explain(g.View(), 1)
		require.NoError(t, err)
		require.Equal(t, NodeID(3), e.Shard.MovingTo)
		for _, v := range e.Candidates {
			require.Equal(t, SkipShardMoving, v.Reason, "%+v", v)
			require.False(t, v.Allowed)
		}
	})
	t.Run("window full", func(t *testing.T) {
		g := explainRegistry(t)
		p := pol
		p.MaxInflightPerNode = 1
		mustApply(t, g, PlaceTransfer{Shard: 2, Epoch: 1, From: 1, To: 3})
		e, err := NewCoordinator(p).Explain(g.View(), 1)
		require.NoError(t, err)
		// Node 1's own out window holds shard 2's move.
		require.Equal(t, SkipInflightWindow, verdictFor(t, e, 3).Reason)
		require.Equal(t, SkipInflightWindow, verdictFor(t, e, 2).Reason)
		require.Empty(t, NewCoordinator(p).Plan(g.View(), 5).Commands)
	})
	t.Run("not below target", func(t *testing.T) {
		g := explainRegistry(t)
		e, err := NewCoordinator(pol).Explain(g.View(), 11) // on node 2: 4/16, under target
		require.NoError(t, err)
		require.Equal(t, SkipNotAbove, verdictFor(t, e, 3).Reason)
	})
	t.Run("within tolerance", func(t *testing.T) {
		g := NewShardRegistry()
		mustApply(t, g, AddNode{Node: 1}, AddNode{Node: 2}, CreateShard{Range: KeyRange{End: []byte("m")}, Node: 1},
			CreateShard{Range: KeyRange{Start: []byte("m")}, Node: 2})
		for id := ShardID(1); id <= 2; id++ {
			require.NoError(t, g.ReportStats(id, Stats{Keys: 10, Bytes: 100}))
		}
		e, err := NewCoordinator(pol).Explain(g.View(), 1)
		require.NoError(t, err)
		require.Equal(t, MoveVerdict{Node: 2, Phase: "bytes", Reason: SkipWithinTolerance, Balance: e.Candidates[0].Balance}, e.Candidates[0])
	})
	t.Run("count band", func(t *testing.T) {
		// Node 1: two huge shards; node 2: many small ones. Bytes want
		// to move a huge shard to node 2, whose count is at its band.
		g := NewShardRegistry()
		mustApply(t, g, AddNode{Node: 1}, AddNode{Node: 2})
		for i := range 10 {
			n := NodeID(2)
			if i < 2 {
				n = 1
			}
			mustApply(t, g, CreateShard{Range: KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}, Node: n})
			size := uint64(1 << 20)
			if n == 1 {
				size = 1 << 30
			}
			require.NoError(t, g.ReportStats(ShardID(i+1), Stats{Keys: 1000, Bytes: size}))
		}
		e, err := NewCoordinator(pol).Explain(g.View(), 1)
		require.NoError(t, err)
		require.Equal(t, SkipCountBand, verdictFor(t, e, 2).Reason)
	})
	t.Run("cooling down", func(t *testing.T) {
		t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
		g := cooledRegistry(t, t0)
		c := NewCoordinator(pol)
		e, err := c.Explain(g.View(), 1)
		require.NoError(t, err)
		require.Equal(t, NodeID(2), e.Left)
		require.Equal(t, t0, e.MovedAt.UTC())
		require.Equal(t, t0.Add(pol.MoveCooldown), e.CoolingUntil.UTC())
		require.Equal(t, SkipCoolingDown, verdictFor(t, e, 3).Reason)
		require.Equal(t, SkipReturnsBack, verdictFor(t, e, 2).Reason)
		// Once the cool-down is over, node 3 may have it, node 2 not.
		c.SetClock(t0.Add(pol.MoveCooldown), time.Time{})
		e, err = c.Explain(g.View(), 1)
		require.NoError(t, err)
		require.True(t, e.CoolingUntil.IsZero())
		require.True(t, verdictFor(t, e, 3).Allowed)
		require.Equal(t, NodeID(3), e.Candidates[0].Node)
	})
	t.Run("down owner", func(t *testing.T) {
		g := explainRegistry(t)
		mustApply(t, g, SetNodeState{Node: 1, State: NodeDown})
		e, err := NewCoordinator(pol).Explain(g.View(), 1)
		require.NoError(t, err)
		require.Equal(t, NodeDown, e.OwnerState)
		for _, v := range e.Candidates {
			require.Equal(t, SkipNodeNotUp, v.Reason)
		}
	})
}

func TestExplainDrainPrefersTheEmptiest(t *testing.T) {
	g := explainRegistry(t)
	mustApply(t, g, SetNodeState{Node: 1, State: NodeDraining})
	c := NewCoordinator(DefaultPolicy())
	e, err := c.Explain(g.View(), 5)
	require.NoError(t, err)
	require.Equal(t, []NodeID{3, 2}, []NodeID{e.Candidates[0].Node, e.Candidates[1].Node})
	for _, v := range e.Candidates {
		require.True(t, v.Allowed)
		require.Equal(t, "drain", v.Phase)
	}
	// The drained shard joins the up nodes: 6 and 3 on nodes 2 and 3.
	require.InDelta(t, (4-3)*2/7.0, e.Candidates[0].Balance.Count, 1e-12)
}

// Explain changes nothing the next Plan reads.
func TestExplainIsPure(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	g := cooledRegistry(t, t0)
	a, b := NewCoordinator(DefaultPolicy()), NewCoordinator(DefaultPolicy())
	for range 3 {
		for id := ShardID(1); id <= 2; id++ {
			_, err := a.Explain(g.View(), id)
			require.NoError(t, err)
		}
		require.Equal(t, b.Plan(g.View(), 5), a.Plan(g.View(), 5))
		require.Equal(t, b.settled, a.settled)
	}
}

// BenchmarkExplain explains shards spread over the key space at 1M shards
// on 1,000 nodes (the BenchmarkPlan fixture: bytes known, one node
// empty), and a shard of a draining node.
//
//	go test -run '^$' -bench 'BenchmarkExplain' -benchtime 2000x -count 5 .
func BenchmarkExplain(b *testing.B) {
	pol := DefaultPolicy()
	for _, sz := range []benchSize{{1_000_000, 1_000}} {
		f := benchFixtureFor(b, sz)
		b.Run(sz.String(), func(b *testing.B) {
			c := NewCoordinator(pol)
			e, err := c.Explain(f.view, f.probes[0].ID)
			if err != nil || len(e.Candidates) != sz.nodes-1 {
				b.Fatalf("explain: %v, %d candidates", err, len(e.Candidates))
			}
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				benchSinkExplain, _ = c.Explain(f.view, f.probes[k%len(f.probes)].ID)
				k++
			}
			b.ReportMetric(float64(len(benchSinkExplain.Candidates)), "candidates")
		})
	}
}

var benchSinkExplain ShardExplanation

func TestExplainNodeDrain(t *testing.T) {
	pol := DefaultPolicy()
	pol.MaxInflightPerNode = 1
	g := explainRegistry(t)
	mustApply(t, g, SetNodeState{Node: 1, State: NodeDraining},
		PlaceTransfer{Shard: 11, Epoch: 1, From: 2, To: 3}, // fills node 3's in window
		PlaceTransfer{Shard: 14, Epoch: 1, From: 2, To: 3})
	c := NewCoordinator(pol)
	// Node 2 can still take one.
	e, err := c.ExplainNode(g.View(), 1)
	require.NoError(t, err)
	require.Equal(t, 10, e.Left)
	require.Equal(t, []NodeID{3}, e.FullWindows)
	require.Len(t, e.Held, 10)
	require.Equal(t, HeldShard{Shard: 1, Reason: SkipLimitReached}, e.Held[0])

	// One drain move in flight fills node 1's own out window: every
	// shard left waits for it, and the explanation names the windows.
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	e, err = c.ExplainNode(g.View(), 1)
	require.NoError(t, err)
	require.Equal(t, 9, e.Left)
	require.Equal(t, 1, e.MovesOut)
	require.True(t, e.OutWindowFull)
	require.Equal(t, []NodeID{1, 2, 3}, e.FullWindows)
	require.Equal(t, HeldShard{Shard: 1, Reason: SkipShardMoving, MovingTo: 2}, e.Held[0])
	for _, h := range e.Held[1:] {
		require.Equal(t, SkipInflightWindow, h.Reason, "%+v", h)
	}
	require.Empty(t, c.Plan(g.View(), 5).Commands, "the plan agrees: nothing can move")

	_, err = c.ExplainNode(g.View(), 9)
	require.ErrorIs(t, err, ErrUnknownNode)
}

func TestExplainNodeNothingLeft(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, AddNode{Node: 1}, AddNode{Node: 2}, CreateShard{Range: KeyRange{}, Node: 2},
		SetNodeState{Node: 1, State: NodeDraining})
	e, err := NewCoordinator(DefaultPolicy()).ExplainNode(g.View(), 1)
	require.NoError(t, err)
	require.True(t, e.NothingLeft)
	require.Zero(t, e.Left)
	require.Empty(t, e.Held)
}

func TestExplainNodeUp(t *testing.T) {
	g := explainRegistry(t)
	c := NewCoordinator(DefaultPolicy())
	e, err := c.ExplainNode(g.View(), 1)
	require.NoError(t, err)
	require.InDelta(t, 16/3.0, e.Target.Count, 1e-12)
	require.Equal(t, 10.0, e.Amount.Count)
	require.InDelta(t, 1.875, e.Ratio.Bytes, 1e-12)
	// Ten shards for a count target of 5⅓ is outside the count band too.
	require.Equal(t, []NodeRole{{Phase: "bytes", Role: "source"}, {Phase: "repair", Role: "source"}}, e.Roles)
	e, err = c.ExplainNode(g.View(), 3)
	require.NoError(t, err)
	require.Equal(t, []NodeRole{{Phase: "bytes", Role: "destination"}, {Phase: "repair", Role: "destination"}}, e.Roles)
}

func TestExplanationsJSON(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	g := cooledRegistry(t, t0)
	c := NewCoordinator(DefaultPolicy())
	e, err := c.Explain(g.View(), 1)
	require.NoError(t, err)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	require.Contains(t, string(b), `"reason":"moved recently: cooling down"`)
	require.Contains(t, string(b), `"cooling_until":"2026-12-05T12:30:00Z"`)
	var back ShardExplanation
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, e.Candidates, back.Candidates)
	require.True(t, e.CoolingUntil.Equal(back.CoolingUntil))
	require.ErrorIs(t, json.Unmarshal([]byte(`{"node":1,"allowed":true,"phase":"bytes","reason":"shard is moving","balance":{"count":0,"bytes":0,"load":0}}`), new(MoveVerdict)), ErrInvalidEncoding)

	n, err := c.ExplainNode(g.View(), 1)
	require.NoError(t, err)
	b, err = json.Marshal(n)
	require.NoError(t, err)
	var nb NodeExplanation
	require.NoError(t, json.Unmarshal(b, &nb))
	require.Equal(t, n, nb)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"node":{"id":1,"state":"up","shards":0}}`), new(NodeExplanation)), ErrInvalidEncoding)
}
