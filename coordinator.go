package placement

import (
	"math"
	"time"
)

// Coordinator is the pure planner. Plan reads a View and returns the
// commands to propose and the reasons other candidates were left out. It
// starts no goroutines, takes no locks, reads no clock, logs nothing and
// does no I/O, and never modifies the View.
//
// Its memory is whether rebalancing is in progress (the hysteresis
// between Policy.ImbalanceThreshold and Policy.StopBand, and between
// Policy.LoadThreshold and Policy.LoadStopBand), which balancing phases
// are settled and on what map (see the package documentation, "The
// stability contract"), and the clock SetClock gave it, so Plan's output
// is a function of the view, the limit, the policy and those. A
// Coordinator is not safe for concurrent use.
type Coordinator struct {
	policy      Policy
	rebalancing bool
	loadBalance bool
	// settled is the phases settled at the best the shards allow, and the
	// map each settled on (see plan_settle.go); pending is what the last
	// preview left settled, which adopt makes settled.
	settled, pending [settleDims]*settleMark
	// now and elected are the Scheduler's clock and its election, for the
	// cool-down (see SetClock); zero without one.
	now, elected time.Time
}

// SetClock gives the planner a clock for the cool-down
// (Policy.MoveCooldown): a shard is cooling down until now is MoveCooldown
// past the log time of its last move, and, once elected is set, past
// elected too, so a new leader whose clock runs ahead of its
// predecessor's never ends a cool-down early. The Scheduler sets it every
// tick. Without it (the zero times) the planner uses the newest log time
// its view applied, which keeps Plan a function of the view.
func (c *Coordinator) SetClock(now, elected time.Time) { c.now, c.elected = now, elected }

// NewCoordinator returns a planner for p. p should pass Policy.Validate;
// the Scheduler's constructor checks it.
func NewCoordinator(p Policy) *Coordinator {
	return &Coordinator{policy: p}
}

// Policy returns the coordinator's policy.
func (c *Coordinator) Policy() Policy { return c.policy }

// Rebalancing reports whether the last plan left rebalancing (by bytes,
// or by counts when no stats are known) or rebalancing by load in
// progress.
func (c *Coordinator) Rebalancing() bool { return c.rebalancing || c.loadBalance }

// ResumeRebalancing makes the next plan rebalance down to the stop bands
// even if the spreads are under the triggers. The Scheduler no longer
// calls it (see Resume); it is for hosts that drive a Coordinator
// themselves without recording SetRebalancing.
func (c *Coordinator) ResumeRebalancing() { c.rebalancing, c.loadBalance = true, true }

// Resume sets the hysteresis flags from the log: the last SetRebalancing
// that v's registry applied. A new leader calls it once its map has caught
// up (after a barrier), so it goes on with exactly the rebalance its
// predecessor recorded as in progress, and starts none under the trigger.
func (c *Coordinator) Resume(v View) {
	r := v.Rebalancing()
	c.rebalancing, c.loadBalance = r.Bytes, r.Load
}

// Plan returns at most limit commands for v: moves off draining nodes
// first, then splits of oversized and hot shards, merges of cold
// neighbours (bringing them onto one node first), and transfers that even
// out bytes relative to capacity (shard counts when no stats are known)
// and load. A limit below 1 plans nothing.
func (c *Coordinator) Plan(v View, limit int) Plan {
	p := c.preview(v, limit, nil)
	c.adopt(p)
	return p
}

// adopt takes p's hysteresis flags as the coordinator's memory. The
// Scheduler plans with preview and adopts only once the plan is applied,
// so a proposal that fails changes nothing.
func (c *Coordinator) adopt(p Plan) {
	c.rebalancing, c.loadBalance = p.Rebalancing, p.RebalancingLoad
	c.settled = c.pending
}

