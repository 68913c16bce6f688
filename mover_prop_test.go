package placement

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The Mover under random histories: moves into its node and another
// begin, are aborted by the leader and begun again at new epochs, and
// other nodes' moves complete elsewhere, while its copies fail a random
// number of times first. Whatever the history, every move into its node
// still in the map once the history ends is completed by it; it copies
// nothing for another node; and it ends each attempt (shard, epoch) once.
func TestMoverProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		reg := moverMap(rt)
		leader := &registryLeader{reg: reg}
		fails := rapid.MapOf(rapid.Uint64Range(1, 4), rapid.IntRange(0, 2)).Draw(rt, "fails")
		var mu sync.Mutex
		tries := map[moveKey]int{}
		ended := map[moveKey]int{}
		var wrongNode bool
		mv, err := NewMover(MoverConfig{Node: 2, Source: reg, Completer: leader,
			MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
			Copy: func(ctx context.Context, m Move) error {
				mu.Lock()
				defer mu.Unlock()
				wrongNode = wrongNode || m.To != 2
				tries[keyOf(m)]++
				if tries[keyOf(m)] <= fails[uint64(m.Shard)] {
					return errors.New("copy failed")
				}
				return nil
			},
			Done: func(m Move, err error) {
				mu.Lock()
				defer mu.Unlock()
				ended[keyOf(m)]++
			}})
		require.NoError(rt, err)
		h := mv.Start()
		defer h.Stop()

		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		for range steps {
			id := ShardID(rapid.IntRange(1, 4).Draw(rt, "shard"))
			s, _ := reg.View().Shard(id)
			switch {
			case s.MovingTo == 0:
				to := NodeID(rapid.SampledFrom([]int{2, 3}).Draw(rt, "to"))
				if to != s.Node {
					_ = reg.Apply(PlaceTransfer{Shard: id, Epoch: s.Epoch, From: s.Node, To: to})
				}
			case rapid.Bool().Draw(rt, "abort"):
				_ = reg.Apply(AbortTransfer{Shard: id, Epoch: s.Epoch}) // may race the Mover: fine
			case s.MovingTo == 3:
				_ = reg.Apply(CompleteTransfer{Shard: id, Epoch: s.Epoch, To: 3}) // node 3's copier
			}
		}
		// Node 3's moves complete elsewhere; node 2's are the Mover's.
		for m := range reg.View().Moves() {
			if m.To == 3 {
				require.NoError(rt, reg.Apply(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch, To: 3}))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), moverWait)
		defer cancel()
		var token uint64
		for {
			moves, next, err := reg.WatchMoves(ctx, token)
			if err != nil {
				rt.Fatalf("moves still in flight: %v", mv.Copies())
			}
			if len(moves) == 0 {
				break
			}
			token = next
		}
		h.Stop()
		mu.Lock()
		defer mu.Unlock()
		require.False(rt, wrongNode, "copied a move into another node")
		for k, n := range ended {
			require.Equal(rt, 1, n, "attempt %+v ended %d times", k, n)
		}
	})
}
