package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// ShardExplanation is Coordinator.Explain's answer for one shard: where it
// is, what the planner knows of it, and, for every up node other than its
// owner, whether the next plan may move it there and what that would do
// to the spreads.
type ShardExplanation struct {
	// Shard is the shard as the view holds it; MovingTo is set while a
	// move is in flight.
	Shard Shard
	// OwnerState is the state of the shard's owner.
	OwnerState NodeState
	// Stats are the shard's soft stats, and StatsKnown whether the host
	// reported any (or the registry estimated them: Stats.Estimated).
	Stats      Stats
	StatsKnown bool
	// Bytes and Load are the shard's size and load as the planner counts
	// them: its stats, or the mean known ones when its stats are unknown.
	Bytes, Load float64
	// Hot: its load alone exceeds its owner's fair share of the load
	// (the split phase splits it at the host's hint; the load phase moves
	// it only where it lowers the hotter node of the pair).
	Hot bool
	// SplitDue: its stats exceed a split threshold (Policy.SplitKeys or
	// SplitBytes); the split phase splits it unless they are estimated.
	SplitDue bool
	// RecentlySplit: it was split or created less than
	// Policy.MergeEmbargo stats reports ago, so it is not merged.
	RecentlySplit bool
	// MovedAt is the log time of its last move within MaxMoveCooldown
	// (zero if none), Left the node it left then, which rebalancing never
	// sends it back to, and CoolingUntil, when it is cooling down
	// (Policy.MoveCooldown), when the cool-down ends at the earliest (zero
	// when it is not cooling).
	MovedAt      time.Time
	Left         NodeID
	CoolingUntil time.Time
	// Balance is the spread of each dimension over the up nodes now, with
	// the moves in flight counted as made (Plan.Balance).
	Balance Balance
	// Candidates are the verdicts on moving the shard to each up node
	// other than its owner, best first: the moves allowed first, then, for
	// a drain, the emptiest node for its capacity share (the one the drain
	// takes), and for a rebalance the smallest spread of the dimension
	// balanced (bytes, or counts when no bytes are known), then of load;
	// ties to the lowest node ID.
	Candidates []MoveVerdict
}

// MoveVerdict is the verdict on moving one shard to one node.
type MoveVerdict struct {
	// Node is the destination.
	Node NodeID
	// Allowed: the phase named may make this move in the next plan, as a
	// single transfer, if it reaches this pair (a plan moves a few shards
	// a tick, the ones that fit its pair best first).
	Allowed bool
	// Phase is the phase that would make the move, or whose rule refuses
	// it: "drain", "counts", "bytes", "repair" or "load" (see the package
	// documentation, "How the planner balances"); "" when no phase moves
	// shards of the owner (a down node, a shard in flight).
	Phase string
	// Reason is why the move is not allowed; 0 when it is.
	Reason SkipReason
	// Balance is the spread of each dimension over the up nodes had the
	// shard moved there (with the moves in flight counted as made).
	Balance Balance
}

// Explain says why shard id is where it is and where the next plan may
// move it: its owner and state, and for every up node other than the
// owner the verdict of the planner's own rules on moving it there (in
// flight windows, count bands, the cool-down, the gain a move must make,
// ...) with the spreads the move would leave. It returns an error
// wrapping ErrUnknownShard when v holds no such shard.
//
// Explain is pure: it changes nothing in the Coordinator (its hysteresis,
// settled phases and clock are read, not written), so the Plan that
// follows is the same with or without it. The verdicts are the planner's
// rules for a single move, judged on the map as the next plan begins
// (with the moves in flight counted as made, before its drains, splits
// and merges): a transfer the next plan makes as its first move is one
// Explain allows. Later moves of a plan are judged on the map as the
// earlier ones leave it; swaps (two shards trading places where the
// count band refuses a single move) are reported as SkipCountBand. Its
// cost is bounded by the nodes, not the shards: a few B-tree lookups and
// O(1) per up node.
func (c *Coordinator) Explain(v View, id ShardID) (ShardExplanation, error) {
	s := v.state()
	r, ok := s.shard(id)
	if !ok {
		return ShardExplanation{}, fmt.Errorf("%w: shard %d", ErrUnknownShard, id)
	}
	pl := c.start(v, 1)
	defer scratchPool.Put(pl.sc)
	pl.bal = newBalancer(&pl.proj, pl.pol.CountTolerance, pl.pol.MinGain)
	o := s.nodeIndex(r.Node)
	owner := &s.nodes[o]
	st, known := s.stats(r)
	out := ShardExplanation{
		Shard:         s.public(r),
		OwnerState:    owner.State,
		Stats:         st,
		StatsKnown:    known,
		Bytes:         pl.proj.sizeOf(r),
		Load:          pl.proj.loadOf(r),
		SplitDue:      known && (r.keys > pl.pol.SplitKeys || r.bytes > pl.pol.SplitBytes),
		RecentlySplit: uint32(r.sinceSplit) < pl.pol.MergeEmbargo,
		Balance:       pl.led.balance(),
	}
	if owner.State == NodeUp && known {
		out.Hot = float64(r.load) > pl.proj.fairLoad(o)
	}
	c.explainCooling(s, r, &out)
	now := c.clock(s)
	pl.startChurn(now)
	ex := newExplainer(pl, r, o)
	ex.quiet = now != 0 && !c.policy.rebalanceOpen(time.Unix(0, now))
	out.Candidates = make([]MoveVerdict, 0, len(pl.proj.upNodes()))
	for _, d := range pl.proj.upNodes() {
		if d == o {
			continue
		}
		vd := ex.verdict(d)
		vd.Node = s.nodes[d].ID
		vd.Balance = ex.after(d)
		out.Candidates = append(out.Candidates, vd)
	}
	ex.sort(out.Candidates)
	return out, nil
}

