package placement

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A transfer back to a node the shard left within BackMoveWindow is a
// back-move; one after the window, a rejected one, or one to a node the
// shard never left is not.
func TestMoveHistory(t *testing.T) {
	var h moveHistory
	t0 := choresT0
	tr := func(shard ShardID, from, to NodeID) PlaceTransfer {
		return PlaceTransfer{Shard: shard, Epoch: 1, From: from, To: to}
	}
	ok := func(n int) []error { return make([]error, n) }

	require.Zero(t, h.record([]Command{tr(1, 1, 2), tr(2, 1, 3), AddNode{Node: 9}}, ok(3), t0))
	require.Zero(t, h.record([]Command{tr(1, 2, 3)}, ok(1), t0.Add(time.Minute)), "1 -> 2 -> 3: no node left twice")
	require.Equal(t, 1, h.record([]Command{tr(1, 3, 1)}, ok(1), t0.Add(2*time.Minute)), "back to node 1")
	require.Zero(t, h.record([]Command{tr(2, 3, 1)}, []error{errors.New("rejected")}, t0.Add(3*time.Minute)),
		"a rejected transfer moved nothing")
	require.Zero(t, h.record([]Command{tr(2, 3, 1)}, ok(1), t0.Add(BackMoveWindow)), "node 1 was left an hour ago")
	require.Len(t, h.left, 2)
	require.Zero(t, h.record(nil, nil, t0.Add(3*BackMoveWindow)))
	require.Empty(t, h.left, "departures past the window are forgotten")
}
