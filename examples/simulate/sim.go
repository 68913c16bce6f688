package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ukehi/placement"
)

// maxTicks stops a scenario that does not converge: the run fails rather
// than spinning.
const maxTicks = 1000

// bytesPerKey turns the key-count workloads' key counts into reported
// sizes. With the default policy the key thresholds are then the ones that
// bite.
const bytesPerKey = 512

// resplitWindow is how many ticks after a merge a split of the merged shard
// counts as a split/merge loop.
const resplitWindow = 10

// clockStart is the simulated time of tick 0. Tick k is clockStart + k ×
// the interval; the time is only ever simulated, never read from a clock.
var clockStart = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// work is the workload's truth about one shard: what the host measures and
// reports as the shard's stats every tick. The data and the load are spread
// evenly over the shard's key range, so the midpoint key (placement.MidKey)
// is the storage engine's median key, reported as the split hint, and a
// split at it halves keys, bytes and load.
type work struct {
	keys, bytes uint64
	load        float64
}

// halves returns the two parts of a split.
func (w work) halves() (left, right work) {
	return work{keys: w.keys / 2, bytes: w.bytes / 2, load: w.load / 2},
		work{keys: w.keys - w.keys/2, bytes: w.bytes - w.bytes/2, load: w.load / 2}
}

// plus returns the merge of two shards.
func (w work) plus(o work) work {
	return work{keys: w.keys + o.keys, bytes: w.bytes + o.bytes, load: w.load + o.load}
}

// keyed is the work of a key-count workload's shard of k keys.
func keyed(k uint64) work { return work{keys: k, bytes: k * bytesPerKey} }

// sim is one scenario's run: a registry at format version 3 (two-phase
// transfers), the pure planner and the workload's truth, advanced a tick
// (one scheduler interval of simulated time) at a time. Each tick it
// reports the progress of every copy in flight and aborts the moves past
// their deadline, as the Scheduler does (see expire), plans on a clock set
// to the tick's time (Coordinator.SetClock), applies every planned
// command at the tick's time (a rejection is a bug: nothing else changes
// the map between planning and applying), completes the moves whose copy
// ends by the next tick (CompleteTransfer), lets the workload change,
// and reports every shard's stats (and every node's capacity), so a stats
// report is one tick of the merge embargo's clock.
//
// A move's copy takes its bytes over the bandwidth, or over the rate of a
// slow node it leaves or enters (nodeRate), whichever is lower (the fixed
// move delay where the host reports no sizes): a PlaceTransfer applied at tick k
// whose copy ends at or before tick k+d is completed at the end of tick
// k+d−1, so the plan of tick k+d finds it done. With Policy.InstantMoves
// each PlaceTransfer is completed at once, as the Scheduler proposes it.
type sim struct {
	reg    *placement.ShardRegistry
	coord  *placement.Coordinator
	policy placement.Policy
	limit  int
	rng    *rand.Rand
	log    io.Writer // per-tick lines; io.Discard when quiet

	// interval is the simulated time of a tick, bandwidth the bytes a
	// second each move copies, and delay the copy time of a move where
	// the host reports no sizes.
	interval  time.Duration
	bandwidth float64
	delay     time.Duration
	// flights are the moves in flight, by shard: what this host copies.
	flights map[placement.ShardID]flight
	// nodeRate caps, in bytes a second, the copies into and out of a
	// node (a slow node); a node not in it copies at the bandwidth.
	nodeRate map[placement.NodeID]float64
	// transfers are the transfers begun, in order, with how each ended.
	transfers []transferRec
	// focus is the scenario's focus node, whose peaks in flight the
	// summary reports.
	focus placement.NodeID

	// countOnly means the host reports no stats at all: the planner
	// balances shard counts, and splits and merges nothing.
	countOnly bool
	// load means the workload has load, so the tick lines and the charts
	// show it.
	load bool
	// capacity is each node's capacity as this host reports it (absent or
	// zero: unknown).
	capacity map[placement.NodeID]uint64

	// work is the workload: each shard's truth, reported as its stats
	// every tick. A split halves it, as the registry's estimate does; a
	// merge adds the two.
	work map[placement.ShardID]work
	// splitAt and mergedAt are the ticks at which each shard was last split
	// (both halves) and last merged (the surviving left shard).
	splitAt, mergedAt map[placement.ShardID]int
	// splits are this run's splits, newest last, for workloads that react
	// to them.
	splits []splitEvent
	// deferred holds the shards whose merge the embargo held back.
	deferred map[placement.ShardID]bool
	// movedAt is the tick and bytes of each shard's last transfer, to tell
	// the bytes moved to bring cold neighbours together.
	movedAt map[placement.ShardID]moved

	// opts are the run's flags, for the scenarios that read them.
	opts options
	// nosplit are the shards reported with no split hint: the planner
	// cannot split them.
	nosplit map[placement.ShardID]bool
	// noiseFrom is the tick the noisy phase began (0: none yet). From
	// then on every stats report perturbs each shard's bytes and load by
	// up to ±opts.NoiseBytes and ±opts.NoiseLoad, around the truth.
	noiseFrom int
	// left holds, for each shard, the nodes it left during the noisy
	// phase: a transfer back to one is a back-move.
	left map[placement.ShardID]map[placement.NodeID]bool
	// tickMoved is the bytes transferred in the current tick, tickHeld
	// what held the tick's plan back, and tickChurn the churn budget once
	// the tick's plan is applied (with a budget set).
	tickMoved uint64
	tickHeld  held
	tickChurn placement.ChurnState
	// planTime and planMax are the wall-clock time of every plan and the
	// longest, measured only with opts.Timing.
	planTime, planMax time.Duration

	tick        int
	rebalancing bool // the last plan's Plan.Rebalancing
	samples     []sample
	res         result
	failed      []string // the targets a check found missed
}

