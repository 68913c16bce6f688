package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ukehi/placement"
)

// scenario is one simulated situation.
type scenario struct {
	name  string
	about string
	// setup builds the map and the workload, and says what the host
	// reports (sim.countOnly, sim.load, sim.capacity).
	setup func(*sim) error
	// ticks, when set, is how many ticks to run; otherwise the run ends at
	// the first empty plan after tick minTicks.
	ticks, minTicks int
	// settleBy, when set, bounds a run that goes until the plan is empty:
	// after that many ticks it ends (or begins its noisy phase) anyway,
	// unsettled.
	settleBy int
	// noisy, when set, is how many ticks of noisy stats follow the point
	// at which a run that goes until the plan is empty would end.
	noisy int
	// evolve changes the workload after each tick's commands are applied.
	evolve func(*sim)
	// check adds the scenario's summary notes and returns an error wrapping
	// errCheck if the run broke a promise.
	check func(*sim) error
	// focus is the node the chart draws thicker, or 0, and focusNote says
	// why in the legend.
	focus     placement.NodeID
	focusNote string
	// tune, when set, changes the policy the scenario runs with (after
	// the flags have set theirs).
	tune func(*placement.Policy)
	// interval, when set, is the simulated time of the scenario's tick,
	// whatever -interval says: a scenario timed by the time of day needs
	// longer ticks than the default.
	interval time.Duration
	// flightChart makes the scenario's main chart (named after it) the
	// moves and bytes in flight into the focus node against the windows;
	// the shard count chart is then written with the suffix "-counts".
	flightChart bool
	// charts, when set, makes the scenario's own charts, its main chart
	// (suffix "") among them; the shard count chart is then written with
	// the suffix "-counts".
	charts func(*sim, scenario) []chartFile
}

var scenarios = []scenario{
	{
		name:  "add-empty-node",
		about: "8 nodes share 400 shards, no stats reported (count-only); node 9 joins empty",
		setup: setupAddEmptyNode,
		check: checkAddEmptyNode,
		focus: 9, focusNote: "new",
	},
	{
		name:  "drain-node",
		about: "6 nodes share 300 shards; node 3 is set to draining",
		setup: setupDrainNode,
		check: checkDrainNode,
		focus: drainedNode, focusNote: "draining",
	},
	{
		name: "hot-range",
		about: fmt.Sprintf("6 nodes, 120 shards; the keys of one range grow ×%.1f a tick for %d ticks",
			hotGrowth, hotTicks),
		setup:    setupHotRange,
		minTicks: hotTicks,
		evolve:   heatRange,
		check:    checkHotRange,
		focus:    hotNode, focusNote: "hot range",
	},
	{
		name:   "churn",
		about:  fmt.Sprintf("8 nodes, 200 shards; random growth, bulk loads and range deletes for %d ticks", churnTicks),
		setup:  setupChurn,
		ticks:  churnTicks,
		evolve: churn,
		check:  checkChurn,
	},
	bytesNewNode(),
	capacityScenario(capShards, tib),
	hotLoad(),
	windowsScenario(),
	noiseScenario(),
	fewShards(),
	fewShardsBimodal(),
	throttledScenario(),
}

// bootstrap adds nodes 1..len(perNode) and gives node i+1 a contiguous run
// of perNode[i] shards, in key order, over the whole key space. workOf
// gives the i-th shard's work.
func (s *sim) bootstrap(perNode []int, workOf func(i int) work) error {
	total := 0
	for _, c := range perNode {
		total += c
	}
	var cmds []placement.Command
	for n := range perNode {
		cmds = append(cmds, placement.AddNode{Node: placement.NodeID(n + 1)})
	}
	i := 0
	for n, count := range perNode {
		for range count {
			r := placement.KeyRange{Start: boundary(i, total), End: boundary(i+1, total)}
			cmds = append(cmds, placement.CreateShard{Range: r, Node: placement.NodeID(n + 1)})
			i++
		}
	}
	if err := s.apply(cmds...); err != nil {
		return err
	}
	i = 0
	for sh := range s.reg.View().Shards() {
		s.work[sh.ID] = workOf(i)
		i++
	}
	return nil
}

