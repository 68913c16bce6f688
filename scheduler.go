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

	tickMu      sync.Mutex // one tick at a time; guards the fields below
	leader      bool
	term        uint64
	needBarrier bool
	needResume  bool // the planner takes its hysteresis from the log next
	// current is set while this server leads and its planner's memory is
	// this term's (resumed from the log); DryRun reads it without tickMu.
	current atomic.Bool

	// coordMu guards coord. It is held only while planning, so DryRun does
	// not wait for a tick's raft apply.
	coordMu sync.Mutex
	coord   *Coordinator

	runMu  sync.Mutex // guards handle
	handle *Handle

	// seen holds, for moves whose begin time the log does not hold (an
	// entry applied without one), when this leader first saw them; reset
	// in each term. Guarded by tickMu.
	seen map[moveAttempt]time.Time
	// downSeen is seen for down nodes whose state has no log time.
	downSeen map[NodeID]time.Time
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
		raft:  node,
		reg:   reg,
		cfg:   cfg,
		log:   log.Named("placement"),
		wake:  make(chan struct{}, 1),
		coord: NewCoordinator(cfg.Policy),
	}, nil
}

// Pause pauses the cluster's scheduling: it proposes a SetPause, so every
// leader, now and after any change of leader, proposes nothing until
// Resume, or until ttl has passed when ttl is positive (the leader whose
// clock passes the expiry the entry records proposes the end of the
// pause). It must run on the leader (an error wrapping ErrNotLeader
// otherwise) once the cluster is at format version 3 (ErrFormatVersion
// before).
func (s *Scheduler) Pause(ctx context.Context, ttl time.Duration) error {
	c := SetPause{Paused: true}
	if ttl > 0 {
		c.Until = s.now().Add(ttl)
	}
	return s.proposeCommand(ctx, c)
}

// Resume ends a pause made by Pause (on any server) and asks a running loop
// for a prompt tick. It must run on the leader.
func (s *Scheduler) Resume(ctx context.Context) error {
	if err := s.proposeCommand(ctx, SetPause{}); err != nil {
		return err
	}
	s.wakeUp()
	return nil
}

// SetPolicy replicates p and maxActionsPerTick (SetPolicy): every leader
// plans with them from then on, whatever its Config says. It must run on
// the leader at format version 3; an invalid p is rejected with
// ErrInvalidCommand.
func (s *Scheduler) SetPolicy(ctx context.Context, p Policy, maxActionsPerTick int) error {
	if err := s.proposeCommand(ctx, SetPolicy{Policy: p, MaxActionsPerTick: maxActionsPerTick}); err != nil {
		return err
	}
	s.wakeUp()
	return nil
}

// proposeCommand proposes one command and returns its rejection, if any.
func (s *Scheduler) proposeCommand(ctx context.Context, c Command) error {
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	resp, err := s.raft.Apply(actx, Encode(c))
	if err != nil {
		return fmt.Errorf("placement: propose %v: %w", c, err)
	}
	if results, ok := resp.([]error); ok && len(results) == 1 && results[0] != nil {
		return results[0]
	}
	return nil
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
		return p.Policy, p.MaxActionsPerTick
	}
	return s.cfg.Policy, s.cfg.MaxActionsPerTick
}