type splitEvent struct {
	tick        int
	left, right placement.ShardID
}

type moved struct {
	tick  int
	bytes uint64
}

// held is what held a plan back, from its Plan.Skipped: quiet hours
// (SkipQuietHours), the churn budget (SkipChurnBudget), a node's copy rate
// (SkipRateLimit) and an in-flight window (SkipInflightWindow).
type held struct {
	quiet, budget, rate, window bool
}

// sample is the map's shape after a tick (tick 0: before the first).
type sample struct {
	tick      int
	nodes     []placement.Node
	imbalance float64 // placement.Imbalance: the spread of counts
	shards    int
	// bytes and load are each node's sums of the workload's truth,
	// parallel to nodes; share is each node's capacity share (0 for a
	// node that is not up).
	bytes []uint64
	load  []float64
	share []float64
	// byteSpread and loadSpread are max − min over the up nodes of
	// amountᵢ / targetᵢ, targetᵢ = total × shareᵢ, computed here from
	// the truth (Plan.Balance's definition).
	byteSpread, loadSpread float64
	// movesIn and movesOut are the moves in flight into and out of each
	// node once the tick's plan is applied (the moves the plan found in
	// flight and those it began: what the windows bound), parallel to
	// nodes, and bytesIn and bytesOut their bytes. The rest of the sample
	// is the map at the end of the tick, after the completions.
	movesIn, movesOut []int
	bytesIn, bytesOut []uint64
	// moved is the bytes transferred in the tick (the truth at the time
	// of each transfer).
	moved uint64
	// held is what held the tick's plan back, and churn is
	// Coordinator.Churn once the tick's plan is applied, where a churn
	// budget is set (else zero).
	held  held
	churn placement.ChurnState
}

// result is a scenario's summary.
type result struct {
	Scenario string
	// Ticks is how many ticks ran; for a scenario that runs until the plan
	// is empty, the ticks before the first empty one (ticks to converge).
	Ticks                     int
	Transfers, Splits, Merges int
	// Minimum is Plan.MinMoves of the first plan that rebalanced (-1 if
	// none did); NaiveMinimum is the same figure recomputed here from the
	// node counts, with no help from the library. Count-only runs.
	Minimum, NaiveMinimum int
	// Rebalances counts the rebalancing episodes (runs of plans with
	// Plan.Rebalancing set) and RebalancePlans the plans in them; each
	// plan's MinMoves (count-only runs) or MinBytes (runs with stats) was
	// checked against the naive recount.
	Rebalances, RebalancePlans int
	// BytesMoved is the sum of the bytes of the shards transferred, at
	// the time of the transfer, and ColocateBytes the part of it in
	// shards merged within resplitWindow ticks of their transfer (cold
	// neighbours brought together). LoadMoved is the same for load.
	BytesMoved, ColocateBytes uint64
	LoadMoved                 float64
	// LowerBound is Σ max(0, bytesᵢ − targetᵢ) over the up nodes at tick
	// 0, from the workload's truth (targetᵢ = total × capacity shareᵢ);
	// LoadBound is the same for load. Splits and merges keep every node's
	// bytes and load, so on a workload that does not change these are
	// also the bounds on the map once it has settled after them.
	LowerBound, LoadBound float64
	// AccBound is the lower bound accumulated tick by tick: LowerBound,
	// plus, each tick, the rise in the bound that the workload's change
	// made (the bound after the change, before the next plan's moves,
	// minus the bound the tick's moves left, when positive), with the
	// moves in flight counted as made. It is what the workload's changes
	// made necessary to move; on a workload that does not change it is
	// LowerBound.
	AccBound float64
	// MinBytes is Plan.MinBytes of the first plan that rebalanced bytes
	// (MinBytesTick; -1 if none did) and NaiveMinBytes the bound
	// recomputed here for that plan. MinBytesOff counts the rebalancing
	// plans whose MinBytes differs from the recount by more than rounding,
	// and FirstOff describes the first.
	MinBytes      uint64
	MinBytesTick  int
	NaiveMinBytes float64
	MinBytesOff   int
	FirstOff      string
	// OffHint counts splits at a key other than the host's hint.
	OffHint int
	// HotMoves counts transfers of a shard whose load alone exceeded a
	// node's fair share (total load / up nodes) at the time.
	HotMoves int
	// LongestAbove is the longest run of consecutive samples with the
	// imbalance above the policy's threshold.
	LongestAbove int
	// EmbargoMerges counts merges of a shard split fewer than
	// Policy.MergeEmbargo ticks before; the embargo makes it zero.
	EmbargoMerges int
	// Resplits counts splits of a shard merged fewer than resplitWindow
	// ticks before: a merged shard stays well under the split threshold.
	Resplits int
	// Deferred counts the shards whose merge the embargo held back.
	Deferred int
	// Completed and Aborted count the moves that ended with a
	// CompleteTransfer and with an AbortTransfer (past MoveTimeout, or
	// cancelled by the registry when the target left NodeUp); InFlight is
	// how many were still in flight when the run ended. Transfers counts
	// the moves begun.
	Completed, Aborted, InFlight int
	// WindowPlans counts the plans that reported SkipInflightWindow.
	WindowPlans int
	// PeakMoves and PeakBytes are the most moves, and bytes, in flight
	// into or out of one node in any sample; PeakMovesIn and PeakBytesIn
	// the same into the scenario's focus node.
	PeakMoves, PeakMovesIn int
	PeakBytes, PeakBytesIn uint64
	// MovesOver counts the samples and nodes with more moves in flight in
	// one direction than Policy.MaxInflightPerNode, and BytesOver those
	// with more bytes than Policy.MaxInflightBytesPerNode in more than
	// one move. Both are zero while the windows hold.
	MovesOver, BytesOver int
	// Settled says the run ended on an empty plan with nothing in flight
	// (or, with a noisy phase, began it so); a run bounded by
	// scenario.settleBy may end or go on without.
	Settled bool
	// SettleTicks is the ticks before the noisy phase began. NoisyBytes,
	// NoisyTransfers, NoisySplits and NoisyMerges are what the noisy phase
	// did, and BackMoves its transfers of a shard to a node it had left
	// earlier in that phase.
	SettleTicks               int
	NoisyBytes                uint64
	NoisyTransfers, BackMoves int
	NoisySplits, NoisyMerges  int
	// Plans is how many plans the run made (ticks and the extra plan of
	// the tick the noise began), for the plan time.
	Plans int
	// Samples are every tick's samples, tick 0 first, and Moves every
	// transfer begun, in order, with how it ended.
	Samples                            []sample
	Moves                              []transferRec
	FirstImbalance, FinalImbalance     float64
	MaxImbalance, MeanImbalance        float64
	ShardsStart, ShardsPeak, ShardsEnd int
	// Final is the nodes after the last tick, and FinalSample the whole
	// last sample. FinalBalance is Plan.Balance of the empty plan that
	// ended a run that goes until the plan is empty.
	Final        []placement.Node
	FinalSample  sample
	FinalBalance placement.Balance
	// Forecast is placement.Forecast's prediction of the run, made
	// before its first tick.
	Forecast forecastRun
	// Notes are scenario-specific summary lines.
	Notes []string
	// Charts are the paths of the SVGs written.
	Charts []string
}

