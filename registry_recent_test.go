package placement

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestRecentMovesSinceProperty checks the per-minute sums the churn budget
// reads against the entries themselves: after any sequence of records
// (new shards and shards moving again, some of them drains), forgets and
// drops past the day, since(from) adds up exactly the entries at or after
// from that are not drains, and a clone is not changed by what its
// original records after it.
func TestRecentMovesSinceProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := newRecentMoves()
		at := int64(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC).UnixNano())
		var frozen *recentMoves
		var want churnSum
		for i := range rapid.IntRange(1, 200).Draw(t, "steps") {
			id := ShardID(rapid.IntRange(1, 30).Draw(t, "shard"))
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				r.forget(id)
			case 1:
				at += int64(rapid.SampledFrom([]time.Duration{time.Hour, 25 * time.Hour}).Draw(t, "jump"))
			default:
				at += rapid.Int64Range(0, int64(3*time.Minute)).Draw(t, "step")
				sized := rapid.Bool().Draw(t, "sized")
				r.record(recentItem{id: id, at: at, from: 1, bytes: rapid.Uint64().Draw(t, "bytes"), sized: sized,
					drain: rapid.IntRange(0, 3).Draw(t, "drain") == 0})
			}
			if i == 50 {
				c := r.clone()
				frozen = &c
				want = brute(frozen, 0)
			}
			from := at - rapid.Int64Range(0, int64(2*time.Hour)).Draw(t, "back")
			sameSum(t, brute(&r, from), r.since(from))
		}
		if frozen != nil {
			sameSum(t, want, frozen.since(0))
		}
		// Every minute's sums are of entries still there, drains in none.
		drains := 0
		r.byAt.Ascend(func(it recentItem) bool {
			if it.drain {
				drains++
			}
			return true
		})
		require.Equal(t, r.byAt.Len()-drains, r.since(0).shards)
	})
}

// sameSum checks two sums are equal, the bytes up to float rounding (the
// order of adding differs).
func sameSum(t require.TestingT, want, got churnSum) {
	require.Equal(t, [2]int{want.shards, want.unsized}, [2]int{got.shards, got.unsized})
	require.InDelta(t, want.bytes, got.bytes, 1e-12*max(want.bytes, 1))
}

// brute sums r's entries at or after from one by one.
func brute(r *recentMoves, from int64) churnSum {
	var sum churnSum
	r.byAt.Ascend(func(it recentItem) bool {
		if it.at >= from && !it.drain {
			sum.addItem(it)
		}
		return true
	})
	return sum
}