// explainCooling fills in the shard's last move and its cool-down, as
// Coordinator.cooling judges it.
func (c *Coordinator) explainCooling(s *state, r *shardRec, out *ShardExplanation) {
	at, ok := s.recent.movedAt(r.ID)
	if !ok {
		return
	}
	out.MovedAt, out.Left = unixTime(at), s.recent.left(r.ID)
	if c.policy.MoveCooldown <= 0 {
		return
	}
	cool, _ := c.cooling(s)
	if !cool(r.ID) {
		return
	}
	d := int64(c.policy.MoveCooldown)
	until := at + d
	if !c.elected.IsZero() {
		// A new leader also holds it until MoveCooldown after its
		// election (see cooling).
		until = max(until, c.elected.UnixNano()+d)
	}
	out.CoolingUntil = unixTime(until)
}

// explainer judges the moves of one shard r, on node o, for Explain.
type explainer struct {
	pl   *planner
	r    *shardRec
	o    int
	x, l float64 // r's bytes and load as the planner counts them
	// moving is r's move in flight, if any; cooling whether the
	// cool-down holds r back from rebalancing.
	moving  bool
	cooling bool
	// quiet: the time is outside Policy.RebalanceWindows.
	quiet bool
	// The phases that run, with the state they run in: settled or
	// within tolerance (a reason for every move), or running.
	counts, bytes, repair, load phaseVerdict
	band                        countBand // the counts phase's, when it runs
	ext                         [3]spreadExtremes
}

// phaseVerdict is how a rebalancing phase stands for every move: 0 when
// it runs and judges each move, else the reason it moves nothing (not
// engaged: SkipWithinTolerance; settled: SkipSettled). A phase that does
// not apply (counts with bytes known) has off set.
type phaseVerdict struct {
	off    bool
	reason SkipReason
}

func newExplainer(pl *planner, r *shardRec, o int) *explainer {
	ex := &explainer{pl: pl, r: r, o: o, x: pl.proj.sizeOf(r), l: pl.proj.loadOf(r)}
	_, ex.moving = pl.s.moving(r.ID)
	ex.ext = [3]spreadExtremes{
		newSpreadExtremes(&pl.proj, pl.proj.counts, nil),
		newSpreadExtremes(&pl.proj, nil, pl.proj.bytes),
		newSpreadExtremes(&pl.proj, nil, pl.proj.load),
	}
	if pl.s.nodes[o].State != NodeUp || ex.moving {
		return ex
	}
	pl.led.coolDuring(true)
	ex.cooling = pl.led.coolOn && pl.led.cool(r.ID)
	ex.runPhases()
	return ex
}

// runPhases sets how each rebalancing phase stands, for every move.
func (ex *explainer) runPhases() {
	ex.counts, ex.bytes, ex.repair, ex.load = ex.countsPhase(), ex.bytesPhase(), ex.repairPhase(), ex.loadPhase()
}

// countsPhase is how the counts phase stands (see planner.rebalance).
func (ex *explainer) countsPhase() phaseVerdict {
	pl := ex.pl
	if pl.proj.hasBytes() {
		return phaseVerdict{off: true}
	}
	total := pl.bal.shardTotal()
	on := *pl.led.rebalancing() || pl.led.balance().Count > pl.pol.ImbalanceThreshold
	if len(pl.proj.upNodes()) < 2 || total == 0 || !on {
		return phaseVerdict{reason: SkipWithinTolerance}
	}
	ex.band = pl.countBand(total)
	if ex.band.moves == 0 {
		return phaseVerdict{reason: SkipWithinTolerance}
	}
	return phaseVerdict{}
}