func newSim(cfg placement.Config, o options, stream uint64, log io.Writer) *sim {
	reg := placement.NewShardRegistry()
	// A new cluster bootstraps at this build's format version: transfers
	// are two-phase.
	if err := reg.Apply(placement.SetFormatVersion{Version: placement.FormatVersion}); err != nil {
		panic(err) // an empty registry accepts its own build's version
	}
	return &sim{
		reg:       reg,
		coord:     placement.NewCoordinator(cfg.Policy),
		policy:    cfg.Policy,
		limit:     cfg.MaxActionsPerTick,
		rng:       rand.New(rand.NewPCG(o.Seed, stream)),
		opts:      o,
		nosplit:   map[placement.ShardID]bool{},
		left:      map[placement.ShardID]map[placement.NodeID]bool{},
		log:       log,
		interval:  cfg.TickInterval,
		bandwidth: o.Bandwidth,
		delay:     o.MoveDelay,
		flights:   map[placement.ShardID]flight{},
		nodeRate:  map[placement.NodeID]float64{},
		capacity:  map[placement.NodeID]uint64{},
		work:      map[placement.ShardID]work{},
		splitAt:   map[placement.ShardID]int{},
		mergedAt:  map[placement.ShardID]int{},
		deferred:  map[placement.ShardID]bool{},
		movedAt:   map[placement.ShardID]moved{},
		res:       result{Minimum: -1, NaiveMinimum: -1, MinBytesTick: -1},
	}
}

// apply applies setup commands; any rejection is an error.
func (s *sim) apply(cmds ...placement.Command) error {
	for _, c := range cmds {
		if err := s.reg.Apply(c); err != nil {
			return fmt.Errorf("setup %v: %w", c, err)
		}
	}
	return nil
}

