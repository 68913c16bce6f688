package placement

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The chores' decisions, without raft: each is a function of a View and
// this leader's clock.

var choresT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// at is choresT0 plus d.
func at(d time.Duration) time.Time { return choresT0.Add(d) }

// applyAt applies cmds to g with the log time when (zero: none).
func applyAt(t *testing.T, g *ShardRegistry, when time.Time, cmds ...Command) {
	t.Helper()
	for _, c := range cmds {
		require.NoError(t, g.ApplyAt(c, when), "apply %v", c)
	}
}

func TestDue(t *testing.T) {
	const d = time.Minute
	tests := []struct {
		name                string
		start, now, elected time.Time
		want                bool
	}{
		{"just short", at(0), at(d - 1), at(-time.Hour), false},
		{"at the boundary", at(0), at(d), at(-time.Hour), true},
		{"past", at(0), at(2 * d), at(-time.Hour), true},
		{"elected just short", at(-time.Hour), at(d - 1), at(0), false},
		{"elected at the boundary", at(-time.Hour), at(d), at(0), true},
		// This leader's clock ahead of the one that started the timer:
		// the timer looks long over, but this leader waits d itself.
		{"skewed ahead, new leader", at(-24 * time.Hour), at(time.Second), at(0), false},
		// Behind: the start is in this leader's future; it waits for it.
		{"skewed behind", at(time.Hour), at(time.Hour + d - 1), at(0), false},
		{"skewed behind, caught up", at(time.Hour), at(time.Hour + d), at(0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, due(tt.start, d, tt.now, tt.elected))
		})
	}
	require.True(t, due(at(0), 0, at(0), at(0)), "a zero timer is due at once")
}

func TestFirstSeen(t *testing.T) {
	var seen firstSeen[int]
	round := func(now time.Time, keys ...int) (firsts []time.Time) {
		var next firstSeen[int]
		for _, k := range keys {
			firsts = append(firsts, seen.see(k, now, &next))
		}
		seen = next
		return firsts
	}
	require.Equal(t, []time.Time{at(0), at(0)}, round(at(0), 1, 2))
	require.Equal(t, []time.Time{at(0), at(time.Second)}, round(at(time.Second), 1, 3),
		"1 keeps its first sighting; 3 is new")
	require.Equal(t, firstSeen[int]{1: at(0), 3: at(time.Second)}, seen, "2, gone, is dropped")
	require.Equal(t, []time.Time{at(3 * time.Second)}, round(at(3*time.Second), 2),
		"2, back, is seen anew")
	require.Nil(t, round(at(4*time.Second)))
	require.Nil(t, seen, "no keys, no map")
}

// inFlightMap is nodes 1 to 4 at format version 3 with shards 1 to 4 on node
// 1, and moves of shards 1 and 2 to node 2 begun at the log time began (zero:
// none), and of shards 3 and 4 to node 3 begun without one.
func inFlightMap(t *testing.T, began time.Time) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	applyAt(t, g, time.Time{},
		SetFormatVersion{Version: versionMoves},
		AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3}, AddNode{Node: 4},
		CreateShard{Range: KeyRange{End: []byte("b")}, Node: 1},
		CreateShard{Range: KeyRange{Start: []byte("b"), End: []byte("c")}, Node: 1},
		CreateShard{Range: KeyRange{Start: []byte("c"), End: []byte("d")}, Node: 1},
		CreateShard{Range: KeyRange{Start: []byte("d")}, Node: 1},
	)
	transfer := func(id ShardID, to NodeID) PlaceTransfer {
		sh, ok := g.View().Shard(id)
		require.True(t, ok)
		return PlaceTransfer{Shard: id, Epoch: sh.Epoch, From: sh.Node, To: to}
	}
	applyAt(t, g, began, transfer(1, 2), transfer(2, 2))
	applyAt(t, g, time.Time{}, transfer(3, 3), transfer(4, 3))
	return g
}

// attempts names the moves of v of shards ids.
func attempts(v View, ids ...ShardID) []moveAttempt {
	var out []moveAttempt
	for m := range v.Moves() {
		for _, id := range ids {
			if m.Shard == id {
				out = append(out, moveAttempt{m.Shard, m.Epoch})
			}
		}
	}
	return out
}

