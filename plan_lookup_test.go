package placement

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// lookupRegistry has node 1 with shards of 10, 20, … 100 bytes (IDs 1 to
// 10, load 1 to 10) and one shard of unknown size (ID 11), and node 2
// with one shard (ID 12).
func lookupRegistry(t *testing.T) *state {
	g := NewShardRegistry()
	for _, n := range []NodeID{1, 2} {
		require.NoError(t, g.Apply(AddNode{Node: n}))
	}
	create := func(k int, node NodeID) ShardID {
		id := g.View().NextShardID()
		r := KeyRange{Start: []byte(fmt.Sprintf("k%02d", k)), End: []byte(fmt.Sprintf("k%02d", k+1))}
		require.NoError(t, g.Apply(CreateShard{Range: r, Node: node}))
		return id
	}
	for k := 1; k <= 10; k++ {
		id := create(k, 1)
		require.NoError(t, g.ReportStats(id, Stats{Keys: 1, Bytes: uint64(10 * k), Load: float64(k)}))
	}
	create(11, 1)
	id := create(12, 2)
	require.NoError(t, g.ReportStats(id, Stats{Keys: 1, Bytes: 55, Load: 5}))
	return g.View().state()
}

func newTestLookups(s *state) (*ledger, *lookups) {
	l := &ledger{s: s, limit: 10, room: 10}
	return l, &lookups{s: s, plan: l}
}

// TestLookupsNearest: nearest offers, on one node only, the shards nearest
// a size below it (largest first), then above it (smallest first),
// nearestScan each side or until fit accepts one, passing over held ones.
func TestLookupsNearest(t *testing.T) {
	s := lookupRegistry(t)
	l, lk := newTestLookups(s)
	offered := func(size float64, accept ShardID) (ids []ShardID) {
		lk.nearest(1, size, func(r *shardRec) bool {
			ids = append(ids, r.ID)
			return r.ID == accept
		})
		return ids
	}
	require.Equal(t, []ShardID{5, 4, 3, 2, 6, 7, 8, 9}, offered(55, 0))
	require.Equal(t, []ShardID{5, 4, 6, 7, 8, 9}, offered(55, 4), "the side that accepts stops")
	require.Equal(t, []ShardID{5, 6, 7, 8, 9}, offered(50, 5), "at the size counts as below")
	l.hold(5, 6)
	require.Equal(t, []ShardID{4, 3, 2, 1, 7, 8, 9, 10}, offered(55, 0))
}

// TestLookupsCheapestAndUnknown: cheapest is the smallest shard not taken,
// shards of unknown size last; firstUnknown only those.
func TestLookupsCheapestAndUnknown(t *testing.T) {
	s := lookupRegistry(t)
	l, lk := newTestLookups(s)
	require.Equal(t, ShardID(1), lk.cheapest(1).ID)
	require.Equal(t, ShardID(11), lk.firstUnknown(1).ID)
	l.hold(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	require.Equal(t, ShardID(11), lk.cheapest(1).ID)
	l.hold(11)
	require.Nil(t, lk.cheapest(1))
	require.Nil(t, lk.firstUnknown(1))
	require.Equal(t, ShardID(12), lk.cheapest(2).ID)
}

// TestLookupsLoad: nearestLoad offers shards by load on one node, nearest
// first (ties to the colder side); hottest, hottest first.
func TestLookupsLoad(t *testing.T) {
	s := lookupRegistry(t)
	_, lk := newTestLookups(s)
	var ids []ShardID
	for _, r := range lk.nearestLoad(1, 5.4) {
		if r == nil {
			break
		}
		ids = append(ids, r.ID)
	}
	require.Equal(t, []ShardID{5, 6, 4, 7, 3, 8, 2, 9}, ids)
	ids = nil
	lk.hottest(1, func(r *shardRec) bool {
		ids = append(ids, r.ID)
		return len(ids) < 3
	})
	require.Equal(t, []ShardID{10, 9, 8}, ids)
}
