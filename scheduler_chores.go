package placement

import (
	"math"
	"time"
)

// The decisions of the tick's chores before it plans, each a pure function
// of a View and this leader's clock: which moves to abort, which nodes to
// declare lost, whether the replicated pause has run out, and to which
// format version to raise the cluster. scheduler_chores_propose.go proposes
// what they decide.
//
// The timers among them (a pause's expiry, Policy.MoveTimeout and
// Policy.DownTimeout) start at a time the log holds (the entry's
// AppendedAt, set by the leader of the day), so a change of leader neither
// forgets nor restarts them. But those times come from another server's
// clock. A new leader whose clock runs ahead of its predecessor's (or
// steps forward) would see every timer run out at once; so a timer of
// length d fires only once this leader's clock shows d passed since the
// timer began and d passed since this leader took office (due). A
// failover thus extends a timer by at most its own length, never cuts it.

// due reports whether a timer of length d that began at start has run out
// at now on a leader elected at elected: d has passed since start and
// since the election, both on this leader's clock.
func due(start time.Time, d time.Duration, now, elected time.Time) bool {
	return now.Sub(start) >= d && now.Sub(elected) >= d
}

// firstSeen holds when this leader first saw each of a set of keys: the
// moves and down nodes whose log entry carried no time (applied without
// one), which are timed from their first sighting instead. A round of
// sightings (one tick's) reads the last round's firstSeen and builds the
// next with see, so a key no longer present is dropped. Nil is empty.
type firstSeen[K comparable] map[K]time.Time

// see returns when k was first seen: its time in f, or now when f does not
// hold it; and records that time in *next, which it makes when nil.
func (f firstSeen[K]) see(k K, now time.Time, next *firstSeen[K]) time.Time {
	first, ok := f[k]
	if !ok {
		first = now
	}
	if *next == nil {
		*next = firstSeen[K]{}
	}
	(*next)[k] = first
	return first
}

// moveAttempt names one attempt at moving a shard: each begins at a new
// epoch.
type moveAttempt struct {
	shard ShardID
	epoch uint64
}

