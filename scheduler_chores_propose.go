package placement

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-metrics"
	"go.uber.org/zap"
)

// The tick's chores before it plans: each takes its decision from a pure
// function (scheduler_chores.go) and proposes it.

// pauseInForce reports whether the replicated pause holds this tick. A pause
// whose expiry has come is ended here, by proposing SetPause{}: the expiry
// is in the log, and only the leader decides that it has come, so replicas
// never disagree on whether the cluster is paused. The pause's length is
// its expiry less its entry's log time; a pause whose log time this map
// does not hold (restored from a snapshot) is judged by its expiry alone.
func (s *Scheduler) pauseInForce(ctx context.Context, rep *TickReport) (bool, error) {
	v := s.reg.View()
	switch pauseDue(v, s.now(), s.lead.elected) {
	case pauseOff:
		return false, nil
	case pauseHolds:
		return true, nil
	}
	p := v.Pause()
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

// expire proposes AbortTransfer for the moves in flight past their
// deadline (see moveExpired: Policy.MoveTimeout plus the shard's bytes at
// MinCopyRate, or MoveTimeout since the copy's reported progress last
// grew), and for the moves out of a lost node, whose
// copies can never finish, at most MaxActionsPerTick of them in one entry,
// before the tick plans (which then re-homes a lost node's shards). From
// format version 4 declaring a node lost aborts the moves out of it
// itself; this covers a cluster at version 3. A move's age runs from its
// PlaceTransfer's log time, which every replica holds; a move applied
// without a time is timed from when this leader first saw it.
func (s *Scheduler) expire(ctx context.Context, rep *TickReport) error {
	view := s.reg.View()
	if view.MoveCount() == 0 {
		s.lead.moves = nil
		return nil
	}
	pol, limit := s.settings(view)
	expired, fromLost, seen := expiredMoves(view, pol, limit, s.now(), s.lead.elected, s.lead.moves, s.reg.progressOf(view))
	s.lead.moves = seen
	if len(expired) == 0 {
		return nil
	}
	aborts := make([]Command, len(expired))
	for i, a := range expired {
		aborts[i] = a
	}
	what := fmt.Sprintf("abort %d moves (%d out of lost nodes, the rest past their deadline)", len(aborts), fromLost)
	results, err := s.propose(ctx, what, aborts...)
	if err != nil {
		return err
	}
	for i, a := range expired {
		if i < len(results) && results[i] == nil {
			rep.Aborted = append(rep.Aborted, a)
		}
	}
	if len(rep.Aborted) > 0 {
		metrics.IncrCounter([]string{"placement", "moves", "aborted"}, float32(len(rep.Aborted)))
		s.log.Info("moves aborted: out of lost nodes or in flight past their deadline",
			zap.Int("aborted", len(rep.Aborted)), zap.Int("from_lost", fromLost),
			zap.Duration("timeout", pol.MoveTimeout))
	}
	return nil
}

// declareLost proposes SetNodeState to NodeLost for the nodes down longer
// than Policy.DownTimeout (the replicated one, when the log holds one; see
// due), before the tick plans (which then re-homes their shards). Off when
// DownTimeout is 0, and before format version 2.
func (s *Scheduler) declareLost(ctx context.Context, rep *TickReport) error {
	view := s.reg.View()
	pol, _ := s.settings(view)
	nodes, seen := lostNodes(view, pol, s.now(), s.lead.elected, s.lead.down)
	s.lead.down = seen
	if len(nodes) == 0 {
		return nil
	}
	lost := make([]Command, len(nodes))
	for i, n := range nodes {
		lost[i] = SetNodeState{Node: n, State: NodeLost}
	}
	results, err := s.propose(ctx, fmt.Sprintf("declare %d nodes lost", len(lost)), lost...)
	if err != nil {
		return err
	}
	for i, n := range nodes {
		if i < len(results) && results[i] == nil {
			rep.Lost = append(rep.Lost, n)
		}
	}
	if len(rep.Lost) > 0 {
		s.log.Info("nodes declared lost: down past DownTimeout; their shards are re-homed",
			zap.Any("nodes", rep.Lost), zap.Duration("down_timeout", pol.DownTimeout))
	}
	return nil
}

// upgrade proposes SetFormatVersion when Config.ClusterFormat reports that
// every voter reads a newer format than the cluster has enabled. It fails
// only when the proposal does; a voter that cannot be asked keeps the
// version where it is until a later tick.
func (s *Scheduler) upgrade(ctx context.Context, rep *TickReport) error {
	have := s.reg.View().FormatVersion()
	if s.cfg.ClusterFormat == nil || have >= FormatVersion {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	all, err := s.cfg.ClusterFormat(qctx)
	cancel()
	if err != nil {
		s.log.Debug("voters' format versions unknown", zap.Error(err))
		return nil
	}
	all, raise := formatRaise(have, all)
	if !raise {
		return nil
	}
	results, err := s.propose(ctx, "raise the format version", SetFormatVersion{Version: all})
	if err != nil {
		return err
	}
	if len(results) > 0 && results[0] != nil {
		// Another proposal raised it first; the next tick sees the log.
		s.log.Debug("format version not raised", zap.Error(results[0]))
		return nil
	}
	rep.Upgraded = all
	s.log.Info("format version enabled: every voter reads it", zap.Uint64("version", all))
	return nil
}