// preview is Plan without updating the hysteresis flags or the settled
// phases: it leaves those it would set in c.pending, for adopt. If churn
// is not nil it also sets *churn to what Churn would return, from the same
// set-up.
func (c *Coordinator) preview(v View, limit int, churn *ChurnState) Plan {
	pl := c.start(v, limit)
	defer scratchPool.Put(pl.sc)
	s := pl.s
	if churn != nil {
		*churn = pl.churnState(c.clock(s))
	}
	if limit < 1 {
		pl.led.skip(Skip{Reason: SkipLimitReached})
		c.pending = c.settled // nothing was planned: nothing changed
		return pl.led.plan()
	}
	// Each kind of work has room reserved in the plan (a quarter of the
	// limit each, with a limit of 4 or more), so none waits on another for
	// more than a tick: drains, splits and merges first stop short of the
	// later kinds' reservations; what the reservations leave unused goes,
	// in a second pass, to drains, splits and merges in that order.
	q := 0
	if limit >= 4 {
		q = min(limit, maxPlanned) / 4
	}
	now := c.clock(s)
	quiet := now != 0 && !c.policy.rebalanceOpen(time.Unix(0, now))
	pl.startChurn(now)
	for _, ph := range phases {
		pl.led.setRoom(limit - ph.reserved*q)
		pl.led.coolDuring(ph.balances)
		pl.rebalancingPhase = ph.balances
		if ph.balances && pl.rebalancingHeld(quiet) {
			continue
		}
		if ph.balances && !pl.bal.made() {
			// Made once merges are planned: see balancer.
			pl.bal = newBalancer(&pl.proj, pl.pol.CountTolerance, pl.pol.MinGain)
		}
		ph.run(pl)
	}
	pl.led.coolDuring(false)
	if pl.led.beginSecondPass() {
		for _, ph := range phases {
			if ph.again {
				ph.run(pl)
			}
		}
	}
	pl.led.skipCooled()
	var dims [settleDims]*dimension
	if pl.bal.made() {
		dims = [settleDims]*dimension{settleBytes: pl.bal.bytesDim(), settleLoad: pl.bal.loadDim(), settleRepair: pl.bal.bytesDim()}
	}
	c.pending = pl.settle.close(&pl.proj, s, dims)
	return pl.led.plan()
}

// start sets up a plan of at most limit commands over v: the projection
// with the moves in flight, the windows, the cool-down and what the plan
// reports whatever it plans; no phase has run. It reads the coordinator
// and changes nothing in it, so Explain shares it with Plan. The caller
// returns pl.sc to scratchPool.
func (c *Coordinator) start(v View, limit int) *planner {
	s := v.state()
	pl := &planner{
		led:    ledger{s: s, limit: limit, budget: scanBudget(limit)},
		pol:    c.policy,
		s:      s,
		settle: settling{prior: c.settled},
	}
	pl.look = lookups{s: s, plan: &pl.led}
	if (c.policy.MoveCooldown > 0 || c.policy.churnOn()) && s.recent.len() > 0 {
		pl.led.cool, pl.led.back = c.cooling(s)
	}
	pl.sc = getScratch()
	pl.proj.measure(s.nodes, pl.sc)
	imbalance := pl.proj.imbalance() // imbalanceOf(s.nodes), from measure's pass
	pl.inflight()
	if s.moves.Len() > 0 {
		// Moves in flight count as made, for the trigger as for the rest.
		imbalance = pl.proj.projectedImbalance()
	}
	pl.led.begin(imbalance, pl.proj.balance(), c.rebalancing, c.loadBalance)
	return pl
}

// phase is one step of a plan, run in the order of phases. Each may fill
// the plan up to its room: the limit, less the quarters of it reserved for
// the kinds of work after it (see preview).
type phase struct {
	name     string
	reserved int  // quarters of the limit kept for the later kinds of work
	again    bool // runs again, in a second pass, on what the reservations left
	balances bool // a rebalancing phase: it uses the balancer
	run      func(*planner)
}

// phases are a plan's steps. Each phase is in its own file (plan_NAME.go),
// and does nothing where it does not apply: counts when bytes are known,
// bytes and repair when they are not, load when no load is reported.
var phases = [...]phase{
	{name: "drain", reserved: 3, again: true, run: (*planner).drain},
	{name: "split", reserved: 2, again: true, run: (*planner).split},
	{name: "merge", reserved: 1, again: true, run: (*planner).merge},
	{name: "counts", balances: true, run: (*planner).rebalance},
	{name: "bytes", balances: true, run: (*planner).rebalanceBytes},
	{name: "repair", balances: true, run: (*planner).repairCounts},
	{name: "load", balances: true, run: (*planner).rebalanceLoad},
}

// scanBudget bounds how many candidates one phase examines, so a plan's
// cost follows its decisions rather than the size of the map. The limit is
// clamped so that a huge one neither overflows nor sizes anything.
func scanBudget(limit int) int { return 64 + 8*min(limit, maxPlanned) }

// maxPlanned caps what a plan sizes up front from its limit.
const maxPlanned = 1 << 16