// DryRun returns the plan a tick would propose now, without proposing it or
// advancing the planner's hysteresis. It works on any server, leader or not.
func (s *Scheduler) DryRun() Plan {
	view := s.reg.View()
	s.coordMu.Lock()
	c := *s.coord
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
	if s.needBarrier {
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
	if err := s.expire(ctx, &rep); err != nil {
		return rep, err
	}
	if err := s.declareLost(ctx, &rep); err != nil {
		return rep, err
	}

	start := time.Now()
	view := s.reg.View()
	pol, limit := s.settings(view)
	s.coordMu.Lock()
	s.coord.policy = pol
	if s.needResume {
		s.coord.Resume(view)
		s.needResume = false
		s.current.Store(true)
	}
	plan := s.coord.preview(view, limit)
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
	start = time.Now()
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	resp, err := s.raft.Apply(actx, Encode(entry...))
	cancel()
	rep.ApplyTime = time.Since(start)
	metrics.MeasureSince([]string{"placement", "apply"}, start)
	if err != nil {
		// The entry may or may not commit; plan again only after a barrier.
		s.needBarrier = true
		s.lost(err)
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
	s.coord.adopt(plan)
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

// pauseInForce reports whether the replicated pause holds this tick. A pause
// whose expiry this leader's clock has passed is ended here, by proposing
// SetPause{}: the expiry is in the log, and only the leader decides that it
// has come, so replicas never disagree on whether the cluster is paused.
func (s *Scheduler) pauseInForce(ctx context.Context, rep *TickReport) (bool, error) {
	p := s.reg.View().Pause()
	if !p.Paused {
		return false, nil
	}
	if p.Until.IsZero() || s.now().Before(p.Until) {
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
	if all = min(all, FormatVersion); all <= have {
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
		coord := NewCoordinator(s.cfg.Policy)
		s.seen, s.downSeen = nil, nil
		s.coordMu.Lock()
		s.coord = coord
		s.coordMu.Unlock()
		s.needBarrier, s.needResume = true, true
		s.current.Store(false)
	case leader && !s.leader:
		// Leader again in the same term after an error (a busy leader's
		// ErrEnqueueTimeout, say): the planner keeps its memory.
		s.needBarrier = true
		s.current.Store(!s.needResume)
	case !leader:
		s.current.Store(false)
	}
	s.leader, s.term = leader, term
	return leader
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
	s.needBarrier = false
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

// now is the scheduler's clock.
func (s *Scheduler) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// expire proposes AbortTransfer for the moves in flight longer than
// Policy.MoveTimeout, at most MaxActionsPerTick of them in one entry, before
// the tick plans. A move's age runs from its PlaceTransfer's log time, which
// every replica holds, so a new leader neither forgets nor restarts it; a
// move applied without a time is timed from when this leader first saw it.
func (s *Scheduler) expire(ctx context.Context, rep *TickReport) error {
	view := s.reg.View()
	if view.MoveCount() == 0 {
		s.seen = nil
		return nil
	}
	now := s.now()
	pol, limit := s.settings(view)
	var aborts []Command
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
		if now.Sub(began) >= pol.MoveTimeout && len(aborts) < limit {
			aborts = append(aborts, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
		}
	}
	if len(aborts) == 0 {
		return nil
	}
	results, err := s.propose(ctx, fmt.Sprintf("abort %d moves past MoveTimeout", len(aborts)), aborts...)
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
		s.log.Info("moves aborted: in flight past MoveTimeout", zap.Int("aborted", len(rep.Aborted)),
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

// CompleteTransfer proposes the CompleteTransfer of move m: the host calls
// it once m.To holds the shard's data, passing the Move as it learned it
// (View.Moves, or the PlaceTransfer it saw applied, whose epoch is
// PlaceTransfer.Epoch+1). The epoch names this attempt: if the move was
// aborted meanwhile, or aborted and begun again, the completion is rejected
// (ErrStaleEpoch) rather than completing a move whose copy was never made.
// It must run on the leader (an error wrapping ErrNotLeader otherwise; a
// host forwards it to the leader); the leader's map decides, so a follower
// that has not yet applied the move answers ErrNotLeader, not ErrNotMoving.
// A move no longer in flight at that epoch gives an error wrapping
// ErrRejected (ErrStaleEpoch, ErrNotMoving).
func (s *Scheduler) CompleteTransfer(ctx context.Context, m Move) error {
	return s.proposeCommand(ctx, CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch})
}

// AbortTransfer proposes the AbortTransfer of move m: a host calls it when
// a copy fails and will not be retried. Errors are as for
// CompleteTransfer.
func (s *Scheduler) AbortTransfer(ctx context.Context, m Move) error {
	return s.proposeCommand(ctx, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
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

// declareLost proposes SetNodeState to NodeLost for the nodes down longer
// than Policy.DownTimeout (the replicated one, when the log holds one),
// before the tick plans (which then re-homes their shards). Off when
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
		if now.Sub(since) >= pol.DownTimeout {
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

// propose applies cmds as one entry within ApplyTimeout, on the tick's
// goroutine, and returns each command's result. A failure leaves the
// outcome unknown: the next plan waits for a barrier, and a not-leader
// error ends the term's memory (see lost).
func (s *Scheduler) propose(ctx context.Context, what string, cmds ...Command) ([]error, error) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	resp, err := s.raft.Apply(actx, Encode(cmds...))
	if err != nil {
		s.needBarrier = true
		s.lost(err)
		return nil, fmt.Errorf("placement: %s: %w", what, err)
	}
	results, _ := resp.([]error)
	return results, nil
}