// boundary is the key between shard i-1 and shard i of total; the first
// shard starts at the smallest key and the last is unbounded. The digits
// are zero-padded to one width (at least six), so key order is number
// order.
func boundary(i, total int) []byte {
	if i == 0 || i == total {
		return nil
	}
	width := max(6, len(strconv.Itoa(total*100)))
	return fmt.Appendf(nil, "k%0*d", width, i*100)
}

// uniformKeys returns shards of key counts drawn evenly from [lo, hi),
// bytesPerKey each: middling shards that are neither split nor merged.
func (s *sim) uniformKeys(lo, hi uint64) func(int) work {
	return func(int) work { return keyed(lo + s.rng.Uint64N(hi-lo)) }
}

// --- add-empty-node ---

// The host reports no stats here, so this is the planner's count-only
// mode: it balances shard counts with the fewest transfers, and its
// promise is exact (transfers = Plan.MinMoves). With stats the planner
// balances bytes instead; bytes-new-node is the same situation with sizes.
func setupAddEmptyNode(s *sim) error {
	s.countOnly = true
	if err := s.bootstrap([]int{52, 49, 51, 48, 50, 53, 47, 50}, s.uniformKeys(20_000, 80_000)); err != nil {
		return err
	}
	return s.apply(placement.AddNode{Node: 9})
}

// checkAddEmptyNode checks that the planner makes exactly the minimum of
// transfers, and at the fastest pace the limits allow: node 9 receives
// every move, at most min(MaxActionsPerTick, MaxMovesPerNode) a plan and,
// as moves take time, at most MaxInflightPerNode in flight, each for
// ⌈move delay / interval⌉ ticks. With the default flags that is 4 moves
// every 2 ticks: ticks = 2 × ⌈minimum / 4⌉; with -instant, ⌈minimum / 5⌉.
func checkAddEmptyNode(s *sim) error {
	r := &s.res
	perPlan := min(s.limit, s.policy.MaxMovesPerNode)
	window, d := perPlan, 1
	if !s.policy.InstantMoves {
		window, d = s.policy.MaxInflightPerNode, flightTicks(s.delay, s.interval)
	}
	want := pacedTicks(r.Minimum, perPlan, window, d)
	pace := fmt.Sprintf("%d moves a plan (min(MaxActionsPerTick, MaxMovesPerNode))", perPlan)
	if !s.policy.InstantMoves {
		pace += fmt.Sprintf(", %d in flight (MaxInflightPerNode), each for %d ticks (%v a move, %v a tick)",
			window, d, s.delay, s.interval)
	}
	formula := fmt.Sprintf("the pace worked out tick by tick, %d", want)
	if w := min(perPlan, window); d == 1 || window <= perPlan {
		formula = fmt.Sprintf("%d × ⌈%d / %d⌉ = %d", d, r.Minimum, w, want)
	}
	s.note("node 9: 0 -> %d shards in %d ticks; at most %s: %s", countOf(r.Final, 9), r.Ticks, pace, formula)
	if r.Transfers != r.Minimum || r.Minimum != r.NaiveMinimum || r.Minimum <= 0 {
		return fmt.Errorf("%w: transfers %d, minimum %d (Plan.MinMoves), %d (naive)",
			errCheck, r.Transfers, r.Minimum, r.NaiveMinimum)
	}
	if r.Ticks != want {
		return fmt.Errorf("%w: %d ticks, want %s", errCheck, r.Ticks, formula)
	}
	s.note("check: transfers %d = minimum %d, ticks %d = %s: ok", r.Transfers, r.Minimum, r.Ticks, formula)
	return nil
}

// flightTicks is how many ticks a move of the given copy time stays in
// flight: it completes at the end of its d-th tick, d ≥ 1.
func flightTicks(copyTime, interval time.Duration) int {
	return max(1, int((copyTime+interval-1)/interval))
}

// pacedTicks returns the tick at whose end the last of moves transfers
// into one node completes, when each plan begins at most perPlan of them,
// at most window are in flight at once, and each is in flight for d
// ticks: the fastest the limits allow, worked out tick by tick.
func pacedTicks(moves, perPlan, window, d int) int {
	var ends []int // the tick at whose end each move in flight completes
	last := 0
	for t := 1; moves > 0; t++ {
		kept := ends[:0]
		for _, e := range ends {
			if e >= t {
				kept = append(kept, e)
			}
		}
		ends = kept
		for n := min(perPlan, window-len(ends), moves); n > 0; n-- {
			ends = append(ends, t+d-1)
			last = t + d - 1
			moves--
		}
	}
	return last
}