// planner is the working state of one Plan call: the components the
// phases use, each with its own contract, and what only wires them
// together (transfer, the caps and windows as a phase sees them in
// plan_inflight.go). The phases are its methods, one file each. The
// components are named fields, not embedded: a phase reaches one only
// through its methods. A bare field of another owner no longer compiles,
// and one reached by its owner's name (pl.proj.counts) stands out.
type planner struct {
	led  ledger     // the plan being built
	look lookups    // candidate shards in the registry's B-trees
	proj projection // the map as the plan leaves it
	bal  balancer   // for the rebalancing phases only: made after merges
	// settle is the phases settled before this plan and after it.
	settle settling
	pol    Policy
	s      *state
	sc     *scratch // per-node working slices
	// churn is the churn budget left to the rebalancing phases (see
	// plan_churn.go); rebalancingPhase is set while one runs.
	churn            churnGate
	rebalancingPhase bool
}

// transfer plans moving r to the node at index dst, for the reason why
// (its phase, dimension and partner; the shard's stats are filled in), and
// takes the shards held with it (see use). A move that would overflow a
// byte window is left out: it returns the windows that refused it (see
// fits), or none when the move is planned.
func (pl *planner) transfer(r *shardRec, src, dst int, why Reason, held ...ShardID) refusal {
	if w := pl.fits(r, src, dst); w != noRefusal {
		return w
	}
	to := pl.s.nodes[dst].ID
	pl.led.use(PlaceTransfer{Shard: r.ID, Epoch: r.Epoch, From: r.Node, To: to}, pl.weighed(r, why), r.ID)
	if len(held) > 0 {
		pl.led.hold(held...)
	}
	pl.churnSpend(pl.proj.sizeOf(r))
	pl.settle.planned(src, dst, pl.s.nodes[src].State == NodeUp, pl.proj.sizeOf(r), pl.proj.loadOf(r))
	// It stays in flight once the plan applies if moves take time.
	pl.proj.transfer(r, src, dst, pl.windows() && pl.s.nodes[src].State == NodeUp)
	return noRefusal
}

// weighed is why with r's stats as the planner weighs them: the mean
// known ones when r's are unknown.
func (pl *planner) weighed(r *shardRec, why Reason) Reason {
	why.Bytes, why.Keys, why.Load = uint64(pl.proj.sizeOf(r)), r.keys, pl.proj.loadOf(r)
	why.Estimated = !r.known
	return why
}

// nodeUp reports whether id is an up node, and its index.
func (pl *planner) nodeUp(id NodeID) (int, bool) {
	i := pl.s.nodeIndex(id)
	return i, i >= 0 && pl.s.nodes[i].State == NodeUp
}

// fraction returns ⌊f × x⌋, saturating.
func fraction(f float64, x uint64) uint64 {
	v := f * float64(x)
	if v >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(v)
}

// cooling returns the cool-down's tests for a plan over s: whether a
// shard is cooling down, and the node a shard left less than
// MaxMoveCooldown ago (0 if none), which rebalancing never sends it back
// to.
//
// A shard cools down while it moved less than MoveCooldown ago by the
// clock SetClock gave (never behind the newest log time s applied). A new
// leader also holds it until MoveCooldown after its election, if the move
// was within MoveCooldown of the newest log time, so a clock that runs
// ahead of its predecessor's never ends a cool-down early. A shard that
// moved before an up node joined or came up is not cooling: the map
// changed since, and the new node needs shards (a node that joins right
// after a rebalance would otherwise wait out the cool-down empty). While a
// churn budget is set, a shard that moved within ChurnWindow cools down
// too, whatever joined since.
func (c *Coordinator) cooling(s *state) (cool func(ShardID) bool, back func(ShardID) NodeID) {
	d := int64(c.policy.MoveCooldown)
	last := s.recent.last
	now := last
	if !c.now.IsZero() {
		now = max(now, c.now.UnixNano())
	}
	var elected int64
	if !c.elected.IsZero() {
		elected = c.elected.UnixNano()
	}
	var joined int64 // the newest time an up node took its state
	for i := range s.nodes {
		if s.nodes[i].State == NodeUp {
			joined = max(joined, s.nodes[i].since)
		}
	}
	churn := c.policy.churnOn()
	cool = func(id ShardID) bool {
		at, ok := s.recent.movedAt(id)
		switch {
		case !ok:
			return false
		case churn && now-at < int64(ChurnWindow):
			// The record keeps a shard's last move only: a second move
			// within the hour would hide the first from the churn budget.
			return true
		case at < joined:
			return false
		}
		return now-at < d || (elected != 0 && now-elected < d && last-at < d)
	}
	back = func(id ShardID) NodeID {
		if at, ok := s.recent.movedAt(id); ok && now-at < int64(MaxMoveCooldown) {
			return s.recent.left(id)
		}
		return 0
	}
	return cool, back
}
