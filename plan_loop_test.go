package placement

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// stuckBytesView is a map on which the bytes phase is stuck: node 1 holds
// one shard of 400 MiB, nodes 2..sources one of 210 MiB and the rest one of
// 190 MiB each. The byte spread is far above the trigger, but every node
// below its target is only a few MiB short of it, so no shard of any
// source fits (a move may not overfill its destination by more than its
// shortfall): each source is tried in turn and fails.
func stuckBytesView(t *testing.T, sources, nodes int) View {
	g := NewShardRegistry()
	for n := 1; n <= nodes; n++ {
		require.NoError(t, g.Apply(AddNode{Node: NodeID(n)}))
	}
	for n := 1; n <= nodes; n++ {
		size := uint64(190 << 20)
		switch {
		case n == 1:
			size = 400 << 20
		case n <= sources:
			size = 210 << 20
		}
		r := KeyRange{Start: []byte(fmt.Sprintf("s%04d", n)), End: []byte(fmt.Sprintf("s%04d", n+1))}
		id := g.View().NextShardID()
		require.NoError(t, g.Apply(CreateShard{Range: r, Node: NodeID(n)}))
		require.NoError(t, g.ReportStats(id, Stats{Keys: 5_000, Bytes: size}))
	}
	return g.View()
}

// A balancing phase that is stuck tries at most the plan's scan budget of
// failed picks (64 + 8 × limit), then ends as stuck with SkipScanBudget,
// rather than try every source; under the budget it ends as before, with
// SkipNoTarget. Either way it plans nothing and its rebalance ends: the
// next plan, on the same map, would try the same picks.
func TestStuckPhaseStopsAtItsScanBudget(t *testing.T) {
	v := stuckBytesView(t, 75, 150) // 75 sources: more than limit 1's budget of 72
	for _, tc := range []struct {
		limit int
		want  SkipReason
	}{
		{limit: 1, want: SkipScanBudget},
		{limit: 5, want: SkipNoTarget}, // a budget of 104
	} {
		t.Run(fmt.Sprintf("limit=%d", tc.limit), func(t *testing.T) {
			p := NewCoordinator(DefaultPolicy()).Plan(v, tc.limit)
			require.Empty(t, p.Commands)
			require.Greater(t, p.Balance.Bytes, DefaultPolicy().ImbalanceThreshold, "the bytes phase engages")
			require.False(t, p.Rebalancing, "a stuck phase ends its rebalance")
			require.Contains(t, p.Skipped, Skip{Reason: tc.want})
			other := map[SkipReason]SkipReason{SkipScanBudget: SkipNoTarget, SkipNoTarget: SkipScanBudget}[tc.want]
			require.NotContains(t, p.Skipped, Skip{Reason: other})
		})
	}
}

// refRanked is ranked as it was before refills: when its list of the k
// best runs out, it heaps every node at once. ranked must pick the same
// nodes and, since out may have side effects (window reports), check
// nodes for the first time in the same order.
type refRanked struct {
	best      nodeHeap
	list      []heapItem
	next      int
	truncated bool
	rest      func() []heapItem
	moved     nodeHeap
	k         int
}

func (r *refRanked) offer(it heapItem) {
	h := &r.best
	if len(h.items) == r.k {
		r.truncated = true
		if !h.less(h.items[0], it) {
			return
		}
		h.pop()
	}
	h.push(it)
}

func (r *refRanked) finish(rest func() []heapItem) {
	h := &r.best
	r.list = make([]heapItem, len(h.items))
	for j := len(r.list) - 1; j >= 0; j-- {
		r.list[j] = h.items[0]
		h.pop()
	}
	r.rest = rest
}

func (r *refRanked) top(key func(int) float64, out func(int) bool) int {
	for {
		for r.next < len(r.list) {
			it := r.list[r.next]
			if i := int(it.i); key(i) == it.key && !out(i) {
				break
			}
			r.next++
		}
		if r.next == len(r.list) && r.truncated {
			r.truncated = false
			all := append(r.rest(), r.moved.items...)
			r.moved.init(all, r.moved.max)
			r.list = nil
			r.next = 0
			continue
		}
		m := r.moved.top(key, out)
		if r.next == len(r.list) {
			return m
		}
		l := int(r.list[r.next].i)
		if m >= 0 && r.moved.less(heapItem{key(m), int32(m)}, r.list[r.next]) {
			return m
		}
		return l
	}
}

func TestRankedRefillChecksNodesInOneHeapsOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "nodes")
		max := rapid.Bool().Draw(t, "max")
		k := rapid.IntRange(1, 6).Draw(t, "k")
		keys := make([]float64, n)
		for i := range keys {
			keys[i] = float64(rapid.IntRange(0, 6).Draw(t, "key"))
		}
		key := func(i int) float64 { return keys[i] }
		eligible := func(i int) bool { return keys[i] != 3 }
		rest := func() []heapItem {
			var all []heapItem
			for i := range keys {
				if eligible(i) {
					all = append(all, heapItem{key: keys[i], i: int32(i)})
				}
			}
			return all
		}
		got := newRanked(k, max, &scratch{})
		want := &refRanked{k: k, best: nodeHeap{max: max, worst: true}, moved: nodeHeap{max: max}}
		for i := range keys {
			if eligible(i) {
				got.offer(heapItem{key: keys[i], i: int32(i)})
				want.offer(heapItem{key: keys[i], i: int32(i)})
			}
		}
		got.finish(rest)
		want.finish(rest)
		// Nodes are ruled out (a failed pick) or out for a full window or
		// cap, for good either way, as in a phase. The first time each
		// node is checked is recorded: out's side effects (a window
		// reported) happen then, and checking again changes nothing.
		ruled := map[int]bool{}
		blocked := map[int]bool{}
		var gotOrder, wantOrder []int
		outFor := func(order *[]int, seen map[int]bool) func(int) bool {
			return func(i int) bool {
				if !seen[i] {
					seen[i] = true
					*order = append(*order, i)
				}
				return ruled[i] || blocked[i] || !eligible(i)
			}
		}
		gotSeen, wantSeen := map[int]bool{}, map[int]bool{}
		for step := 0; step < 3*n; step++ {
			g := got.top(key, outFor(&gotOrder, gotSeen))
			w := want.top(key, outFor(&wantOrder, wantSeen))
			require.Equal(t, w, g, "top")
			require.Equal(t, wantOrder, gotOrder, "the order nodes are first checked in")
			if w < 0 {
				break
			}
			switch rapid.IntRange(0, 2).Draw(t, "what") {
			case 0:
				ruled[w] = true
			case 1:
				blocked[w] = true
			default:
				// A pick moved it: a new key.
				keys[w] = float64(rapid.IntRange(0, 6).Draw(t, "newkey"))
				it := heapItem{key: keys[w], i: int32(w)}
				got.push(it)
				want.moved.push(it)
			}
		}
		require.True(t, slices.Equal(gotOrder, wantOrder))
	})
}
