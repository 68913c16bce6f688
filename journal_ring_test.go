package placement

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The journal keeps the newest JournalSize applied decisions, oldest
// first, and leaves out the rejected ones.
func TestJournalBoundedAndOrdered(t *testing.T) {
	var j journal
	at := time.Unix(0, 0)
	id := ShardID(0)
	for batch := range 700 {
		reasons := make([]Reason, 4)
		results := make([]error, 4)
		for k := range reasons {
			id++
			reasons[k] = Reason{Command: PlaceTransfer{Shard: id}, Phase: PhaseBytes}
		}
		results[3] = errors.New("rejected") // every fourth is not applied
		j.add(reasons, results, uint64(batch), at)
		require.LessOrEqual(t, len(j.list()), JournalSize)
	}
	got := j.list()
	require.Len(t, got, JournalSize)
	// 700 batches of 3 applied: the last 1,000 of the 2,100.
	var want []ShardID
	for s := ShardID(1); s <= id; s++ {
		if s%4 != 0 {
			want = append(want, s)
		}
	}
	want = want[len(want)-JournalSize:]
	for i, e := range got {
		require.Equal(t, want[i], e.Reason.Command.(PlaceTransfer).Shard, "entry %d", i)
	}
	require.Equal(t, uint64(699), got[len(got)-1].Term)
}
