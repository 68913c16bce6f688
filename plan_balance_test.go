package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// twoNodes is a projection of two up nodes with equal shares, holding
// counts and bytes.
func twoNodes(counts []int, bytes []float64) *projection {
	return &projection{
		counts: counts, bytes: bytes,
		up: []int{0, 1}, share: []float64{0.5, 0.5}, inv: []float64{2, 2},
	}
}

// TestBalancerCountBounds: each node may hold its share of the count ±
// CountTolerance, rounded outwards; a move keeps both nodes within.
func TestBalancerCountBounds(t *testing.T) {
	pr := twoNodes([]int{6, 4}, []float64{60, 40})
	b := newBalancer(pr, 0.1, 0)
	lo, hi := b.countBounds(0)
	require.Equal(t, [2]int{4, 6}, [2]int{lo, hi}, "5 ± 0.5, outwards")
	srcOK, dstOK := b.countKeeps(0, 1)
	require.True(t, srcOK)
	require.True(t, dstOK)
	srcOK, dstOK = b.countKeeps(1, 0)
	require.False(t, srcOK, "4 is the lower bound")
	require.False(t, dstOK, "6 is the upper bound")
	require.Same(t, b.dimBytes, b.primary, "bytes known: bytes first")
	require.Nil(t, b.dimLoad)
}

// TestBalancerSeesTheProjection: the dimensions read the projection's
// slices, so a transfer projected after the balancer is made is in them.
func TestBalancerSeesTheProjection(t *testing.T) {
	pr := twoNodes([]int{6, 4}, []float64{60, 40})
	b := newBalancer(pr, 0.1, 0)
	require.InDelta(t, 1.2, b.dimBytes.ratio(0), 1e-9)
	pr.project(&shardRec{known: true, bytes: 10}, 0, 1)
	require.InDelta(t, 1.0, b.dimBytes.ratio(0), 1e-9)
	require.Equal(t, 5, pr.counts[0])
}

// TestBalancerEngage: a phase starts above the trigger, runs while the
// spread is above the stop band, and ends (clears its flag) only once the
// moves it counted are settled.
func TestBalancerEngage(t *testing.T) {
	pr := twoNodes([]int{5, 5}, []float64{50, 50})
	b := newBalancer(pr, 0.1, 0)
	const trigger, stop = 0.2, 0.05
	on := false
	require.False(t, b.engage(&on, 0.1, pr.bytes, trigger, stop), "under the trigger")
	require.False(t, on)
	require.True(t, b.engage(&on, 0.3, pr.bytes, trigger, stop))
	require.True(t, on)
	require.True(t, b.engage(&on, 0.1, pr.bytes, trigger, stop), "on, above the stop band")
	pr.upMoving = true
	require.False(t, b.engage(&on, 0.01, pr.bytes, trigger, stop))
	require.True(t, on, "in the band by moves not yet made: stays on")
	pr.upMoving = false
	require.False(t, b.engage(&on, 0.01, pr.bytes, trigger, stop))
	require.False(t, on, "settled in the band: ends")
	// Once the projection moved, its own spread counts, not the view's.
	pr.moved, on = true, true
	require.False(t, b.engage(&on, 0.3, pr.bytes, trigger, stop), "the projection is even")
}