// expiredMoves returns the moves of v to abort at now, in v's order, at
// most limit of them: those out of a node in state NodeLost, whose copies
// can never finish (fromLost counts them), and those past their deadline
// (moveExpired). A move's age runs from its PlaceTransfer's log time
// (Move.Began); a move without one is timed from its first sighting in
// seen. progress is the progress reported for the moves (ShardRegistry
// .ReportProgress) on this leader's clock. next is the sightings to pass
// to the next call: seen's, kept for the moves still in flight, and now
// for those first seen now (every move is seen, past the limit too).
func expiredMoves(v View, pol Policy, limit int, now, elected time.Time, seen firstSeen[moveAttempt], progress map[moveAttempt]progressRec) (aborts []AbortTransfer, fromLost int, next firstSeen[moveAttempt]) {
	sizes := shardSizes{v: v}
	for m := range v.Moves() {
		key := moveAttempt{m.Shard, m.Epoch}
		began := m.Began
		if began.IsZero() {
			began = seen.see(key, now, &next)
		}
		if len(aborts) == limit {
			continue
		}
		if n, ok := v.Node(m.From); ok && n.State == NodeLost {
			aborts = append(aborts, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
			fromLost++
			continue
		}
		p, reported := progress[key]
		if moveExpired(began, moveAllowance(pol, sizes.of(m.Shard)), p.grew, reported, pol.MoveTimeout, now, elected) {
			aborts = append(aborts, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
		}
	}
	return aborts, fromLost, next
}

// moveExpired reports whether a move is past its deadline at now on a
// leader elected at elected, with base timeout t:
//
//   - A move whose copy reports progress (reported) is judged by it alone:
//     it expires t after its copied bytes last grew (grew, this server's
//     clock) or after the election, whichever is later.
//   - Otherwise it expires allowance after it began (t plus its bytes at
//     Policy.MinCopyRate). A move begun before the election (its time
//     comes from another leader's clock) is first given t on this leader's
//     clock, then expires once allowance + t has passed since it began, or
//     allowance since the election (the old rule of due). So a clock that
//     runs ahead of the last leader's by less than t cuts no move short: it
//     reads allowance + t too early by less than t, and allowance since the
//     election only after the move's whole allowance.
func moveExpired(began time.Time, allowance time.Duration, grew time.Time, reported bool, t time.Duration, now, elected time.Time) bool {
	switch {
	case reported:
		return now.Sub(grew) >= t && now.Sub(elected) >= t
	case !began.Before(elected):
		return now.Sub(began) >= allowance
	case now.Sub(elected) < t:
		return false
	}
	return now.Sub(began) >= addDurations(allowance, t) || now.Sub(elected) >= allowance
}

// moveAllowance is a move's deadline measured from its start: pol's
// MoveTimeout plus bytes at pol.MinCopyRate, saturating at the longest
// Duration.
func moveAllowance(pol Policy, bytes uint64) time.Duration {
	rate := max(pol.MinCopyRate, 1)
	copySecs := float64(bytes) / float64(rate)
	if copySecs >= float64(math.MaxInt64/int64(time.Second)) {
		return math.MaxInt64
	}
	return addDurations(pol.MoveTimeout, time.Duration(copySecs*float64(time.Second)))
}

// addDurations returns a + b for non-negative a and b, saturating at the
// longest Duration.
func addDurations(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// shardSizes gives the bytes a move's deadline counts for a shard: its
// known size, or the mean known size of v's shards (0 when none is
// known), which it works out once, when first needed.
type shardSizes struct {
	v        View
	mean     uint64
	meanDone bool
}

func (z *shardSizes) of(id ShardID) uint64 {
	if st, ok := z.v.Stats(id); ok {
		return st.Bytes
	}
	if !z.meanDone {
		var bytes float64
		var known int
		for _, n := range z.v.Nodes() {
			u, _ := z.v.Usage(n.ID)
			bytes += float64(u.Bytes)
			known += u.Known
		}
		if known > 0 {
			z.mean = uint64(bytes / float64(known))
		}
		z.meanDone = true
	}
	return z.mean
}

// lostNodes returns the nodes of v to declare lost at now, in v's order:
// those down longer than pol.DownTimeout (see due), timed from their
// state's log time (View.NodeSince) or, without one, from their first
// sighting in seen. next is the sightings to pass to the next call. It
// decides nothing, and returns seen as it is, when pol.DownTimeout is 0
// or v's format version is below 2.
func lostNodes(v View, pol Policy, now, elected time.Time, seen firstSeen[NodeID]) (lost []NodeID, next firstSeen[NodeID]) {
	if pol.DownTimeout <= 0 || v.FormatVersion() < versionFlags {
		return nil, seen
	}
	for _, n := range v.Nodes() {
		if n.State != NodeDown {
			continue
		}
		since, _ := v.NodeSince(n.ID)
		if since.IsZero() {
			since = seen.see(n.ID, now, &next)
		}
		if due(since, pol.DownTimeout, now, elected) {
			lost = append(lost, n.ID)
		}
	}
	return lost, next
}

// pauseVerdict is what a leader makes of the replicated pause (pauseDue).
type pauseVerdict uint8

const (
	pauseOff     pauseVerdict = iota // no pause: plan
	pauseHolds                       // paused: plan nothing
	pauseExpired                     // paused, and the expiry has come: end it
)

// pauseDue judges v's pause at now on a leader elected at elected. A pause
// without an expiry holds until resumed. One with an expiry has expired
// once now has reached it and its length has passed on this leader (see
// due): its length is the expiry less its entry's log time, or, when v
// does not hold that time (the pause was restored from a snapshot, or
// applied without a time), zero, and the expiry alone decides.
func pauseDue(v View, now, elected time.Time) pauseVerdict {
	p := v.Pause()
	switch {
	case !p.Paused:
		return pauseOff
	case p.Until.IsZero():
		return pauseHolds
	}
	start, length := p.Until, time.Duration(0)
	if set := v.state().pause.set; set != 0 && set < p.Until.UnixNano() {
		start, length = time.Unix(0, set), p.Until.Sub(time.Unix(0, set))
	}
	if now.Before(p.Until) || !due(start, length, now, elected) {
		return pauseHolds
	}
	return pauseExpired
}

// formatRaise returns the format version to enable on a cluster at version
// have whose voters all read version voters (Config.ClusterFormat): the
// newest both they and this release read, and false when that is not
// above have.
func formatRaise(have, voters uint64) (uint64, bool) {
	to := min(voters, FormatVersion)
	return to, to > have
}
