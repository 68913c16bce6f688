package placement

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-metrics"
	"go.uber.org/zap"
)

// The Scheduler's leadership: the state of the term this server leads,
// and how a tick learns of a new term, of a lost one, and of a proposal
// whose outcome is unknown.

// termState is what this server holds for one term it leads. observe
// makes it (newTermState) when it sees this server lead a new term,
// replacing the last term's whole: nothing a term learned, flagged or
// timed outlives it. Guarded by tickMu; coord by coordMu too.
type termState struct {
	// term is the raft term this state is for; led is false only for the
	// placeholder a new Scheduler holds before it first leads.
	term uint64
	led  bool
	// elected is when, on this server's clock, it saw the term begin: no
	// timer fires before it has seen the timer's whole length pass since
	// then (see due).
	elected time.Time
	// coord is the term's planner. Errors within the term leave its
	// memory as it is.
	coord *Coordinator
	// needBarrier asks for a raft barrier before the next plan: at the
	// term's start, and after a proposal whose outcome is unknown.
	needBarrier bool
	// needResume asks the planner to take its hysteresis from the log
	// (Coordinator.Resume) before the next plan, after the barrier.
	needResume bool
	// moves and down are when this leader first saw the moves and down
	// nodes whose log entry carried no time (see expiredMoves, lostNodes).
	moves firstSeen[moveAttempt]
	down  firstSeen[NodeID]
}

// newTermState returns the state of term, which this server begins to
// lead at elected on its clock: a new planner with policy pol, which
// resumes from the log after a barrier, and no first sightings.
func newTermState(term uint64, elected time.Time, pol Policy) *termState {
	return &termState{term: term, led: true, elected: elected, coord: NewCoordinator(pol), needBarrier: true, needResume: true}
}

// observe records leadership and term, and reports whether this server is
// the leader. A new term means a fresh planner that resumes the rebalance
// the log records as in progress, and a barrier before the first plan.
// A term is new when it differs from the last term this server led: a
// tick may first see a term as a candidate (raft raises the term before
// the election) and then as its leader, and that term is new all the
// same.
func (s *Scheduler) observe(leader bool, term uint64) bool {
	if leader != s.leader {
		s.log.Info("leadership changed", zap.Bool("leader", leader), zap.Uint64("term", term))
		if !leader {
			// Only the leader measures the spreads: a follower's gauges
			// would otherwise keep its last term's values.
			metrics.SetGauge([]string{"placement", "imbalance"}, 0)
			metrics.SetGauge([]string{"placement", "imbalance", "bytes"}, 0)
			metrics.SetGauge([]string{"placement", "imbalance", "load"}, 0)
		}
	}
	switch {
	case leader && (!s.lead.led || term != s.lead.term):
		// A new term: a new planner, which takes its hysteresis from the
		// log once the barrier has brought the map up to date.
		lead := newTermState(term, s.now(), s.cfg.Policy)
		s.coordMu.Lock()
		s.lead = lead
		s.coordMu.Unlock()
		s.current.Store(false)
	case leader && !s.leader:
		// Leader again in the same term after an error (a busy leader's
		// ErrEnqueueTimeout, say): the planner keeps its memory.
		s.lead.needBarrier = true
		s.current.Store(!s.lead.needResume)
	case !leader:
		s.current.Store(false)
	}
	s.leader = leader
	return leader
}

// inDoubt notes a proposal whose outcome is unknown: its entry may yet
// commit. The next plan waits for a barrier, and then takes the planner's
// hysteresis from the log, which holds it if the entry committed (a plan
// that recorded a SetRebalancing and lost its answer would otherwise be
// forgotten by this leader until its term ends). Before format version 2
// the log records no hysteresis, and the planner keeps its memory.
func (s *Scheduler) inDoubt(err error) {
	s.lead.needBarrier = true
	if s.reg.View().FormatVersion() >= versionFlags {
		s.lead.needResume = true
		s.current.Store(false)
	}
	s.lost(err)
}

// lost notes a not-leader error so the next leader tick starts a new term
// cleanly.
func (s *Scheduler) lost(err error) {
	if errors.Is(err, ErrNotLeader) {
		s.leader = false
		s.current.Store(false)
		s.log.Info("leadership lost", zap.Error(err))
	}
}

func (s *Scheduler) barrier(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	if err := s.raft.Barrier(bctx); err != nil {
		s.lost(err)
		return fmt.Errorf("placement: barrier: %w", err)
	}
	s.lead.needBarrier = false
	return nil
}