// run ticks until the scenario is done: for sc.ticks ticks, or, when that
// is zero, until the first tick after sc.minTicks that finds the plan
// empty, not held by quiet hours or the churn budget (it would then only
// be waiting for a window or for moves to age out of the hour), and no
// move in flight (or the tick after sc.settleBy, if set).
// With sc.noisy, that point instead begins the noisy phase, which runs
// sc.noisy ticks.
func (s *sim) run(sc scenario) error {
	s.reportStats()
	s.record(0, 0, 0, 0, 0, s.inflight())
	s.res.Forecast = s.forecast(sc)
	first := s.samples[0]
	s.res.LowerBound = lowerBound(float64s(first.bytes), first.share)
	s.res.LoadBound = lowerBound(first.load, first.share)
	s.res.AccBound = s.res.LowerBound
	for s.tick = 1; ; s.tick++ {
		if s.tick > maxTicks {
			return fmt.Errorf("not settled (plan empty, nothing in flight) after %d ticks", maxTicks)
		}
		if err := s.expire(); err != nil {
			return err
		}
		v := s.reg.View()
		p := s.plan(v)
		h := heldBy(p)
		settled := len(p.Commands) == 0 && v.MoveCount() == 0 && s.tick > sc.minTicks && !h.quiet && !h.budget
		if sc.ticks == 0 && s.noiseFrom == 0 && (settled || (sc.settleBy > 0 && s.tick > sc.settleBy)) {
			s.res.Settled = settled
			if sc.noisy == 0 {
				s.res.Ticks = s.tick - 1
				s.res.InFlight = v.MoveCount()
				s.res.FinalBalance = p.Balance
				return nil
			}
			// The noisy phase begins: this tick plans on noisy stats.
			s.res.SettleTicks = s.tick - 1
			s.noiseFrom = s.tick
			s.reportStats()
			v = s.reg.View()
			p = s.plan(v)
		}
		if s.noiseFrom == 0 {
			// With noise the planner sees perturbed stats, which the
			// naive recount (from the truth) does not.
			if err := s.checkPlan(v, p); err != nil {
				return err
			}
		}
		s.rebalancing = p.Rebalancing
		for _, sk := range p.Skipped {
			if sk.Reason == placement.SkipRecentlySplit {
				s.deferred[sk.Shard] = true
			}
		}
		h = heldBy(p)
		if h.window {
			s.res.WindowPlans++
		}
		s.tickHeld = h
		splits, merges, transfers, err := s.applyPlan(v, p)
		if err != nil {
			return err
		}
		if s.policy.ChurnBytesPerHour > 0 || s.policy.ChurnShardsPerHour > 0 {
			s.tickChurn = s.coord.Churn(s.reg.View())
		}
		flying := s.inflight()
		completed, err := s.completeDue()
		if err != nil {
			return err
		}
		if sc.evolve != nil {
			left := s.boundNow()
			sc.evolve(s)
			s.res.AccBound += math.Max(0, s.boundNow()-left)
		}
		s.reportStats()
		s.record(s.tick, splits, merges, transfers, completed, flying)
		if s.tick == sc.ticks || (s.noiseFrom > 0 && s.tick == s.noiseFrom+sc.noisy-1) {
			s.res.Ticks = s.tick
			s.res.InFlight = s.reg.View().MoveCount()
			return nil
		}
	}
}

// heldBy returns what held p back.
func heldBy(p placement.Plan) held {
	var h held
	for _, sk := range p.Skipped {
		switch sk.Reason {
		case placement.SkipQuietHours:
			h.quiet = true
		case placement.SkipChurnBudget:
			h.budget = true
		case placement.SkipRateLimit:
			h.rate = true
		case placement.SkipInflightWindow:
			h.window = true
		}
	}
	return h
}

// plan plans once at the tick's time (the clock the Scheduler gives the
// planner every tick), timing the plan with opts.Timing.
func (s *sim) plan(v placement.View) placement.Plan {
	s.res.Plans++
	s.coord.SetClock(s.now(), time.Time{})
	if !s.opts.Timing {
		return s.coord.Plan(v, s.limit)
	}
	start := time.Now()
	p := s.coord.Plan(v, s.limit)
	d := time.Since(start)
	s.planTime += d
	s.planMax = max(s.planMax, d)
	return p
}

// now is the simulated time of the current tick.
func (s *sim) now() time.Time { return clockStart.Add(time.Duration(s.tick) * s.interval) }