// --- drain-node ---

const drainedNode = 3

func setupDrainNode(s *sim) error {
	if err := s.bootstrap([]int{50, 52, 48, 51, 49, 50}, s.uniformKeys(20_000, 80_000)); err != nil {
		return err
	}
	return s.apply(placement.SetNodeState{Node: drainedNode, State: placement.NodeDraining})
}

func checkDrainNode(s *sim) error {
	r := &s.res
	held := countOf(s.samples[0].nodes, drainedNode)
	s.note("node %d: %d -> %d shards; transfers %d: each of its shards moved once",
		drainedNode, held, countOf(r.Final, drainedNode), r.Transfers)
	if n := countOf(r.Final, drainedNode); n != 0 {
		return fmt.Errorf("%w: node %d still owns %d shards", errCheck, drainedNode, n)
	}
	// An empty node can be removed: the registry agrees it owns nothing.
	if err := s.apply(placement.RemoveNode{Node: drainedNode}); err != nil {
		return fmt.Errorf("%w: %v", errCheck, err)
	}
	s.note("check: node %d empty and removed: ok", drainedNode)
	s.minBytesTarget(false)
	return s.verdict()
}

// --- hot-range ---

const (
	hotNode   = 3
	hotShard  = 44 // index, in key order, of the shard whose range turns hot
	hotGrowth = 1.5
	hotTicks  = 10
)

// hotRange is the fixed key interval that keeps getting hotter.
var hotRange = placement.KeyRange{Start: boundary(hotShard, 120), End: boundary(hotShard+1, 120)}

func setupHotRange(s *sim) error {
	base := s.uniformKeys(30_000, 50_000)
	return s.bootstrap([]int{20, 20, 20, 20, 20, 20}, func(i int) work {
		if i == hotShard {
			return keyed(40_000)
		}
		return base(i)
	})
}

// heatRange multiplies the key counts of the shards covering hotRange, for
// the first hotTicks ticks.
func heatRange(s *sim) {
	if s.tick > hotTicks {
		return
	}
	for sh := range s.reg.View().Shards() {
		if sh.Range.Overlaps(hotRange) {
			s.work[sh.ID] = keyed(uint64(float64(s.work[sh.ID].keys) * hotGrowth))
		}
	}
}

// checkHotRange checks what the planner promises once the hot range has
// stopped growing and the plan is empty. With stats known it balances
// bytes, not counts: the byte spread ends within the trigger (rebalancing
// would otherwise have started again) and every node's count within
// Policy.CountTolerance of the mean; the count imbalance is printed, not
// checked.
func checkHotRange(s *sim) error {
	r := &s.res
	hot, holders := 0, map[placement.NodeID]bool{}
	for sh := range s.reg.View().Shards() {
		if sh.Range.Overlaps(hotRange) {
			hot++
			holders[sh.Node] = true
		}
	}
	peak := 0
	for _, smp := range s.samples {
		peak = max(peak, countOf(smp.nodes, hotNode))
	}
	s.note("shards %d -> %d; node %d: %d -> %d shards (peak %d); the hot range is now %d shards on %d nodes",
		r.ShardsStart, r.ShardsEnd, hotNode, countOf(s.samples[0].nodes, hotNode), countOf(r.Final, hotNode),
		peak, hot, len(holders))
	last := r.FinalSample
	s.target(last.byteSpread <= s.policy.ImbalanceThreshold, "final byte spread %.3f within the threshold %.2f",
		last.byteSpread, s.policy.ImbalanceThreshold)
	s.countTarget(s.policy.CountTolerance)
	s.minBytesTarget(false)
	return s.verdict()
}

// --- churn ---

const (
	churnTicks = 200
	churnMean  = 40_000 // key count the workload drifts back towards
	// churnRevert and churnNoise shape each shard's random walk in log
	// space: a pull of churnRevert towards churnMean, plus Gaussian noise.
	churnRevert = 0.02
	churnNoise  = 0.08
	// Per tick: the chance of a bulk load into one shard, of a delete of a
	// run of adjacent shards, and of a delete of both halves of a shard
	// split in the last two ticks (load, split, delete: the pattern that
	// makes naive schedulers split and merge in a loop).
	pBulkLoad    = 0.5
	pRangeDelete = 0.15
	pUndoSplit   = 0.5
	deleteFactor = 0.005
)