// bytesPhase is how the bytes phase stands (see planner.rebalanceBytes).
func (ex *explainer) bytesPhase() phaseVerdict {
	pl := ex.pl
	if !pl.proj.hasBytes() {
		return phaseVerdict{off: true}
	}
	return ex.ratioPhase(pl.bal.bytesDim(), *pl.led.rebalancing(), settleBytes, pl.led.balance().Bytes, pl.proj.byteVals(),
		pl.pol.ImbalanceThreshold, pl.pol.StopBand)
}

// ratioPhase is how a phase balancing d stands: running, settled, or
// within tolerance (see engage and settledCrossing), its hysteresis on
// or not (a copy: Explain changes nothing).
func (ex *explainer) ratioPhase(d *dimension, on bool, k settleDim, spread float64, vals []float64, trigger, stop float64) phaseVerdict {
	pl := ex.pl
	switch {
	case len(pl.proj.upNodes()) < 2 || d.empty():
		return phaseVerdict{reason: SkipWithinTolerance}
	case pl.settledCrossing(on, k, d, spread, trigger):
		return phaseVerdict{reason: SkipSettled}
	case !pl.bal.engage(&on, spread, vals, trigger, stop):
		return phaseVerdict{reason: SkipWithinTolerance}
	}
	return phaseVerdict{}
}

// repairPhase is how the count repair stands (see planner.repairCounts).
func (ex *explainer) repairPhase() phaseVerdict {
	pl := ex.pl
	if !pl.proj.hasBytes() || len(pl.proj.upNodes()) < 2 || pl.bal.shardTotal() == 0 {
		return phaseVerdict{off: true}
	}
	for _, i := range pl.proj.upNodes() {
		if lo, hi := pl.bal.countBounds(i); pl.proj.count(i) < lo || pl.proj.count(i) > hi {
			if pl.settle.holds(settleRepair, &pl.proj, pl.s, pl.bal.bytesDim(), pl.pol.ImbalanceThreshold) {
				return phaseVerdict{reason: SkipSettled}
			}
			return phaseVerdict{}
		}
	}
	return phaseVerdict{reason: SkipWithinTolerance}
}

// loadPhase is how the load phase stands (see planner.rebalanceLoad).
func (ex *explainer) loadPhase() phaseVerdict {
	pl := ex.pl
	if pl.bal.loadDim() == nil {
		return phaseVerdict{off: true}
	}
	return ex.ratioPhase(pl.bal.loadDim(), *pl.led.rebalancingLoad(), settleLoad, pl.led.balance().Load, pl.proj.loadVals(),
		pl.pol.LoadThreshold, pl.pol.LoadStopBand)
}

// verdict judges moving the shard to up node d.
func (ex *explainer) verdict(d int) MoveVerdict {
	pl, o := ex.pl, ex.o
	switch {
	case ex.moving:
		return MoveVerdict{Reason: SkipShardMoving}
	case pl.s.nodes[o].State == NodeDown:
		return MoveVerdict{Reason: SkipNodeNotUp}
	case pl.s.nodes[o].State != NodeUp:
		// A drain, or a lost node's re-homing: any up node with room.
		if reason := ex.windows(d); reason != 0 {
			return MoveVerdict{Phase: "drain", Reason: reason}
		}
		return MoveVerdict{Phase: "drain", Allowed: true}
	}
	// The rebalancing phases, in the order a plan runs them: the first
	// that allows the move makes it; else the reason of the first that
	// runs, or of the dimension balanced when none does.
	var first, fallback MoveVerdict
	for k, state := range [...]phaseVerdict{ex.counts, ex.bytes, ex.repair, ex.load} {
		if state.off {
			continue
		}
		v := MoveVerdict{Phase: explainPhases[k], Reason: state.reason}
		if v.Reason == 0 {
			v.Reason = ex.rebalanceRules(d, k)
			if v.Reason == 0 {
				v.Allowed = true
				return v
			}
			if first.Phase == "" {
				first = v
			}
		}
		if fallback.Phase == "" {
			fallback = v
		}
	}
	if first.Phase != "" {
		return first
	}
	return fallback
}

// explainPhases are the rebalancing phases' names, in the order a plan
// runs them (see phases).
var explainPhases = [...]string{"counts", "bytes", "repair", "load"}