// applyPlan applies the plan's commands in order and keeps the workload's
// truth in step with splits and merges.
func (s *sim) applyPlan(v placement.View, p placement.Plan) (splits, merges, transfers int, err error) {
	next := v.NextShardID()
	fair := s.fairLoad(v)
	now := s.now()
	for _, cmd := range p.Commands {
		if err := s.reg.ApplyAt(cmd, now); err != nil {
			return 0, 0, 0, fmt.Errorf("bug: tick %d: planned %v rejected: %w", s.tick, cmd, err)
		}
		switch c := cmd.(type) {
		case placement.PlaceSplit:
			if at, ok := s.mergedAt[c.Shard]; ok && s.tick-at < resplitWindow {
				s.res.Resplits++
			}
			if sh, ok := v.Shard(c.Shard); ok {
				if hint, ok := placement.MidKey(sh.Range); !ok || !bytes.Equal(hint, c.SplitKey) {
					s.res.OffHint++
				}
			}
			right := next
			next++
			s.work[c.Shard], s.work[right] = s.work[c.Shard].halves()
			s.splitAt[c.Shard], s.splitAt[right] = s.tick, s.tick
			s.splits = append(s.splits, splitEvent{tick: s.tick, left: c.Shard, right: right})
			splits++
			if s.noiseFrom > 0 {
				s.res.NoisySplits++
			}
		case placement.PlaceMerge:
			if s.recentlySplit(c.Left) || s.recentlySplit(c.Right) {
				s.res.EmbargoMerges++
			}
			for _, id := range []placement.ShardID{c.Left, c.Right} {
				if m, ok := s.movedAt[id]; ok && s.tick-m.tick < resplitWindow {
					s.res.ColocateBytes += m.bytes
					delete(s.movedAt, id)
				}
			}
			s.work[c.Left] = s.work[c.Left].plus(s.work[c.Right])
			delete(s.work, c.Right)
			s.mergedAt[c.Left] = s.tick
			merges++
			if s.noiseFrom > 0 {
				s.res.NoisyMerges++
			}
		case placement.PlaceTransfer:
			w := s.work[c.Shard]
			s.res.BytesMoved += w.bytes
			s.res.LoadMoved += w.load
			if fair > 0 && w.load > fair {
				s.res.HotMoves++
			}
			s.movedAt[c.Shard] = moved{tick: s.tick, bytes: w.bytes}
			s.tickMoved += w.bytes
			if s.noiseFrom > 0 {
				s.res.NoisyTransfers++
				s.res.NoisyBytes += w.bytes
				if s.left[c.Shard][c.To] {
					s.res.BackMoves++
				}
				if s.left[c.Shard] == nil {
					s.left[c.Shard] = map[placement.NodeID]bool{}
				}
				s.left[c.Shard][c.From] = true
			}
			transfers++
			s.transfers = append(s.transfers, transferRec{shard: c.Shard, from: c.From, to: c.To, bytes: w.bytes, began: now})
			if !s.policy.InstantMoves {
				rate := s.copyRate(c.From, c.To)
				s.flights[c.Shard] = flight{bytes: w.bytes, began: now, rate: rate,
					due: now.Add(s.copyTime(w.bytes, rate)), rec: len(s.transfers) - 1}
				continue
			}
			s.transfers[len(s.transfers)-1].ended = now
			// As the Scheduler proposes it: the completion in the same
			// entry as the move.
			done := placement.CompleteTransfer{Shard: c.Shard, Epoch: c.Epoch + 1}
			if err := s.reg.ApplyAt(done, now); err != nil {
				return 0, 0, 0, fmt.Errorf("bug: tick %d: %v rejected: %w", s.tick, done, err)
			}
			s.res.Completed++
		}
	}
	s.res.Splits += splits
	s.res.Merges += merges
	s.res.Transfers += transfers
	return splits, merges, transfers, nil
}

// fairLoad is a node's fair share of the load: the total over the up
// nodes' count.
func (s *sim) fairLoad(v placement.View) float64 {
	if !s.load {
		return 0
	}
	total, up := 0.0, 0
	for _, n := range v.Nodes() {
		if n.State == placement.NodeUp {
			up++
		}
	}
	for sh := range v.Shards() {
		total += s.work[sh.ID].load
	}
	if up == 0 {
		return 0
	}
	return total / float64(up)
}

func (s *sim) recentlySplit(id placement.ShardID) bool {
	at, ok := s.splitAt[id]
	return ok && s.tick-at < int(s.policy.MergeEmbargo)
}

// checkPlan checks a rebalancing plan's lower bound against a naive
// recount: Plan.MinMoves when the host reports no stats (a difference is a
// bug and stops the run), Plan.MinBytes otherwise (a difference is counted
// and fails the scenario's checks). It remembers the first rebalancing
// plan's figures.
func (s *sim) checkPlan(v placement.View, p placement.Plan) error {
	if s.countOnly {
		if !p.Rebalancing {
			return nil
		}
		naive := naiveMinMoves(projectedUpCounts(v, p), s.policy.StopBand)
		if naive != p.MinMoves {
			return fmt.Errorf("bug: tick %d: Plan.MinMoves %d, naive recount %d", s.tick, p.MinMoves, naive)
		}
		s.countRebalance(p)
		if s.res.Minimum < 0 {
			s.res.Minimum, s.res.NaiveMinimum = p.MinMoves, naive
		}
		return nil
	}
	if !p.Rebalancing && p.MinBytes == 0 {
		return nil
	}
	if heldBy(p).quiet && p.MinBytes == 0 {
		// Quiet hours: no rebalancing phase ran, so the plan, though
		// still rebalancing, reports no bound to check.
		return nil
	}
	bytes, share := s.projectedUpBytes(v, p)
	naive := lowerBound(bytes, share)
	if !closeBytes(float64(p.MinBytes), naive, len(bytes)) {
		if s.res.MinBytesOff == 0 {
			s.res.FirstOff = fmt.Sprintf("tick %d: Plan.MinBytes %d, naive recount %.0f", s.tick, p.MinBytes, naive)
		}
		s.res.MinBytesOff++
	}
	if p.Rebalancing {
		s.countRebalance(p)
	}
	if s.res.MinBytesTick < 0 {
		s.res.MinBytes, s.res.NaiveMinBytes, s.res.MinBytesTick = p.MinBytes, naive, s.tick
	}
	return nil
}

func (s *sim) countRebalance(p placement.Plan) {
	s.res.RebalancePlans++
	if !s.rebalancing {
		s.res.Rebalances++
	}
}