func aborted(v View, ids ...ShardID) []AbortTransfer {
	var out []AbortTransfer
	for _, a := range attempts(v, ids...) {
		out = append(out, AbortTransfer{Shard: a.shard, Epoch: a.epoch})
	}
	return out
}

func TestExpiredMoves(t *testing.T) {
	const d = time.Minute
	pol := DefaultPolicy()
	pol.MoveTimeout = d
	v := inFlightMap(t, at(0)).View()
	unlogged := attempts(v, 3, 4)
	seenAt := func(when time.Time) firstSeen[moveAttempt] {
		return firstSeen[moveAttempt]{unlogged[0]: when, unlogged[1]: when}
	}
	tests := []struct {
		name         string
		now, elected time.Time
		seen         firstSeen[moveAttempt]
		limit        int
		want         []ShardID
		wantSeen     firstSeen[moveAttempt]
	}{
		{"just short", at(d - 1), at(-time.Hour), nil, 10, nil, seenAt(at(d - 1))},
		{"logged moves at the boundary", at(d), at(-time.Hour), nil, 10, []ShardID{1, 2}, seenAt(at(d))},
		{"unlogged moves timed from their first sighting", at(d), at(-time.Hour), seenAt(at(0)), 10,
			[]ShardID{1, 2, 3, 4}, seenAt(at(0))},
		{"first sighting just short", at(d), at(-time.Hour), seenAt(at(1)), 10, []ShardID{1, 2}, seenAt(at(1))},
		{"a new leader waits d itself", at(d), at(1), seenAt(at(0)), 10, nil, seenAt(at(0))},
		{"skewed: this clock far ahead", at(24 * time.Hour), at(24*time.Hour - d + 1), seenAt(at(0)), 10,
			nil, seenAt(at(0))},
		{"limit", at(d), at(-time.Hour), seenAt(at(0)), 3, []ShardID{1, 2, 3}, seenAt(at(0))},
		{"limit: moves past it are still seen", at(d), at(-time.Hour), nil, 1, []ShardID{1}, seenAt(at(d))},
		{"sightings of moves gone are dropped", at(d - 1), at(-time.Hour),
			firstSeen[moveAttempt]{{shard: 9, epoch: 1}: at(0), unlogged[0]: at(1)}, 10,
			nil, firstSeen[moveAttempt]{unlogged[0]: at(1), unlogged[1]: at(d - 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aborts, fromLost, next := expiredMoves(v, pol, tt.limit, tt.now, tt.elected, tt.seen, nil)
			require.Equal(t, aborted(v, tt.want...), aborts)
			require.Zero(t, fromLost)
			require.Equal(t, tt.wantSeen, next)
		})
	}

	t.Run("first sightings across calls", func(t *testing.T) {
		var seen firstSeen[moveAttempt]
		for _, now := range []time.Time{at(0), at(d / 2), at(d - 1)} {
			aborts, _, next := expiredMoves(v, pol, 10, now, at(-time.Hour), seen, nil)
			require.Empty(t, aborts)
			require.Equal(t, seenAt(at(0)), next)
			seen = next
		}
		aborts, _, _ := expiredMoves(v, pol, 10, at(d), at(-time.Hour), seen, nil)
		require.Equal(t, aborted(v, 1, 2, 3, 4), aborts)
	})

	t.Run("no moves", func(t *testing.T) {
		g := NewShardRegistry()
		aborts, fromLost, next := expiredMoves(g.View(), pol, 10, at(d), at(-time.Hour), seenAt(at(0)), nil)
		require.Empty(t, aborts)
		require.Zero(t, fromLost)
		require.Nil(t, next)
	})
}

func TestExpiredMovesFromLostNodes(t *testing.T) {
	pol := DefaultPolicy()
	pol.MoveTimeout = time.Hour
	g := inFlightMap(t, at(0))
	// Node 1, the source of every move, is lost: at version 3 its moves
	// stay in flight, and the leader aborts them whatever their age.
	applyAt(t, g, at(0), SetNodeState{Node: 1, State: NodeLost})
	v := g.View()
	require.Equal(t, 4, v.MoveCount())

	aborts, fromLost, _ := expiredMoves(v, pol, 10, at(time.Second), at(time.Second), nil, nil)
	require.Equal(t, aborted(v, 1, 2, 3, 4), aborts)
	require.Equal(t, 4, fromLost)

	aborts, fromLost, next := expiredMoves(v, pol, 2, at(time.Second), at(time.Second), nil, nil)
	require.Equal(t, aborted(v, 1, 2), aborts, "the limit holds")
	require.Equal(t, 2, fromLost)
	require.Len(t, next, 2, "the unlogged moves past the limit are seen")

	// Down is not lost: its moves wait for MoveTimeout.
	g = inFlightMap(t, at(0))
	applyAt(t, g, at(0), SetNodeState{Node: 1, State: NodeDown})
	aborts, fromLost, _ = expiredMoves(g.View(), pol, 10, at(time.Second), at(time.Second), nil, nil)
	require.Empty(t, aborts)
	require.Zero(t, fromLost)
}

// downNodesMap is nodes 1 to 4 at format version version, with node 2 down since
// the log time since (zero: none) and node 3 down without a log time.
func downNodesMap(t *testing.T, version uint64, since time.Time) View {
	t.Helper()
	g := NewShardRegistry()
	applyAt(t, g, time.Time{}, AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3}, AddNode{Node: 4})
	if version > baseVersion {
		applyAt(t, g, time.Time{}, SetFormatVersion{Version: version})
	}
	applyAt(t, g, since, SetNodeState{Node: 2, State: NodeDown})
	applyAt(t, g, time.Time{}, SetNodeState{Node: 3, State: NodeDown})
	return g.View()
}

