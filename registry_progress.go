package placement

import (
	"fmt"
	"time"
)

// progressRec is what the registry holds of one move's copy: the most
// bytes reported copied, and when, on the registry's clock, that figure
// last grew.
type progressRec struct {
	copied uint64
	grew   time.Time
}

// ReportProgress records that the copy of move m (one in flight: its
// shard, epoch and destination as View.Moves or WatchMoves gave them) has
// copied bytes so far. Like stats, progress is soft state: not
// replicated, not in snapshots, never read by Apply; only the leader's
// registry needs it, so a host that cannot tell which server leads
// reports to every one. The registry keeps the most bytes reported and
// when that figure last grew (a report of no more bytes refreshes
// nothing), and the leader's Scheduler judges a move with reports by them:
// it aborts the move once Policy.MoveTimeout has passed since its copied
// bytes last grew, whatever the shard's size (see Policy.MoveTimeout). So
// a host that reports progress for a move must report more often than
// MoveTimeout. A move the registry does not hold in flight (completed,
// aborted, not yet applied here, or another attempt) is refused with
// ErrNotMoving; a restarted copy keeps its move's figure, and must pass it
// to count as progress.
func (g *ShardRegistry) ReportProgress(m Move, copied uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := moveAttempt{m.Shard, m.Epoch}
	if !g.inFlight(key, m.To) {
		return fmt.Errorf("report progress of shard %d at epoch %d to node %d: %w", m.Shard, m.Epoch, m.To, ErrNotMoving)
	}
	// Forget the moves that ended, so the map holds only those in flight
	// (few: the planner's windows bound them).
	for k := range g.progress {
		if k != key && !g.inFlight(k, 0) {
			delete(g.progress, k)
		}
	}
	old, ok := g.progress[key]
	if ok && copied <= old.copied {
		return nil
	}
	if g.progress == nil {
		g.progress = map[moveAttempt]progressRec{}
	}
	g.progress[key] = progressRec{copied: copied, grew: g.now()}
	return nil
}

// inFlight reports whether the move attempt k is in flight in the current
// state, to node to (any node when to is 0). g.mu is held.
func (g *ShardRegistry) inFlight(k moveAttempt, to NodeID) bool {
	m, ok := g.cur.moving(k.shard)
	if !ok || (to != 0 && m.to != to) {
		return false
	}
	r, ok := g.cur.shard(k.shard)
	return ok && r.Epoch == k.epoch
}

// progressOf returns the progress reported for the moves of v in flight:
// a copy, for the Scheduler's chores.
func (g *ShardRegistry) progressOf(v View) map[moveAttempt]progressRec {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.progress) == 0 {
		return nil
	}
	out := make(map[moveAttempt]progressRec, len(g.progress))
	for m := range v.Moves() {
		k := moveAttempt{m.Shard, m.Epoch}
		if p, ok := g.progress[k]; ok {
			out[k] = p
		}
	}
	return out
}

// setClock sets the clock ReportProgress stamps growth with: the
// Scheduler's (Config.Clock), so the leader compares the stamps with its
// own clock. Nil means time.Now.
func (g *ShardRegistry) setClock(clock func() time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clock = clock
}

// now is the registry's clock. g.mu is held.
func (g *ShardRegistry) now() time.Time {
	if g.clock != nil {
		return g.clock()
	}
	return time.Now()
}
