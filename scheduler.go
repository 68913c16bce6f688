package placement

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-metrics"
	"go.uber.org/zap"
)

// Scheduler drives the Coordinator on the raft leader: every TickInterval it
// plans on a fresh View and proposes at most MaxActionsPerTick commands as
// one log entry. On a follower a tick does nothing.
//
// In a new term, and after an apply whose outcome is unknown, it issues a
// raft barrier before planning, so it never plans on a map that has not
// caught up. A not-leader error ends the tick at once. Metrics go to
// hashicorp/go-metrics' global sink under "placement"; Metrics lists them
// with help text and units.
//
// Whether a rebalance is in progress (the hysteresis between each trigger
// and its stop band) is recorded in the log, once the cluster's format
// version is 2 (see SetFormatVersion): when a plan changes it, the tick
// adds a SetRebalancing to the plan's entry (or proposes it alone when the
// plan has no commands).
// A new leader, after its barrier, resumes from that record
// (Coordinator.Resume): it finishes a rebalance its predecessor left in
// progress and starts none while the spreads are under their triggers.
// Errors within a term, ErrEnqueueTimeout among them, leave the planner's
// memory as it is; only a new term starts a new planner.
type Scheduler struct {
	raft RaftNode
	reg  *ShardRegistry
	cfg  Config
	log  *zap.Logger

	paused atomic.Bool
	wake   chan struct{} // Resume asks the loop for a prompt tick

	tickMu sync.Mutex // one tick at a time; guards the fields below
	// leader and term are what the last tick saw of raft, leader or not.
	leader bool
	term   uint64
	// lead is this server's state for the term it leads, or last led,
	// which observe replaces whole when a new term begins (newTermState).
	// It is written with coordMu held too, so DryRun may read lead.coord
	// under coordMu alone.
	lead *termState
	// current is set while this server leads and its planner's memory is
	// this term's (resumed from the log); DryRun reads it without tickMu.
	current atomic.Bool

	// coordMu guards lead.coord, and is held while lead is replaced. It is
	// held only while planning, so DryRun does not wait for a tick's raft
	// apply.
	coordMu sync.Mutex

	runMu  sync.Mutex // guards handle
	handle *Handle
}

