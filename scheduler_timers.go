package placement

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-metrics"
	"go.uber.org/zap"
)

// The leader's wall-clock judgments: a pause's expiry, Policy.MoveTimeout
// and Policy.DownTimeout. Each timer starts at a time the log holds (the
// entry's AppendedAt, set by the leader of the day), so a change of leader
// neither forgets nor restarts it. But those times come from another
// server's clock. A new leader whose clock runs ahead of its predecessor's
// (or steps forward) would see every timer run out at once; so a timer of
// length d fires only once this leader's clock shows d passed since the
// timer began and d passed since this leader took office (due). A
// failover thus extends a timer by at most its own length, never cuts it.

// due reports whether a timer of length d that began at start has run out
// on this leader: d has passed since start and since this leader's
// election, both on this leader's clock.
func (s *Scheduler) due(start time.Time, d time.Duration, now time.Time) bool {
	return now.Sub(start) >= d && now.Sub(s.elected) >= d
}

// pauseInForce reports whether the replicated pause holds this tick. A pause
// whose expiry has come is ended here, by proposing SetPause{}: the expiry
// is in the log, and only the leader decides that it has come, so replicas
// never disagree on whether the cluster is paused. The pause's length is
// its expiry less its entry's log time; a pause whose log time this map
// does not hold (restored from a snapshot) is judged by its expiry alone.
func (s *Scheduler) pauseInForce(ctx context.Context, rep *TickReport) (bool, error) {
	v := s.reg.View()
	p := v.Pause()
	if !p.Paused {
		return false, nil
	}
	if p.Until.IsZero() {
		return true, nil
	}
	now := s.now()
	start, length := p.Until, time.Duration(0)
	if set := v.state().pause.set; set != 0 && set < p.Until.UnixNano() {
		start, length = time.Unix(0, set), p.Until.Sub(time.Unix(0, set))
	}
	if now.Before(p.Until) || !s.due(start, length, now) {
		return true, nil
	}
	// Only this pause ends: a newer one committed meanwhile stays.
	results, err := s.propose(ctx, "end the expired pause", SetPause{Until: p.Until})
	if err != nil {
		return false, err
	}
	if len(results) == 1 && results[0] != nil {
		s.log.Debug("expired pause not ended: it changed", zap.Error(results[0]))
		return s.reg.View().Pause().Paused, nil
	}
	rep.PauseExpired = true
	s.log.Info("pause expired; scheduling resumes", zap.Time("until", p.Until))
	return false, nil
}

// now is the scheduler's clock.
func (s *Scheduler) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// expire proposes AbortTransfer for the moves in flight longer than
// Policy.MoveTimeout (see due), and for the moves out of a lost node, whose
// copies can never finish, at most MaxActionsPerTick of them in one entry,
// before the tick plans (which then re-homes a lost node's shards). From
// format version 4 declaring a node lost aborts the moves out of it
// itself; this covers a cluster at version 3. A move's age runs from its
// PlaceTransfer's log time, which every replica holds; a move applied
// without a time is timed from when this leader first saw it.
func (s *Scheduler) expire(ctx context.Context, rep *TickReport) error {
	view := s.reg.View()
	if view.MoveCount() == 0 {
		s.seen = nil
		return nil
	}
	now := s.now()
	pol, limit := s.settings(view)
	var aborts []Command
	var fromLost int
	// First sightings are kept per attempt (a shard moved again is at a
	// new epoch), and only for the moves still in flight.
	seen := s.seen
	s.seen = nil
	for m := range view.Moves() {
		began := m.Began
		if began.IsZero() {
			k := moveAttempt{m.Shard, m.Epoch}
			first, ok := seen[k]
			if !ok {
				first = now
			}
			if s.seen == nil {
				s.seen = map[moveAttempt]time.Time{}
			}
			s.seen[k] = first
			began = first
		}
		if len(aborts) == limit {
			continue
		}
		if n, ok := view.Node(m.From); ok && n.State == NodeLost {
			aborts = append(aborts, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
			fromLost++
		} else if s.due(began, pol.MoveTimeout, now) {
			aborts = append(aborts, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
		}
	}
	if len(aborts) == 0 {
		return nil
	}
	what := fmt.Sprintf("abort %d moves (%d out of lost nodes, the rest past MoveTimeout)", len(aborts), fromLost)
	results, err := s.propose(ctx, what, aborts...)
	if err != nil {
		return err
	}
	for i, c := range aborts {
		if i < len(results) && results[i] == nil {
			rep.Aborted = append(rep.Aborted, c.(AbortTransfer))
		}
	}
	if len(rep.Aborted) > 0 {
		metrics.IncrCounter([]string{"placement", "moves", "aborted"}, float32(len(rep.Aborted)))
		s.log.Info("moves aborted: out of lost nodes or in flight past MoveTimeout",
			zap.Int("aborted", len(rep.Aborted)), zap.Int("from_lost", fromLost),
			zap.Duration("timeout", pol.MoveTimeout))
	}
	return nil
}

// moveAttempt names one attempt at moving a shard: each begins at a new
// epoch.
type moveAttempt struct {
	shard ShardID
	epoch uint64
}

// declareLost proposes SetNodeState to NodeLost for the nodes down longer
// than Policy.DownTimeout (the replicated one, when the log holds one; see
// due), before the tick plans (which then re-homes their shards). Off when
// DownTimeout is 0, and before format version 2.
func (s *Scheduler) declareLost(ctx context.Context, rep *TickReport) error {
	view := s.reg.View()
	pol, _ := s.settings(view)
	if pol.DownTimeout <= 0 || view.FormatVersion() < versionFlags {
		return nil
	}
	now := s.now()
	seen := s.downSeen
	s.downSeen = nil
	var lost []Command
	for _, n := range view.Nodes() {
		if n.State != NodeDown {
			continue
		}
		since, _ := view.NodeSince(n.ID)
		if since.IsZero() {
			first, ok := seen[n.ID]
			if !ok {
				first = now
			}
			if s.downSeen == nil {
				s.downSeen = map[NodeID]time.Time{}
			}
			s.downSeen[n.ID] = first
			since = first
		}
		if s.due(since, pol.DownTimeout, now) {
			lost = append(lost, SetNodeState{Node: n.ID, State: NodeLost})
		}
	}
	if len(lost) == 0 {
		return nil
	}
	results, err := s.propose(ctx, fmt.Sprintf("declare %d nodes lost", len(lost)), lost...)
	if err != nil {
		return err
	}
	for i, c := range lost {
		if i < len(results) && results[i] == nil {
			rep.Lost = append(rep.Lost, c.(SetNodeState).Node)
		}
	}
	if len(rep.Lost) > 0 {
		s.log.Info("nodes declared lost: down past DownTimeout; their shards are re-homed",
			zap.Any("nodes", rep.Lost), zap.Duration("down_timeout", pol.DownTimeout))
	}
	return nil
}
