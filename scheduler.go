package placement

import (
	"context"
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
	// leader is whether the last tick saw this server lead.
	leader bool
	// history is which nodes the shards this server's plans moved left,
	// for TickReport.MovedBack.
	history moveHistory
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

	// journal is the decisions this server applied as the leader (see
	// Journal).
	journal journal
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
	reg.setLoadHalfLife(cfg.Policy.LoadHalfLife)
	reg.setClock(cfg.Clock)
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

// now is the scheduler's clock.
func (s *Scheduler) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// DryRun returns the plan a tick would propose now, without proposing it or
// advancing the planner's hysteresis. It works on any server, leader or not.
func (s *Scheduler) DryRun() Plan {
	view, c, limit := s.planner()
	return c.preview(view, limit, nil)
}

// planner returns the map, a copy of the planner as the next tick would
// plan with it (its settings, its clock), and the tick's limit. Working on
// the copy changes nothing the ticks use.
func (s *Scheduler) planner() (View, *Coordinator, int) {
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
	c.SetClock(s.now(), c.elected)
	return view, &c, limit
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
	lead.coord.SetClock(s.now(), lead.elected)
	// The churn gauges are read from the plan's own set-up, while a
	// budget is set.
	var churn ChurnState
	var churnOut *ChurnState
	if pol.churnOn() {
		churnOut = &churn
	}
	plan := lead.coord.preview(view, limit, churnOut)
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
	if pol.churnOn() {
		metrics.SetGauge([]string{"placement", "churn", "bytes"}, float32(churn.Bytes))
		metrics.SetGauge([]string{"placement", "churn", "shards"}, float32(churn.Shards))
	}
	rep.Imbalance, rep.Balance, rep.Skipped = plan.Imbalance, plan.Balance, plan.Skipped
	rep.Rebalancing, rep.RebalancingLoad = plan.Rebalancing, plan.RebalancingLoad
	rep.MinMoves, rep.MinBytes = plan.MinMoves, plan.MinBytes
	if len(plan.Commands) == 0 {
		return rep, s.record(ctx, &rep, plan, mark, recorded)
	}
	rep.Commands, rep.Reasons = plan.Commands, plan.Reasons
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
	if p, was := s.reg.View().Pause(), view.Pause(); p.Paused && !(was.Paused && was.Until.Equal(p.Until)) {
		// A pause applied while this tick planned: the plan is dropped,
		// not proposed after it. (An entry raft orders right after a pause
		// that lands later still applies; the window is this check to the
		// append.)
		rep.Paused, rep.Commands, rep.Reasons = true, nil, nil
		return rep, nil
	}
	start = time.Now()
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	results, err := ApplyCommands(actx, s.raft, entry...)
	cancel()
	rep.ApplyTime = time.Since(start)
	metrics.MeasureSince([]string{"placement", "apply"}, start)
	if err != nil {
		s.inDoubt(err)
		return rep, fmt.Errorf("placement: propose %d commands: %w", len(plan.Commands), err)
	}
	metrics.IncrCounter([]string{"placement", "proposed"}, float32(len(plan.Commands)))
	countPlanned(plan.Reasons)
	if instant {
		results = foldCompletions(plan.Commands, results)
	}
	rep.Results = results[:min(len(results), len(plan.Commands))]
	if n := rep.Rejected(); n > 0 {
		metrics.IncrCounter([]string{"placement", "rejected"}, float32(n))
		s.log.Debug("commands rejected", zap.Int("rejected", n), zap.Errors("results", rep.Results))
	}
	rep.MovedBack = s.history.record(rep.Commands, rep.Results, s.now())
	s.journal.add(rep.Reasons, rep.Results, rep.Term, s.now())
	s.logApplied(rep)
	if recorded {
		rep.Recorded = &mark
	}
	return rep, s.record(ctx, &rep, plan, mark, false)
}