func TestLostNodes(t *testing.T) {
	const d = time.Minute
	pol := DefaultPolicy()
	pol.DownTimeout = d
	v := downNodesMap(t, versionMoves, at(0))
	tests := []struct {
		name         string
		v            View
		timeout      time.Duration
		now, elected time.Time
		seen         firstSeen[NodeID]
		want         []NodeID
		wantSeen     firstSeen[NodeID]
	}{
		{"just short", v, d, at(d - 1), at(-time.Hour), nil, nil, firstSeen[NodeID]{3: at(d - 1)}},
		{"at the boundary", v, d, at(d), at(-time.Hour), nil, []NodeID{2}, firstSeen[NodeID]{3: at(d)}},
		{"unlogged node timed from its first sighting", v, d, at(d), at(-time.Hour),
			firstSeen[NodeID]{3: at(0)}, []NodeID{2, 3}, firstSeen[NodeID]{3: at(0)}},
		{"a new leader waits d itself", v, d, at(d), at(1), firstSeen[NodeID]{3: at(0)}, nil,
			firstSeen[NodeID]{3: at(0)}},
		{"skewed: this clock far ahead", v, d, at(24 * time.Hour), at(24*time.Hour - 1),
			firstSeen[NodeID]{3: at(0)}, nil, firstSeen[NodeID]{3: at(0)}},
		{"sightings of nodes no longer down are dropped", v, d, at(d - 1), at(-time.Hour),
			firstSeen[NodeID]{1: at(0), 3: at(1)}, nil, firstSeen[NodeID]{3: at(1)}},
		{"off: DownTimeout 0 keeps the sightings", v, 0, at(24 * time.Hour), at(-time.Hour),
			firstSeen[NodeID]{1: at(0)}, nil, firstSeen[NodeID]{1: at(0)}},
		{"off before format version 2", downNodesMap(t, baseVersion, time.Time{}), d, at(24 * time.Hour), at(-time.Hour),
			firstSeen[NodeID]{1: at(0)}, nil, firstSeen[NodeID]{1: at(0)}},
		// Version 2 holds no state times: every down node is timed from
		// its first sighting.
		{"version 2: no log times", downNodesMap(t, versionFlags, at(0)), d, at(d), at(-time.Hour),
			nil, nil, firstSeen[NodeID]{2: at(d), 3: at(d)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := pol
			pol.DownTimeout = tt.timeout
			lost, next := lostNodes(tt.v, pol, tt.now, tt.elected, tt.seen)
			require.Equal(t, tt.want, lost)
			require.Equal(t, tt.wantSeen, next)
		})
	}

	t.Run("first sightings across calls", func(t *testing.T) {
		v := downNodesMap(t, versionFlags, time.Time{})
		var seen firstSeen[NodeID]
		for _, now := range []time.Time{at(0), at(d / 2), at(d - 1)} {
			lost, next := lostNodes(v, pol, now, at(-time.Hour), seen)
			require.Empty(t, lost)
			require.Equal(t, firstSeen[NodeID]{2: at(0), 3: at(0)}, next)
			seen = next
		}
		lost, _ := lostNodes(v, pol, at(d), at(-time.Hour), seen)
		require.Equal(t, []NodeID{2, 3}, lost)
	})
}