// closeBytes reports whether a byte figure from the library matches the
// naive float recount up to rounding: at most one byte a node, or a
// relative 1e-9 (float64 sums of terabytes).
func closeBytes(got, want float64, nodes int) bool {
	return math.Abs(got-want) <= math.Max(float64(nodes), 1e-9*math.Abs(want))
}

// reportStats reports every shard's truth, in key order, with the midpoint
// of its range as the split hint, as the host would after measuring its
// storage, and every node's capacity. A count-only host reports nothing.
func (s *sim) reportStats() {
	if s.countOnly {
		return
	}
	v := s.reg.View()
	for _, n := range v.Nodes() {
		if c, ok := s.capacity[n.ID]; ok {
			if err := s.reg.ReportNodeStats(n.ID, placement.NodeStats{Capacity: c}); err != nil {
				panic(err) // the node came from the registry's own view
			}
		}
	}
	for sh := range v.Shards() {
		w := s.work[sh.ID]
		st := placement.Stats{Keys: w.keys, Bytes: w.bytes, Load: w.load}
		if s.noiseFrom > 0 {
			st.Bytes = uint64(s.jitter(float64(w.bytes), s.opts.NoiseBytes))
			st.Load = s.jitter(w.load, s.opts.NoiseLoad)
		}
		if !s.nosplit[sh.ID] {
			st.SplitKey, _ = placement.MidKey(sh.Range)
		}
		if err := s.reg.ReportStats(sh.ID, st); err != nil {
			panic(err) // the shard came from the registry's own view
		}
	}
}

// jitter returns x × (1 + u), u drawn evenly from [−frac, frac].
func (s *sim) jitter(x, frac float64) float64 {
	if frac == 0 {
		return x
	}
	return x * (1 + frac*(2*s.rng.Float64()-1))
}

// record samples the map after a tick, with the moves that were in flight
// over it, and prints the tick's line.
func (s *sim) record(tick, splits, merges, transfers, completed int, f inFlight) {
	v := s.reg.View()
	smp := sample{tick: tick, nodes: v.Nodes(), imbalance: placement.Imbalance(v), shards: v.ShardCount(), moved: s.tickMoved,
		held: s.tickHeld, churn: s.tickChurn}
	s.tickMoved, s.tickHeld, s.tickChurn = 0, held{}, placement.ChurnState{}
	smp.bytes, smp.load = s.nodeSums(v, smp.nodes)
	n := len(smp.nodes)
	smp.movesIn, smp.movesOut = make([]int, n), make([]int, n)
	smp.bytesIn, smp.bytesOut = make([]uint64, n), make([]uint64, n)
	flying := 0
	for i, nd := range smp.nodes {
		smp.movesIn[i], smp.movesOut[i] = f.movesIn[nd.ID], f.movesOut[nd.ID]
		smp.bytesIn[i], smp.bytesOut[i] = f.bytesIn[nd.ID], f.bytesOut[nd.ID]
		flying += smp.movesIn[i]
	}
	smp.share = s.shares(smp.nodes)
	smp.byteSpread = spread(float64s(smp.bytes), smp.share)
	smp.loadSpread = spread(smp.load, smp.share)
	s.samples = append(s.samples, smp)
	fmt.Fprintf(s.log, "tick %3d  imbalance %.3f", tick, smp.imbalance)
	if !s.countOnly {
		fmt.Fprintf(s.log, "  bytes %.3f", smp.byteSpread)
	}
	if s.load {
		fmt.Fprintf(s.log, "  load %.3f", smp.loadSpread)
	}
	fmt.Fprintf(s.log, "  shards %4d", smp.shards)
	if tick > 0 {
		fmt.Fprintf(s.log, "  split %d  merge %d  transfer %d", splits, merges, transfers)
		if !s.policy.InstantMoves {
			fmt.Fprintf(s.log, "  in flight %d  completed %d", flying, completed)
		}
	}
	fmt.Fprintln(s.log)
}

// nodeSums returns each node's sums of its shards' bytes and load, from
// the workload's truth, parallel to nodes.
func (s *sim) nodeSums(v placement.View, nodes []placement.Node) ([]uint64, []float64) {
	at := make(map[placement.NodeID]int, len(nodes))
	for i, n := range nodes {
		at[n.ID] = i
	}
	b, l := make([]uint64, len(nodes)), make([]float64, len(nodes))
	for sh := range v.Shards() {
		w := s.work[sh.ID]
		b[at[sh.Node]] += w.bytes
		l[at[sh.Node]] += w.load
	}
	return b, l
}

// shares returns each node's capacity share, parallel to nodes: its
// capacity over the up nodes' total, 0 for a node that is not up. A node
// whose capacity is unknown counts as the mean of the known ones, and all
// count as equal when none is known (the NodeStats contract), worked out
// here from what this host reported.
func (s *sim) shares(nodes []placement.Node) []float64 {
	caps := make([]float64, len(nodes))
	known, sum := 0, 0.0
	for i, n := range nodes {
		if c := s.capacity[n.ID]; n.State == placement.NodeUp && c > 0 {
			caps[i] = float64(c)
			known++
			sum += caps[i]
		}
	}
	mean := 1.0
	if known > 0 {
		mean = sum / float64(known)
	}
	total := 0.0
	for i, n := range nodes {
		if n.State != placement.NodeUp {
			caps[i] = 0
			continue
		}
		if caps[i] == 0 {
			caps[i] = mean
		}
		total += caps[i]
	}
	for i := range caps {
		if total > 0 {
			caps[i] /= total
		}
	}
	return caps
}