// New returns a scheduler that proposes through node and plans on reg, which
// must be the registry node's FSM applies to. It validates cfg and keeps a
// copy of it. It starts nothing; see Run and Start.
func New(node RaftNode, reg *ShardRegistry, cfg Config) (*Scheduler, error) {
	if node == nil || reg == nil {
		return nil, fmt.Errorf("%w: New needs a RaftNode and a ShardRegistry", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Scheduler{
		raft: node,
		reg:  reg,
		cfg:  cfg,
		log:  log.Named("placement"),
		wake: make(chan struct{}, 1),
		// Before any term: a planner for DryRun, and nothing pending.
		lead: &termState{coord: NewCoordinator(cfg.Policy)},
	}, nil
}

// PauseLocal stops this server's scheduler from proposing until
// ResumeLocal, whatever the replicated pause says: an override for tests
// and for taking one server out of scheduling. Ticks still run and report
// Paused. It is not replicated: a new leader elsewhere is not paused.
func (s *Scheduler) PauseLocal() { s.paused.Store(true) }

// ResumeLocal undoes PauseLocal and asks a running loop for a prompt tick.
func (s *Scheduler) ResumeLocal() {
	s.paused.Store(false)
	s.wakeUp()
}

func (s *Scheduler) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Paused reports whether this server's scheduler is paused: locally
// (PauseLocal), or by the replicated pause (Pause) as this server's map
// holds it.
func (s *Scheduler) Paused() bool {
	return s.paused.Load() || s.reg.View().Pause().Paused
}

// Settings returns the Policy and MaxActionsPerTick this server would plan
// with now, and whether they are the replicated ones (SetPolicy) rather
// than its own Config's.
func (s *Scheduler) Settings() (p Policy, maxActionsPerTick int, replicated bool) {
	v := s.reg.View()
	_, replicated = v.Policy()
	p, maxActionsPerTick = s.settings(v)
	return p, maxActionsPerTick, replicated
}

// settings returns the Policy and MaxActionsPerTick to plan with: the
// replicated ones (SetPolicy) when the log holds them, else the Config's.
func (s *Scheduler) settings(v View) (Policy, int) {
	if p, ok := v.Policy(); ok {
		// A policy committed before the minimum timeouts may hold a
		// shorter one; it applies as it did, but the leader never times
		// moves or nodes out faster than the minimum.
		pol := p.Policy
		pol.MoveTimeout = max(pol.MoveTimeout, MinMoveTimeout)
		if pol.DownTimeout > 0 {
			pol.DownTimeout = max(pol.DownTimeout, MinDownTimeout)
		}
		return pol, p.MaxActionsPerTick
	}
	return s.cfg.Policy, s.cfg.MaxActionsPerTick
}

// DryRun returns the plan a tick would propose now, without proposing it or
// advancing the planner's hysteresis. It works on any server, leader or not.
func (s *Scheduler) DryRun() Plan {
	view := s.reg.View()
	s.coordMu.Lock()
	c := *s.lead.coord
	s.coordMu.Unlock()
	if !s.current.Load() {
		// Not a leader whose planner has resumed in this term: plan with
		// the hysteresis the log holds, as the next leader would.
		c.Resume(view)
	}
	pol, limit := s.settings(view)
	c.policy = pol
	return c.preview(view, limit)
}

// Tick runs one cycle now: on the leader, a barrier if needed, then a plan,
// then one apply of at most MaxActionsPerTick commands. Concurrent calls run
// one after another. A not-leader failure returns an error wrapping
// ErrNotLeader (and raft's own error).
func (s *Scheduler) Tick(ctx context.Context) (TickReport, error) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	metrics.IncrCounter([]string{"placement", "ticks"}, 1)

	var rep TickReport
	rep.Leader, rep.Term = s.raft.Leader()
	if !s.observe(rep.Leader, rep.Term) {
		return rep, nil
	}
	if s.paused.Load() {
		rep.Paused = true
		return rep, nil
	}
	if s.lead.needBarrier {
		rep.Barrier = true
		if err := s.barrier(ctx); err != nil {
			return rep, err
		}
	}
	if paused, err := s.pauseInForce(ctx, &rep); paused || err != nil {
		rep.Paused = paused
		return rep, err
	}

	if err := s.upgrade(ctx, &rep); err != nil {
		return rep, err
	}
	// Nodes first: the moves out of a node declared lost now are aborted
	// in this same tick, and the plan re-homes their shards.
	if err := s.declareLost(ctx, &rep); err != nil {
		return rep, err
	}
	if err := s.expire(ctx, &rep); err != nil {
		return rep, err
	}

	start := time.Now()
	view := s.reg.View()
	pol, limit := s.settings(view)
	lead := s.lead
	s.coordMu.Lock()
	lead.coord.policy = pol
	if lead.needResume {
		lead.coord.Resume(view)
		lead.needResume = false
		s.current.Store(true)
	}
	plan := lead.coord.preview(view, limit)
	s.coordMu.Unlock()
	mark := SetRebalancing{Bytes: plan.Rebalancing, Load: plan.RebalancingLoad}
	// Recorded only once the cluster reads format version 2; before that
	// a new leader resumes nothing (it rebalances only above a trigger).
	recorded := view.Rebalancing() != mark && view.FormatVersion() >= versionFlags
	rep.PlanTime = time.Since(start)
	metrics.MeasureSince([]string{"placement", "plan"}, start)
	metrics.SetGauge([]string{"placement", "imbalance"}, float32(plan.Imbalance))
	metrics.SetGauge([]string{"placement", "imbalance", "bytes"}, float32(plan.Balance.Bytes))
	metrics.SetGauge([]string{"placement", "imbalance", "load"}, float32(plan.Balance.Load))
	rep.Imbalance, rep.Balance, rep.Skipped = plan.Imbalance, plan.Balance, plan.Skipped
	rep.Rebalancing, rep.RebalancingLoad = plan.Rebalancing, plan.RebalancingLoad
	rep.MinMoves, rep.MinBytes = plan.MinMoves, plan.MinBytes
	if len(plan.Commands) == 0 {
		return rep, s.record(ctx, &rep, plan, mark, recorded)
	}
	rep.Commands = plan.Commands
	for _, c := range plan.Commands {
		s.log.Debug("proposing", zap.Stringer("command", c))
	}

	// The flag rides in the plan's own entry, so the two commit or fail
	// together: a plan applied with its flag lost would strand a rebalance
	// at the next leader. (Only a cluster at format version 2 records it,
	// and there every server reads the entry.)
	entry := plan.Commands
	instant := pol.InstantMoves && view.FormatVersion() >= versionMoves
	if instant {
		entry = withCompletions(plan.Commands)
	}
	if recorded {
		entry = append(slices.Clip(entry), mark)
	}
	if err := CheckProposal(view, entry...); err != nil {
		// A planner bug, never a host's input: refuse rather than hand an
		// older server an entry it cannot read.
		return rep, fmt.Errorf("placement: plan of %d commands: %w", len(plan.Commands), err)
	}
	start = time.Now()
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	resp, err := s.raft.Apply(actx, Encode(entry...))
	cancel()
	rep.ApplyTime = time.Since(start)
	metrics.MeasureSince([]string{"placement", "apply"}, start)
	if err != nil {
		s.inDoubt(err)
		return rep, fmt.Errorf("placement: propose %d commands: %w", len(plan.Commands), err)
	}
	metrics.IncrCounter([]string{"placement", "proposed"}, float32(len(plan.Commands)))
	if results, ok := resp.([]error); ok {
		if instant {
			results = foldCompletions(plan.Commands, results)
		}
		rep.Results = results[:min(len(results), len(plan.Commands))]
	}
	if n := rep.Rejected(); n > 0 {
		metrics.IncrCounter([]string{"placement", "rejected"}, float32(n))
		s.log.Debug("commands rejected", zap.Int("rejected", n), zap.Errors("results", rep.Results))
	}
	s.logApplied(rep)
	if recorded {
		rep.Recorded = &mark
	}
	return rep, s.record(ctx, &rep, plan, mark, false)
}

// record ends a tick whose plan applied: the planner adopts the plan's
// hysteresis flags, and when they differ from what the log holds (changed)
// and the plan had no commands to carry it, it proposes mark alone.
func (s *Scheduler) record(ctx context.Context, rep *TickReport, plan Plan, mark SetRebalancing, changed bool) error {
	s.coordMu.Lock()
	s.lead.coord.adopt(plan)
	s.coordMu.Unlock()
	if !changed {
		return nil
	}
	if _, err := s.propose(ctx, "record rebalancing", mark); err != nil {
		return err
	}
	rep.Recorded = &mark
	return nil
}

// termState is what this server holds for one term it leads. observe
// makes it (newTermState) when it first sees this server lead a new term,
// replacing the last term's whole: nothing a term learned, flagged or
// timed outlives it. Guarded by tickMu; coord by coordMu too.
type termState struct {
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

// newTermState returns the state of a term this server begins to lead at
// elected on its clock: a new planner with policy pol, which resumes from
// the log after a barrier, and no first sightings.
func newTermState(elected time.Time, pol Policy) *termState {
	return &termState{elected: elected, coord: NewCoordinator(pol), needBarrier: true, needResume: true}
}

// observe records leadership and term, and reports whether this server is
// the leader. A new term means a fresh planner that resumes the rebalance
// the log records as in progress, and a barrier before the first plan.
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
	case leader && term != s.term:
		// A new term: a new planner, which takes its hysteresis from the
		// log once the barrier has brought the map up to date.
		lead := newTermState(s.now(), s.cfg.Policy)
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
	s.leader, s.term = leader, term
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

// withCompletions returns cmds with a CompleteTransfer after each
// PlaceTransfer, for Policy.InstantMoves: the move begins and completes in
// one entry, so it is never seen in flight.
func withCompletions(cmds []Command) []Command {
	out := make([]Command, 0, 2*len(cmds))
	for _, c := range cmds {
		out = append(out, c)
		if t, ok := c.(PlaceTransfer); ok {
			out = append(out, CompleteTransfer{Shard: t.Shard, Epoch: t.Epoch + 1})
		}
	}
	return out
}

// foldCompletions maps the results of withCompletions(cmds) back onto cmds:
// a transfer's result is its PlaceTransfer's, or its completion's if that
// failed.
func foldCompletions(cmds []Command, results []error) []error {
	out := make([]error, 0, len(cmds))
	j := 0
	for _, c := range cmds {
		if j >= len(results) {
			break
		}
		err := results[j]
		j++
		if _, ok := c.(PlaceTransfer); ok && j < len(results) {
			if err == nil {
				err = results[j]
			}
			j++
		}
		out = append(out, err)
	}
	return out
}

// logApplied writes the one Info line of a tick whose plan applied: how
// many commands of each kind applied, how many were rejected, and the
// spreads the plan started from.
func (s *Scheduler) logApplied(rep TickReport) {
	if !s.log.Core().Enabled(zap.InfoLevel) {
		return
	}
	var splits, merges, transfers int
	for i, c := range rep.Commands {
		if i < len(rep.Results) && rep.Results[i] != nil {
			continue
		}
		switch c.(type) {
		case PlaceSplit:
			splits++
		case PlaceMerge:
			merges++
		case PlaceTransfer:
			transfers++
		}
	}
	s.log.Info("plan applied",
		zap.Int("splits", splits), zap.Int("merges", merges), zap.Int("transfers", transfers),
		zap.Int("rejected", rep.Rejected()), zap.Float64("imbalance", rep.Imbalance),
		zap.Float64("bytes", rep.Balance.Bytes), zap.Float64("load", rep.Balance.Load))
}

// propose applies cmds as one entry within ApplyTimeout, on the tick's
// goroutine, and returns each command's result. A failure leaves the
// outcome unknown: the next plan waits for a barrier, and a not-leader
// error ends the term's memory (see lost).
func (s *Scheduler) propose(ctx context.Context, what string, cmds ...Command) ([]error, error) {
	if err := CheckProposal(s.reg.View(), cmds...); err != nil {
		return nil, fmt.Errorf("placement: %s: %w", what, err)
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	resp, err := s.raft.Apply(actx, Encode(cmds...))
	if err != nil {
		s.inDoubt(err)
		return nil, fmt.Errorf("placement: %s: %w", what, err)
	}
	results, _ := resp.([]error)
	return results, nil
}
