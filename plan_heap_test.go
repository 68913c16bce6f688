package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// ranked and extremes answer "best node now" without a heap over every
// node; after random key changes and rule-outs they must agree with a
// scan of every node (highest or lowest key, lowest index on ties).
func TestRankedAndExtremesMatchAScan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "nodes")
		max := rapid.Bool().Draw(t, "max")
		k := rapid.IntRange(1, 6).Draw(t, "k")
		keys := make([]float64, n)
		up := make([]int, n)
		for i := range keys {
			keys[i] = float64(rapid.IntRange(0, 5).Draw(t, "key")) // many ties
			up[i] = i
		}
		key := func(i int) float64 { return keys[i] }
		sc := &scratch{}
		eligible := func(i int, k float64) bool { return k != 3 } // some nodes never eligible
		r := newRanked(k, max, sc)
		var e extremes
		e.start(k, sc)
		for _, i := range up {
			it := heapItem{key: keys[i], i: int32(i)}
			e.offer(it)
			if eligible(i, keys[i]) {
				r.offer(it)
			}
		}
		e.finish()
		r.finish(func() []heapItem {
			var all []heapItem
			for _, i := range up {
				if eligible(i, keys[i]) {
					all = append(all, heapItem{key: keys[i], i: int32(i)})
				}
			}
			return all
		})
		h := nodeHeap{max: max}
		better := func(a, b int) bool { return h.less(heapItem{keys[a], int32(a)}, heapItem{keys[b], int32(b)}) }
		ruled := map[int]bool{}
		out := func(i int) bool { return ruled[i] || !eligible(i, keys[i]) }
		changes := 0
		for step := 0; step < 3*n; step++ {
			want := -1
			for _, i := range up {
				if !out(i) && (want < 0 || better(i, want)) {
					want = i
				}
			}
			require.Equal(t, want, r.top(key, out), "ranked")
			hi, lo := 0, 0
			for _, i := range up {
				if keys[i] > keys[hi] {
					hi = i
				}
				if keys[i] < keys[lo] {
					lo = i
				}
			}
			require.Equal(t, hi, e.top(key, true), "extremes, highest")
			require.Equal(t, lo, e.top(key, false), "extremes, lowest")
			if want < 0 {
				break
			}
			// extremes tolerate k−1 changed nodes: keep within that.
			if rapid.Bool().Draw(t, "rule") || changes >= k-1 {
				ruled[want] = true
				continue
			}
			i := rapid.IntRange(0, n-1).Draw(t, "changed")
			if !e.isChanged(i) {
				changes++
			}
			keys[i] = float64(rapid.IntRange(0, 5).Draw(t, "newkey"))
			e.touch(i)
			r.push(heapItem{key: keys[i], i: int32(i)})
		}
	})
}