// spread returns max − min over the nodes with a share of amountᵢ /
// targetᵢ, targetᵢ = total × shareᵢ; 0 when there is nothing to spread.
func spread(amount, share []float64) float64 {
	total := 0.0
	for i := range amount {
		if share[i] > 0 {
			total += amount[i]
		}
	}
	if total == 0 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range amount {
		if share[i] > 0 {
			r := amount[i] / (total * share[i])
			lo, hi = math.Min(lo, r), math.Max(hi, r)
		}
	}
	if hi < lo {
		return 0
	}
	return hi - lo
}

// lowerBound returns Σ max(0, amountᵢ − targetᵢ) over the nodes with a
// share, targetᵢ = total × shareᵢ: no set of transfers that puts every node
// at its target moves less, since each byte moved leaves one node.
func lowerBound(amount, share []float64) float64 {
	total := 0.0
	for i := range amount {
		if share[i] > 0 {
			total += amount[i]
		}
	}
	lb := 0.0
	for i := range amount {
		if share[i] > 0 {
			lb += math.Max(0, amount[i]-total*share[i])
		}
	}
	return lb
}

// boundNow returns the lower bound on the bytes still to move in the map
// as it is now, from the workload's truth, with the moves in flight
// counted as made (their bytes are already in BytesMoved); 0 where the
// host reports no stats.
func (s *sim) boundNow() float64 {
	if s.countOnly {
		return 0
	}
	v := s.reg.View()
	nodes := v.Nodes()
	return lowerBound(s.flownBytes(v, nodes), s.shares(nodes))
}

// flownBytes returns each node's bytes from the workload's truth, parallel
// to nodes, with the moves in flight counted as made.
func (s *sim) flownBytes(v placement.View, nodes []placement.Node) []float64 {
	at := make(map[placement.NodeID]int, len(nodes))
	for i, n := range nodes {
		at[n.ID] = i
	}
	b, _ := s.nodeSums(v, nodes)
	out := float64s(b)
	for m := range v.Moves() {
		w := float64(s.work[m.Shard].bytes)
		out[at[m.From]] -= w
		out[at[m.To]] += w
	}
	return out
}

// movesPerShardHour returns transfers per shard per hour of simulated
// time over the ticks after tick from up to tick to: the transfers over
// the mean shard count of those ticks' samples and their simulated time.
func (s *sim) movesPerShardHour(transfers, from, to int) float64 {
	shards, n := 0, 0
	for _, smp := range s.samples {
		if smp.tick > from && smp.tick <= to {
			shards += smp.shards
			n++
		}
	}
	hours := (time.Duration(to-from) * s.interval).Hours()
	if n == 0 || shards == 0 || hours == 0 {
		return 0
	}
	return float64(transfers) / (float64(shards) / float64(n)) / hours
}

// projectedUpBytes returns every node's bytes as the planner sees them
// when it starts rebalancing, and the capacity shares: with the moves in
// flight counted as made, and after the plan's moves off draining nodes
// and its moves that bring a cold shard next to its cold neighbour for a
// merge (splits and merges keep each node's bytes).
func (s *sim) projectedUpBytes(v placement.View, p placement.Plan) ([]float64, []float64) {
	nodes := v.Nodes()
	at := make(map[placement.NodeID]int, len(nodes))
	for i, n := range nodes {
		at[n.ID] = i
	}
	out := s.flownBytes(v, nodes)
	var moves map[placement.ShardID]placement.NodeID
	for _, cmd := range p.Commands {
		if c, ok := cmd.(placement.PlaceTransfer); ok {
			if moves == nil {
				moves = map[placement.ShardID]placement.NodeID{}
			}
			moves[c.Shard] = c.To
		}
	}
	colocate := s.colocating(v, moves)
	for _, cmd := range p.Commands {
		c, ok := cmd.(placement.PlaceTransfer)
		if !ok || (nodes[at[c.From]].State != placement.NodeDraining && !colocate[c.Shard]) {
			continue
		}
		w := float64(s.work[c.Shard].bytes)
		out[at[c.From]] -= w
		out[at[c.To]] += w
	}
	return out, s.shares(nodes)
}

// colocating returns which of the moves (shard → destination) bring a cold
// shard onto the node of a cold neighbour: the moves that prepare a merge.
func (s *sim) colocating(v placement.View, moves map[placement.ShardID]placement.NodeID) map[placement.ShardID]bool {
	if len(moves) == 0 {
		return nil
	}
	cold := func(id placement.ShardID) bool {
		w := s.work[id]
		return w.keys < s.policy.MergeKeys && w.bytes < s.policy.MergeBytes
	}
	out := map[placement.ShardID]bool{}
	var prev placement.Shard
	first := true
	for sh := range v.Shards() {
		if !first {
			// prev and sh are neighbours.
			if to, ok := moves[prev.ID]; ok && to == sh.Node && cold(prev.ID) && cold(sh.ID) {
				out[prev.ID] = true
			}
			if to, ok := moves[sh.ID]; ok && to == prev.Node && cold(prev.ID) && cold(sh.ID) {
				out[sh.ID] = true
			}
		}
		prev, first = sh, false
	}
	return out
}

