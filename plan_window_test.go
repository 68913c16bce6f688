package placement

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func testWindows(on bool, states ...NodeState) windows {
	nodes := make([]nodeRec, len(states))
	for i, st := range states {
		nodes[i].ID, nodes[i].State = NodeID(i+1), st
	}
	p := Policy{MaxInflightPerNode: 2, MaxInflightBytesPerNode: 100}
	return newWindows(p, on, nodes, getScratch())
}

// TestWindowsCount: a window is full once it holds MaxInflightPerNode
// moves, in the direction they take.
func TestWindowsCount(t *testing.T) {
	w := testWindows(true, NodeUp, NodeUp, NodeUp)
	require.True(t, w.on())
	w.add(0, 1, 1)
	require.False(t, w.outFull(0))
	require.False(t, w.inFull(1))
	w.add(0, 2, 1)
	require.True(t, w.outFull(0), "two moves out of 0")
	require.False(t, w.inFull(0), "nothing into 0")
	require.False(t, w.inFull(1))
	w.add(2, 1, 1)
	require.True(t, w.inFull(1), "two moves into 1")
	require.False(t, w.outFull(1))
}

// TestWindowsBytes: a transfer fits while the bytes in flight stay within
// MaxInflightBytesPerNode; the window is full once they reach it.
func TestWindowsBytes(t *testing.T) {
	w := testWindows(true, NodeUp, NodeUp, NodeUp)
	w.add(0, 1, 60)
	require.Equal(t, noRefusal, w.admits(0, 1, 40), "exactly the window")
	require.Equal(t, srcWindow|dstWindow, w.admits(0, 1, 41))
	require.Equal(t, srcWindow, w.admits(0, 2, 41), "only 0 has bytes out")
	require.Equal(t, dstWindow, w.admits(2, 1, 41), "only 1 has bytes in")
	require.Equal(t, noRefusal, w.admits(1, 0, 100), "the other direction is empty")
	w.add(0, 1, 40)
	require.True(t, w.outFull(0), "bytes reached the window")
	require.True(t, w.inFull(1))
}

// TestWindowsLargeShardAlone: a shard larger than the byte window moves
// when nothing is in flight on its side, and then fills the window.
func TestWindowsLargeShardAlone(t *testing.T) {
	w := testWindows(true, NodeUp, NodeUp, NodeUp)
	require.Equal(t, noRefusal, w.admits(0, 1, 500))
	w.add(0, 1, 500)
	require.True(t, w.outFull(0))
	require.True(t, w.inFull(1))
	require.Equal(t, srcWindow|dstWindow, w.admits(0, 1, 1))
}

// TestWindowsLostSource: a lost node's shards are not copied from it, so
// its out window never fills nor refuses; its destinations' windows do.
func TestWindowsLostSource(t *testing.T) {
	w := testWindows(true, NodeLost, NodeUp, NodeUp)
	for range 5 {
		w.add(0, 1, 60)
	}
	require.False(t, w.outFull(0))
	require.True(t, w.inFull(1))
	require.Equal(t, noRefusal, w.admits(0, 2, 60))
	require.Equal(t, dstWindow, w.admits(0, 1, 1))
}

// TestWindowsOff: windows that are off (moves take no time) never fill,
// refuse nothing and count nothing.
func TestWindowsOff(t *testing.T) {
	w := testWindows(false, NodeUp, NodeUp)
	require.False(t, w.on())
	for range 5 {
		w.add(0, 1, 500)
	}
	require.False(t, w.outFull(0))
	require.False(t, w.inFull(1))
	require.Equal(t, noRefusal, w.admits(0, 1, 500))
}

// TestWindowsNoByteLimit: with MaxInflightBytesPerNode 0 only the count
// window applies.
func TestWindowsNoByteLimit(t *testing.T) {
	nodes := make([]nodeRec, 2)
	w := newWindows(Policy{MaxInflightPerNode: 3}, true, nodes, getScratch())
	w.add(0, 1, 1e18)
	require.False(t, w.outFull(0))
	require.Equal(t, noRefusal, w.admits(0, 1, 1e18))
}

// TestPressureMoveCap: a pressed node's move limit is MaxInflightPerNode ×
// (1 − pressure) rounded down as exact arithmetic would, for pressures in
// hundredths: float error (5 × (1 − 0.8) = 0.9999999999999998) takes no
// move away.
func TestPressureMoveCap(t *testing.T) {
	for _, max := range []int{1, 2, 3, 4, 5, 7, 10, 20, 100, 1000} {
		for hundredths := 0; hundredths <= 100; hundredths++ {
			nodes := []nodeRec{{Node: Node{ID: 1, State: NodeUp}, pressure: float64(hundredths) / 100}}
			w := newWindows(Policy{MaxInflightPerNode: max}, true, nodes, getScratch())
			want := max * (100 - hundredths) / 100
			require.Equal(t, want, w.moveCap(0), "max %d, pressure %d%%", max, hundredths)
		}
	}
}