func setupChurn(s *sim) error {
	return s.bootstrap([]int{25, 25, 25, 25, 25, 25, 25, 25}, func(int) work {
		return keyed(uint64(churnMean * math.Exp(0.4*s.rng.NormFloat64())))
	})
}

// churn moves every shard's key count a random step, then maybe bulk
// loads a shard, deletes a run of neighbours, or deletes a fresh split.
func churn(s *sim) {
	var ids []placement.ShardID
	for sh := range s.reg.View().Shards() {
		ids = append(ids, sh.ID)
		lk := math.Log(float64(max(s.work[sh.ID].keys, 1)))
		lk += churnRevert*(math.Log(churnMean)-lk) + churnNoise*s.rng.NormFloat64()
		s.work[sh.ID] = keyed(uint64(math.Min(math.Max(math.Exp(lk), 10), 1e9)))
	}
	scale := func(id placement.ShardID, f float64) {
		s.work[id] = keyed(max(uint64(float64(s.work[id].keys)*f), 10))
	}
	if s.rng.Float64() < pBulkLoad {
		scale(ids[s.rng.IntN(len(ids))], 2.5+1.5*s.rng.Float64())
	}
	if s.rng.Float64() < pRangeDelete {
		start, n := s.rng.IntN(len(ids)), 2+s.rng.IntN(4)
		for _, id := range ids[start:min(start+n, len(ids))] {
			scale(id, deleteFactor)
		}
	}
	if k := len(s.splits); k > 0 && s.splits[k-1].tick >= s.tick-1 && s.rng.Float64() < pUndoSplit {
		sp := s.splits[k-1]
		if _, ok := s.work[sp.left]; ok {
			scale(sp.left, deleteFactor)
		}
		if _, ok := s.work[sp.right]; ok {
			scale(sp.right, deleteFactor)
		}
	}
}

func checkChurn(s *sim) error {
	r := &s.res
	s.note("shards %d -> %d (peak %d); imbalance max %.3f, mean %.3f, above the threshold %.2f for at most %d ticks in a row",
		r.ShardsStart, r.ShardsEnd, r.ShardsPeak, r.MaxImbalance, r.MeanImbalance, s.policy.ImbalanceThreshold, r.LongestAbove)
	s.note("shards whose merge the embargo held back: %d", r.Deferred)
	s.note("bytes moved %s against an accumulated lower bound of %s (%s): what the churn made necessary, tick by tick (every rise counted, even one a later change undid), of which %s is left unmoved at the end; against the bound at tick 0 alone, %s (%s)",
		gib(float64(r.BytesMoved)), gib(r.AccBound), times(r.BytesMoved, r.AccBound), gib(s.boundNow()),
		gib(r.LowerBound), times(r.BytesMoved, r.LowerBound))
	s.note("moves: %.2f per shard per hour of simulated time (%d transfers, %d ticks of %v)",
		s.movesPerShardHour(r.Transfers, 0, r.Ticks), r.Transfers, r.Ticks, s.interval)
	if r.EmbargoMerges != 0 || r.Resplits != 0 {
		return fmt.Errorf("%w: %d merges of shards split in the last %d ticks, %d splits of shards merged in the last %d",
			errCheck, r.EmbargoMerges, s.policy.MergeEmbargo, r.Resplits, resplitWindow)
	}
	s.note("check: no merge within %d ticks of a split, no split within %d ticks of a merge: ok",
		s.policy.MergeEmbargo, resplitWindow)
	s.minBytesTarget(false)
	return s.verdict()
}

// --- helpers ---

func (s *sim) note(format string, args ...any) {
	s.res.Notes = append(s.res.Notes, fmt.Sprintf(format, args...))
}

// target records one of a scenario's targets as a "check:" note ending in
// "ok" or "MISSED"; a missed one fails the run (see verdict).
func (s *sim) target(ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ok {
		s.note("check: %s: ok", msg)
		return
	}
	s.note("check: %s: MISSED", msg)
	s.failed = append(s.failed, msg)
}

// verdict returns an error wrapping errCheck that lists the missed
// targets, or nil.
func (s *sim) verdict() error {
	if len(s.failed) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", errCheck, strings.Join(s.failed, "; "))
}

func countOf(nodes []placement.Node, id placement.NodeID) int {
	for _, n := range nodes {
		if n.ID == id {
			return n.Shards
		}
	}
	return 0
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