func float64s(u []uint64) []float64 {
	out := make([]float64, len(u))
	for i, x := range u {
		out[i] = float64(x)
	}
	return out
}

// finish fills in the summary figures that come from the samples.
func (s *sim) finish() {
	first, last := s.samples[0], s.samples[len(s.samples)-1]
	r := &s.res
	r.FirstImbalance, r.FinalImbalance = first.imbalance, last.imbalance
	r.ShardsStart, r.ShardsEnd = first.shards, last.shards
	r.Final, r.FinalSample = last.nodes, last
	r.Deferred = len(s.deferred)
	sum, above := 0.0, 0
	for _, smp := range s.samples {
		above++
		if smp.imbalance <= s.policy.ImbalanceThreshold {
			above = 0
		}
		r.LongestAbove = max(r.LongestAbove, above)
		r.MaxImbalance = max(r.MaxImbalance, smp.imbalance)
		r.ShardsPeak = max(r.ShardsPeak, smp.shards)
		sum += smp.imbalance
	}
	r.MeanImbalance = sum / float64(len(s.samples))
	r.Samples, r.Moves = s.samples, s.transfers
	w := s.policy.MaxInflightBytesPerNode
	window := func(moves int, b uint64) {
		r.PeakMoves, r.PeakBytes = max(r.PeakMoves, moves), max(r.PeakBytes, b)
		if moves > s.policy.MaxInflightPerNode {
			r.MovesOver++
		}
		if w > 0 && b > w && moves > 1 {
			r.BytesOver++
		}
	}
	for _, smp := range s.samples {
		for i, n := range smp.nodes {
			window(smp.movesIn[i], smp.bytesIn[i])
			window(smp.movesOut[i], smp.bytesOut[i])
			if n.ID == s.focus {
				r.PeakMovesIn = max(r.PeakMovesIn, smp.movesIn[i])
				r.PeakBytesIn = max(r.PeakBytesIn, smp.bytesIn[i])
			}
		}
	}
}

// fixedPoint reports stats and plans rounds more times without applying
// anything (the workload does not change) and returns the first non-empty
// plan's size and round, or 0, 0 when every plan was empty. The reports
// advance the merge embargo's clock, so a merge the embargo only delayed
// shows up here.
func (s *sim) fixedPoint(rounds int) (commands, round int) {
	for i := 1; i <= rounds; i++ {
		s.reportStats()
		if p := s.coord.Plan(s.reg.View(), s.limit); len(p.Commands) > 0 {
			return len(p.Commands), i
		}
	}
	return 0, 0
}

// projectedUpCounts returns the up nodes' shard counts as the planner sees
// them when it starts rebalancing: with the moves in flight counted as
// made, and after the plan's moves off draining nodes, its splits and its
// merges.
func projectedUpCounts(v placement.View, p placement.Plan) []int {
	nodes := v.Nodes()
	at := make(map[placement.NodeID]int, len(nodes))
	for i, n := range nodes {
		at[n.ID] = i
	}
	counts := make([]int, len(nodes))
	for i, n := range nodes {
		counts[i] = n.Shards
	}
	for m := range v.Moves() {
		counts[at[m.From]]--
		counts[at[m.To]]++
	}
	owner := func(id placement.ShardID) int {
		sh, _ := v.Shard(id)
		return at[sh.Node]
	}
	for _, cmd := range p.Commands {
		switch c := cmd.(type) {
		case placement.PlaceSplit:
			counts[owner(c.Shard)]++
		case placement.PlaceMerge:
			counts[owner(c.Left)]--
		case placement.PlaceTransfer:
			if nodes[at[c.From]].State == placement.NodeDraining {
				counts[at[c.From]]--
				counts[at[c.To]]++
			}
		}
	}
	var up []int
	for i, n := range nodes {
		if n.State == placement.NodeUp {
			up = append(up, counts[i])
		}
	}
	return up
}

// naiveMinMoves is the fewest transfers that bring counts within the stop
// band, worked out the slow, obvious way as a check on Plan.MinMoves: the
// band's width is w = max(1, ⌊stopBand × S / n⌋); try every band [L, L+w]
// that can hold S shards on n nodes, and take the least of max(shards
// above the band, room missing below it). A transfer lowers each of those
// by at most one, so no band is reached in fewer.
func naiveMinMoves(counts []int, stopBand float64) int {
	n, total := len(counts), 0
	for _, c := range counts {
		total += c
	}
	if n == 0 {
		return 0
	}
	w := max(1, int(math.Floor(stopBand*float64(total)/float64(n))))
	best := -1
	for l := 0; n*l <= total; l++ {
		if n*(l+w) < total {
			continue
		}
		above, below := 0, 0
		for _, c := range counts {
			if c > l+w {
				above += c - (l + w)
			}
			if c < l {
				below += l - c
			}
		}
		if cost := max(above, below); best < 0 || cost < best {
			best = cost
		}
	}
	return best
}

var errCheck = errors.New("check failed")
