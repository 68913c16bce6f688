package placement

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAwaitWakesWhenTheIndexPasses(t *testing.T) {
	reg := NewShardRegistry()
	fsm := NewFSM(reg)
	require.Equal(t, []error{nil}, fsm.ApplyEntry(5, Encode(AddNode{Node: 1})))
	require.Equal(t, uint64(5), reg.View().Index())

	v, err := reg.Await(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, uint64(5), v.Index(), "index 0: at once")
	v, err = reg.Await(context.Background(), 4)
	require.NoError(t, err)
	require.Equal(t, uint64(5), v.Index(), "already past: at once")

	got := make(chan View, 1)
	go func() {
		v, _ := reg.Await(context.Background(), 5) // no deadline: no error
		got <- v
	}()
	// An entry that changes nothing (rejected) still moves the index.
	res := fsm.ApplyEntry(6, Encode(AddNode{Node: 1}))
	require.ErrorIs(t, res.([]error)[0], ErrNodeExists)
	select {
	case v := <-got:
		require.Equal(t, uint64(6), v.Index())
	case <-time.After(moverWait):
		t.Fatal("Await did not wake")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err = reg.Await(ctx, 6)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, uint64(6), v.Index(), "the current view with ctx's error")
}

func TestWatchMovesTokens(t *testing.T) {
	reg := moverMap(t)
	moves, token, err := reg.WatchMoves(context.Background(), 0)
	require.NoError(t, err)
	require.Empty(t, moves)
	require.NotZero(t, token)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, same, err := reg.WatchMoves(ctx, token)
	require.ErrorIs(t, err, context.Canceled, "nothing new: it waits")
	require.Equal(t, token, same)

	m := begin(t, reg, 1, 2)
	moves, next, err := reg.WatchMoves(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, []Move{m}, moves)
	require.NotEqual(t, token, next)

	// A restore wakes a watcher too.
	var snap bytes.Buffer
	require.NoError(t, reg.View().WriteSnapshot(&snap))
	require.NoError(t, reg.ReadSnapshot(&snap))
	_, after, err := reg.WatchMoves(context.Background(), next)
	require.NoError(t, err)
	require.NotEqual(t, next, after)
}