// rebalanceRules judges a rebalancing move to d: the rules of phase k (of
// explainPhases), then quiet hours, the cool-down, the windows and the
// churn budget, which every rebalancing move obeys.
func (ex *explainer) rebalanceRules(d, k int) SkipReason {
	var reason SkipReason
	switch k {
	case 0:
		reason = ex.judgeCounts(d)
	case 1:
		reason = ex.judgeBytes(d)
	case 2:
		reason = ex.judgeRepair(d)
	default:
		reason = ex.judgeLoad(d)
	}
	if reason != 0 {
		return reason
	}
	switch {
	case ex.quiet:
		return SkipQuietHours
	case ex.cooling:
		return SkipCoolingDown
	}
	ex.pl.rebalancingPhase = true // the churn budget judges it too
	defer func() { ex.pl.rebalancingPhase = false }()
	return ex.windows(d)
}

// windows judges the in-flight windows of a move to d (see outFull,
// inFull and fits): the limit that refuses it (SkipInflightWindow,
// SkipRateLimit or SkipPressure; see heldBy), or, for a rebalancing move,
// SkipChurnBudget when the budget does.
func (ex *explainer) windows(d int) SkipReason {
	pl := ex.pl
	switch w := pl.fits(ex.r, ex.o, d); {
	case pl.outFull(ex.o):
		return pl.proj.heldBy(ex.o, true, 0)
	case pl.inFull(d):
		return pl.proj.heldBy(d, false, 0)
	case w == noRefusal:
		return 0
	case w == churnRefused:
		return SkipChurnBudget
	case w&dstWindow != 0:
		return pl.proj.heldBy(d, false, ex.x)
	}
	return pl.proj.heldBy(ex.o, true, ex.x)
}

// judgeCounts is the counts phase's rule: from a node above its target
// to one below (see rebalance).
func (ex *explainer) judgeCounts(d int) SkipReason {
	switch {
	case ex.pl.proj.count(ex.o) <= ex.band.target[ex.o]:
		return SkipNotAbove
	case ex.pl.proj.count(d) >= ex.band.target[d]:
		return SkipNotBelow
	}
	return 0
}

// judgeBytes is the bytes phase's rule for a single move (see pickBytes).
func (ex *explainer) judgeBytes(d int) SkipReason {
	pl, o := ex.pl, ex.o
	b := pl.bal.bytesDim()
	if r := ratioRule(b, o, d); r != 0 {
		return r
	}
	if srcOK, dstOK := pl.bal.countKeeps(o, d); !srcOK || !dstOK {
		return SkipCountBand
	}
	return pl.bytesMove(ex.r, o, d, pl.bytesLimit(o, d))
}

// judgeRepair is the count repair's rule (see pickCount).
func (ex *explainer) judgeRepair(d int) SkipReason {
	pl, o := ex.pl, ex.o
	if r := ratioRule(pl.bal.countDim(), o, d); r != 0 {
		return r
	}
	_, srcHi := pl.bal.countBounds(o)
	dstLo, _ := pl.bal.countBounds(d)
	if pl.proj.count(o) <= srcHi && pl.proj.count(d) >= dstLo {
		return SkipWithinTolerance // the move would repair nothing
	}
	srcOK, dstOK := pl.bal.countKeeps(o, d)
	if !dstOK || !srcOK || pl.bal.countDim().narrows(o, d) <= 1 {
		return SkipCountBand
	}
	if pl.led.returns(ex.r.ID, pl.s.nodes[d].ID) {
		return SkipReturnsBack
	}
	if !pl.bal.bytesDim().keeps(o, d, ex.x, pl.bytesSlack()) || !pl.bal.loadDim().keeps(o, d, ex.l, pl.loadSlack()) {
		return SkipOtherBand
	}
	return 0
}

// judgeLoad is the load phase's rule for a single move (see pickLoad and
// moveHot).
func (ex *explainer) judgeLoad(d int) SkipReason {
	pl, o := ex.pl, ex.o
	if r := ratioRule(pl.bal.loadDim(), o, d); r != 0 {
		return r
	}
	lp := pl.loadPair(o, d)
	if lp.tooHot(ex.r) {
		return SkipHotShard
	}
	return pl.loadMove(ex.r, o, d, lp.limitOf(ex.r), lp.aim)
}

// ratioRule is the pair loop's: a move goes from a node above its target
// in the phase's dimension to one below (see ratioLoop).
func ratioRule(dim *dimension, src, dst int) SkipReason {
	switch {
	case !ratioAbove(src, dim.ratio(src)):
		return SkipNotAbove
	case !ratioBelow(dst, dim.ratio(dst)):
		return SkipNotBelow
	}
	return 0
}

