package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/ukehi/placement"
)

// maxTicks stops a scenario that does not converge: the run fails rather
// than spinning.
const maxTicks = 1000

// bytesPerKey turns the workload's key counts into reported sizes. With the
// default policy the key thresholds are then the ones that bite.
const bytesPerKey = 512

// resplitWindow is how many ticks after a merge a split of the merged shard
// counts as a split/merge loop.
const resplitWindow = 10

// sim is one scenario's run: a registry, the pure planner and the
// workload's key counts, advanced a tick at a time. Each tick it plans,
// applies every planned command (a rejection is a bug: nothing else changes
// the map between planning and applying), lets the workload change, and
// reports every shard's stats, so a stats report is one tick of the merge
// embargo's clock.
type sim struct {
	reg    *placement.ShardRegistry
	coord  *placement.Coordinator
	policy placement.Policy
	limit  int
	rng    *rand.Rand
	log    io.Writer // per-tick lines; io.Discard when quiet

	// keys is the workload: each shard's true key count, reported as its
	// stats every tick. A split halves it, as the registry's estimate does;
	// a merge adds the two.
	keys map[placement.ShardID]uint64
	// splitAt and mergedAt are the ticks at which each shard was last split
	// (both halves) and last merged (the surviving left shard).
	splitAt, mergedAt map[placement.ShardID]int
	// splits are this run's splits, newest last, for workloads that react
	// to them.
	splits []splitEvent
	// deferred holds the shards whose merge the embargo held back.
	deferred map[placement.ShardID]bool

	tick        int
	rebalancing bool // the last plan's Plan.Rebalancing
	samples     []sample
	res         result
}

type splitEvent struct {
	tick        int
	left, right placement.ShardID
}

// sample is the map's shape after a tick (tick 0: before the first).
type sample struct {
	tick      int
	nodes     []placement.Node
	imbalance float64
	shards    int
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
	// node counts, with no help from the library.
	Minimum, NaiveMinimum int
	// Rebalances counts the rebalancing episodes (runs of plans with
	// Plan.Rebalancing set) and RebalancePlans the plans in them; each
	// plan's MinMoves was checked against the naive recount.
	Rebalances, RebalancePlans int
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
	Deferred                           int
	FirstImbalance, FinalImbalance     float64
	MaxImbalance, MeanImbalance        float64
	ShardsStart, ShardsPeak, ShardsEnd int
	// Final is the nodes after the last tick.
	Final []placement.Node
	// Notes are scenario-specific summary lines.
	Notes []string
	// Chart is the path of the SVG written, or "".
	Chart string
}