func TestPauseDue(t *testing.T) {
	const ttl = time.Minute
	// pausedMap holds a pause until until, set at the log time set (zero:
	// none).
	pausedMap := func(until, set time.Time) View {
		g := NewShardRegistry()
		applyAt(t, g, time.Time{}, SetFormatVersion{Version: versionMoves})
		applyAt(t, g, set, SetPause{Paused: true, Until: until})
		return g.View()
	}
	old := at(-time.Hour)
	tests := []struct {
		name         string
		v            View
		now, elected time.Time
		want         pauseVerdict
	}{
		{"no pause", NewShardRegistry().View(), at(0), old, pauseOff},
		{"resumed", func() View {
			g := NewShardRegistry()
			applyAt(t, g, time.Time{}, SetFormatVersion{Version: versionMoves},
				SetPause{Paused: true}, SetPause{})
			return g.View()
		}(), at(0), old, pauseOff},
		{"no expiry", pausedMap(time.Time{}, at(0)), at(24 * time.Hour), old, pauseHolds},
		{"before the expiry", pausedMap(at(ttl), at(0)), at(ttl - 1), old, pauseHolds},
		{"at the expiry", pausedMap(at(ttl), at(0)), at(ttl), old, pauseExpired},
		// The leader was elected after the pause was set: it waits the
		// whole ttl itself.
		{"new leader waits the ttl", pausedMap(at(ttl), at(0)), at(ttl), at(1), pauseHolds},
		{"new leader, ttl passed", pausedMap(at(ttl), at(0)), at(ttl + 1), at(1), pauseExpired},
		{"skewed: this clock far ahead", pausedMap(at(ttl), at(0)), at(24 * time.Hour),
			at(24*time.Hour - ttl + 1), pauseHolds},
		{"skewed: this clock behind", pausedMap(at(ttl), at(0)), at(ttl - 1), at(-time.Hour), pauseHolds},
		// No log time: the expiry alone decides, for any leader.
		{"no log time, before the expiry", pausedMap(at(ttl), time.Time{}), at(ttl - 1), old, pauseHolds},
		{"no log time, at the expiry", pausedMap(at(ttl), time.Time{}), at(ttl), at(ttl), pauseExpired},
		// A log time at or past the expiry says nothing of its length.
		{"log time past the expiry", pausedMap(at(ttl), at(2*ttl)), at(ttl), at(ttl), pauseExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, pauseDue(tt.v, tt.now, tt.elected))
		})
	}
}

func TestFormatRaise(t *testing.T) {
	tests := []struct {
		name         string
		have, voters uint64
		want         uint64
		wantRaise    bool
	}{
		{"voters read newer", versionFlags, versionMoves, versionMoves, true},
		{"capped at this release's", baseVersion, FormatVersion + 5, FormatVersion, true},
		{"voters at the cluster's", versionMoves, versionMoves, versionMoves, false},
		{"a voter older than the cluster", versionMoves, versionFlags, versionFlags, false},
		{"already at this release's", FormatVersion, FormatVersion + 1, FormatVersion, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, raise := formatRaise(tt.have, tt.voters)
			require.Equal(t, tt.wantRaise, raise)
			if raise {
				require.Equal(t, tt.want, to)
			}
		})
	}
}