// after is the balance had the shard moved to d: O(1), from the extremes
// kept per dimension.
func (ex *explainer) after(d int) Balance {
	fromUp := ex.pl.s.nodes[ex.o].State == NodeUp
	return Balance{
		Count: ex.ext[0].after(ex.o, d, 1, fromUp),
		Bytes: ex.ext[1].after(ex.o, d, ex.x, fromUp),
		Load:  ex.ext[2].after(ex.o, d, ex.l, fromUp),
	}
}

// sort orders the verdicts best first (see ShardExplanation.Candidates).
func (ex *explainer) sort(vs []MoveVerdict) {
	pl := ex.pl
	drain := pl.s.nodes[ex.o].State != NodeUp
	primary := func(b Balance) float64 {
		if pl.proj.hasBytes() {
			return b.Bytes
		}
		return b.Count
	}
	slices.SortFunc(vs, func(a, b MoveVerdict) int {
		if a.Allowed != b.Allowed {
			if a.Allowed {
				return -1
			}
			return 1
		}
		if drain {
			if c := cmp.Compare(pl.proj.drainKey(pl.s.nodeIndex(a.Node)), pl.proj.drainKey(pl.s.nodeIndex(b.Node))); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(primary(a.Balance), primary(b.Balance)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Balance.Load, b.Balance.Load); c != 0 {
			return c
		}
		return cmp.Compare(a.Node, b.Node)
	})
}

// spreadExtremes is one dimension over the up nodes, kept so that the
// spread after one move is O(1): the total, and the few highest and
// lowest ratios (amount × inverse share) with their nodes. A move changes
// two nodes, so with three of each kept, one unchanged extreme remains.
type spreadExtremes struct {
	pr     *projection
	ints   []int
	vals   []float64
	total  float64
	hi, lo [3]extremeAt
	n      int // how many of hi and lo are set
}

type extremeAt struct {
	i int
	r float64
}

func newSpreadExtremes(pr *projection, ints []int, vals []float64) spreadExtremes {
	e := spreadExtremes{pr: pr, ints: ints, vals: vals}
	if ints == nil && vals == nil {
		return e
	}
	for _, i := range pr.upNodes() {
		v := e.at(i)
		e.total += v
		e.offer(extremeAt{i: i, r: v * pr.inv[i]})
	}
	return e
}

func (e *spreadExtremes) at(i int) float64 {
	if e.ints != nil {
		return float64(e.ints[i])
	}
	return e.vals[i]
}

// offer keeps it among the three highest and the three lowest ratios,
// the lower node index first on ties.
func (e *spreadExtremes) offer(it extremeAt) {
	if e.n < len(e.hi) {
		e.hi[e.n], e.lo[e.n] = it, it
		e.n++
	} else {
		if it.r > e.hi[e.n-1].r {
			e.hi[e.n-1] = it
		}
		if it.r < e.lo[e.n-1].r {
			e.lo[e.n-1] = it
		}
	}
	for k := e.n - 1; k > 0 && e.hi[k].r > e.hi[k-1].r; k-- {
		e.hi[k], e.hi[k-1] = e.hi[k-1], e.hi[k]
	}
	for k := e.n - 1; k > 0 && e.lo[k].r < e.lo[k-1].r; k-- {
		e.lo[k], e.lo[k-1] = e.lo[k-1], e.lo[k]
	}
}

// after is the spread (see Balance) once x has moved from node o (up when
// fromUp; else x joins the up nodes) to up node d; 0 for a dimension that
// is not measured.
func (e *spreadExtremes) after(o, d int, x float64, fromUp bool) float64 {
	if e.ints == nil && e.vals == nil || len(e.pr.upNodes()) < 2 {
		return 0
	}
	total := e.total
	if !fromUp {
		total += x
	}
	if total <= 0 {
		return 0
	}
	inv := e.pr.inv
	hi, lo := (e.at(d)+x)*inv[d], (e.at(d)+x)*inv[d]
	if fromUp {
		r := (e.at(o) - x) * inv[o]
		hi, lo = math.Max(hi, r), math.Min(lo, r)
	}
	for k := range e.n {
		if it := e.hi[k]; it.i != d && (it.i != o || !fromUp) {
			hi = math.Max(hi, it.r)
			break
		}
	}
	for k := range e.n {
		if it := e.lo[k]; it.i != d && (it.i != o || !fromUp) {
			lo = math.Min(lo, it.r)
			break
		}
	}
	return (hi - lo) / total
}