func newSim(cfg placement.Config, seed, stream uint64, log io.Writer) *sim {
	return &sim{
		reg:      placement.NewShardRegistry(),
		coord:    placement.NewCoordinator(cfg.Policy),
		policy:   cfg.Policy,
		limit:    cfg.MaxActionsPerTick,
		rng:      rand.New(rand.NewPCG(seed, stream)),
		log:      log,
		keys:     map[placement.ShardID]uint64{},
		splitAt:  map[placement.ShardID]int{},
		mergedAt: map[placement.ShardID]int{},
		deferred: map[placement.ShardID]bool{},
		res:      result{Minimum: -1, NaiveMinimum: -1},
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
// is zero, until the first empty plan after sc.minTicks.
func (s *sim) run(sc scenario) error {
	s.reportStats()
	s.record(0, 0, 0, 0)
	for s.tick = 1; ; s.tick++ {
		if s.tick > maxTicks {
			return fmt.Errorf("no empty plan after %d ticks", maxTicks)
		}
		v := s.reg.View()
		p := s.coord.Plan(v, s.limit)
		if err := s.checkMinMoves(v, p); err != nil {
			return err
		}
		s.rebalancing = p.Rebalancing
		if sc.ticks == 0 && len(p.Commands) == 0 && s.tick > sc.minTicks {
			s.res.Ticks = s.tick - 1
			return nil
		}
		for _, sk := range p.Skipped {
			if sk.Reason == placement.SkipRecentlySplit {
				s.deferred[sk.Shard] = true
			}
		}
		splits, merges, transfers, err := s.applyPlan(v, p)
		if err != nil {
			return err
		}
		if sc.evolve != nil {
			sc.evolve(s)
		}
		s.reportStats()
		s.record(s.tick, splits, merges, transfers)
		if s.tick == sc.ticks {
			s.res.Ticks = s.tick
			return nil
		}
	}
}

// applyPlan applies the plan's commands in order and keeps the workload's
// key counts in step with splits and merges.
func (s *sim) applyPlan(v placement.View, p placement.Plan) (splits, merges, transfers int, err error) {
	next := v.NextShardID()
	for _, cmd := range p.Commands {
		if err := s.reg.Apply(cmd); err != nil {
			return 0, 0, 0, fmt.Errorf("bug: tick %d: planned %v rejected: %w", s.tick, cmd, err)
		}
		switch c := cmd.(type) {
		case placement.PlaceSplit:
			if at, ok := s.mergedAt[c.Shard]; ok && s.tick-at < resplitWindow {
				s.res.Resplits++
			}
			right := next
			next++
			k := s.keys[c.Shard]
			s.keys[c.Shard], s.keys[right] = k/2, k-k/2
			s.splitAt[c.Shard], s.splitAt[right] = s.tick, s.tick
			s.splits = append(s.splits, splitEvent{tick: s.tick, left: c.Shard, right: right})
			splits++
		case placement.PlaceMerge:
			if s.recentlySplit(c.Left) || s.recentlySplit(c.Right) {
				s.res.EmbargoMerges++
			}
			s.keys[c.Left] += s.keys[c.Right]
			delete(s.keys, c.Right)
			s.mergedAt[c.Left] = s.tick
			merges++
		case placement.PlaceTransfer:
			transfers++
		}
	}
	s.res.Splits += splits
	s.res.Merges += merges
	s.res.Transfers += transfers
	return splits, merges, transfers, nil
}

func (s *sim) recentlySplit(id placement.ShardID) bool {
	at, ok := s.splitAt[id]
	return ok && s.tick-at < int(s.policy.MergeEmbargo)
}

// checkMinMoves recomputes the plan's MinMoves with naiveMinMoves and fails
// on a difference. It remembers the first rebalancing plan's figure.
func (s *sim) checkMinMoves(v placement.View, p placement.Plan) error {
	if !p.Rebalancing {
		return nil
	}
	naive := naiveMinMoves(projectedUpCounts(v, p), s.policy.StopBand)
	if naive != p.MinMoves {
		return fmt.Errorf("bug: tick %d: Plan.MinMoves %d, naive recount %d", s.tick, p.MinMoves, naive)
	}
	s.res.RebalancePlans++
	if !s.rebalancing {
		s.res.Rebalances++
	}
	if s.res.Minimum < 0 {
		s.res.Minimum, s.res.NaiveMinimum = p.MinMoves, naive
	}
	return nil
}

// reportStats reports every shard's key count, in key order, as the host
// would after measuring its storage.
func (s *sim) reportStats() {
	for sh := range s.reg.View().Shards() {
		k := s.keys[sh.ID]
		st := placement.Stats{Keys: k, Bytes: k * bytesPerKey}
		if err := s.reg.ReportStats(sh.ID, st); err != nil {
			panic(err) // the shard came from the registry's own view
		}
	}
}

// record samples the map after a tick and prints the tick's line.
func (s *sim) record(tick, splits, merges, transfers int) {
	v := s.reg.View()
	smp := sample{tick: tick, nodes: v.Nodes(), imbalance: placement.Imbalance(v), shards: v.ShardCount()}
	s.samples = append(s.samples, smp)
	fmt.Fprintf(s.log, "tick %3d  imbalance %.3f  shards %4d", tick, smp.imbalance, smp.shards)
	if tick > 0 {
		fmt.Fprintf(s.log, "  split %d  merge %d  transfer %d", splits, merges, transfers)
	}
	fmt.Fprintln(s.log)
}

// finish fills in the summary figures that come from the samples.
func (s *sim) finish() {
	first, last := s.samples[0], s.samples[len(s.samples)-1]
	r := &s.res
	r.FirstImbalance, r.FinalImbalance = first.imbalance, last.imbalance
	r.ShardsStart, r.ShardsEnd = first.shards, last.shards
	r.Final = last.nodes
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
}

// projectedUpCounts returns the up nodes' shard counts as the planner sees
// them when it starts rebalancing: after the plan's moves off draining
// nodes, its splits and its merges.
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
