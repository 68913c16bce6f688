package placement

import "slices"

// ledger is the plan being built: its commands and skip reasons, the
// shards it holds, how much it may hold (the limit, the current phase's
// room, the scan budget) and which windows it has reported. Every phase
// adds to the plan through it: use and hold add, full says when to stop,
// skip reports, taken says what is spoken for.
type ledger struct {
	s      *state // for the moves in flight, whose shards count as taken
	limit  int
	room   int  // what the current phase may fill the plan up to; see preview
	cut    bool // a phase stopped at its reservation, not at the limit
	second bool // the second pass over drains, splits and merges
	budget int
	out    Plan
	used   map[ShardID]bool
	// windowed is the reason windows held moves back (SkipInflightWindow,
	// SkipRateLimit or SkipPressure when all held for that one;
	// SkipInflightWindow when they held for several), 0 while none did.
	windowed       SkipReason
	windowReported []bool           // nodes already reported as SkipInflightWindow
	hotSkipped     map[ShardID]bool // hot shards already reported
	// cool is the cool-down (Policy.MoveCooldown), in force while a
	// rebalancing phase runs (see coolDuring): it reports whether a shard
	// moved too recently to move again. cooled is the shards it held.
	cool   func(ShardID) bool
	back   func(ShardID) NodeID // the node a shard left within the last day, or 0
	coolOn bool
	cooled map[ShardID]bool
	hits   int
}

// coolDuring puts the cool-down in force, or out of it: rebalancing
// phases obey it, drains, splits and merges do not.
func (l *ledger) coolDuring(on bool) { l.coolOn = on && l.cool != nil }

// returns reports whether, in a rebalancing phase, moving shard id to
// node would send it back to the node it left within MaxMoveCooldown.
func (l *ledger) returns(id ShardID, node NodeID) bool {
	return l.coolOn && l.back != nil && l.back(id) == node
}

// coolHits counts the times the cool-down held a shard back in this plan,
// so a phase can tell whether it held back any of its candidates.
func (l *ledger) coolHits() int { return l.hits }

// skipCooled reports, once a plan, the shards the cool-down held back.
func (l *ledger) skipCooled() {
	if len(l.cooled) > 0 {
		l.skip(Skip{Reason: SkipCoolingDown, Count: len(l.cooled)})
	}
}

// begin records what a plan reports whatever it plans: the imbalance and
// balance of the view (with the moves in flight), and the hysteresis flags
// the coordinator remembers, which the rebalancing phases update.
func (l *ledger) begin(imbalance float64, b Balance, rebalancing, load bool) {
	l.out.Imbalance = imbalance
	l.out.Balance = b
	l.out.Rebalancing = rebalancing
	l.out.RebalancingLoad = load
}

// plan is the plan built.
func (l *ledger) plan() Plan { return l.out }

// balance is Plan.Balance: the view's, before any planned command.
func (l *ledger) balance() Balance { return l.out.Balance }

// rebalancing and rebalancingLoad are the plan's hysteresis flags
// (Plan.Rebalancing, Plan.RebalancingLoad), for the rebalancing phases to
// set, directly or through balancer.engage and projection.finish.
func (l *ledger) rebalancing() *bool     { return &l.out.Rebalancing }
func (l *ledger) rebalancingLoad() *bool { return &l.out.RebalancingLoad }

// setMinMoves and setMinBytes record Plan.MinMoves and Plan.MinBytes.
func (l *ledger) setMinMoves(n int)    { l.out.MinMoves = n }
func (l *ledger) setMinBytes(b uint64) { l.out.MinBytes = b }

// setRoom sets what the current phase may fill the plan up to (see full).
func (l *ledger) setRoom(n int) { l.room = n }

// scanLimit is how many candidates one phase may examine (see scanBudget).
func (l *ledger) scanLimit() int { return l.budget }

// inSecondPass reports whether the plan is in its second pass over
// drains, splits and merges.
func (l *ledger) inSecondPass() bool { return l.second }

// beginSecondPass reports whether a second pass over drains, splits and
// merges runs: a phase stopped at its reservation, and the plan is not
// full. If so, it starts it. The first pass's "limit reached" for drains,
// splits and merges meant their reservation, and its "scan budget spent"
// and "node not up" counted a scan the second pass makes again: it says
// anew what still applies.
func (l *ledger) beginSecondPass() bool {
	if !l.cut || l.full() {
		return false
	}
	l.out.Skipped = slices.DeleteFunc(l.out.Skipped, func(s Skip) bool {
		switch s.Reason {
		case SkipLimitReached, SkipScanBudget:
			return s.Shard != 0 || s.Node != 0
		case SkipNodeNotUp:
			return true
		}
		return false
	})
	l.second = true
	return true
}

// full reports whether the plan holds the commands the current phase may
// add: limit, less the room reserved for the kinds of work after it.
func (l *ledger) full() bool {
	if len(l.out.Commands) < l.room {
		return false
	}
	if l.room < l.limit {
		l.cut = true // a reservation stopped it: the second pass goes on
	}
	return true
}

// limitReported reports whether the plan already lists the aggregate
// SkipLimitReached (no shard, no node).
func (l *ledger) limitReported() bool {
	return slices.Contains(l.out.Skipped, Skip{Reason: SkipLimitReached})
}

// left is how many more commands the plan may hold, reservations aside.
func (l *ledger) left() int { return l.limit - len(l.out.Commands) }

// skip records a reason. The second pass reports nothing the first did,
// and does not report the shards the first pass planned.
func (l *ledger) skip(s Skip) {
	once := l.second || s.Reason == SkipChurnBudget || s.Reason == SkipInflightWindow ||
		s.Reason == SkipRateLimit || s.Reason == SkipPressure
	if once && (s.Reason == SkipInPlan || slices.Contains(l.out.Skipped, s)) {
		return
	}
	l.out.Skipped = append(l.out.Skipped, s)
}

// use adds cmd to the plan with its reason, and holds shards (see hold).
// why's Command is set to cmd.
func (l *ledger) use(cmd Command, why Reason, shards ...ShardID) {
	l.hold(shards...)
	l.out.Commands = append(l.out.Commands, cmd)
	why.Command = cmd
	if l.out.Reasons == nil {
		// One allocation for a plan's reasons, not one a doubling: a plan
		// holds at most limit commands, and most limits are small.
		l.out.Reasons = make([]Reason, 0, min(l.limit, 64))
	}
	l.out.Reasons = append(l.out.Reasons, why)
}

// lastReason is the reason of the command planned last, for a phase to
// complete once the command is made (the gap after it, the shards left).
func (l *ledger) lastReason() *Reason { return &l.out.Reasons[len(l.out.Reasons)-1] }

// measured sets the gap before and after on the reasons of the commands
// planned from index from on: one pick's move, or a swap's two.
func (l *ledger) measured(from int, before, after float64) {
	for k := from; k < len(l.out.Reasons); k++ {
		l.out.Reasons[k].Before, l.out.Reasons[k].After = before, after
	}
}

// planned is how many commands the plan holds.
func (l *ledger) planned() int { return len(l.out.Commands) }

// hold marks shards as spoken for by the plan: no later phase plans them
// (see taken).
func (l *ledger) hold(shards ...ShardID) {
	if l.used == nil {
		l.used = make(map[ShardID]bool, 2*min(l.limit, 64))
	}
	for _, id := range shards {
		l.used[id] = true
	}
}

// notUpCount counts, for one phase, the candidates passed over because
// their node is not up. They cost no scan budget, so shards on a down
// node cannot starve the up nodes' splits and merges; their number is
// bounded apart (maxNotUp), so they cannot make a plan O(shards) either.
type notUpCount struct{ n int }

// maxNotUp is how many candidates on nodes that are not up one phase may
// pass over, per unit of scan budget.
const maxNotUp = 16

// add counts one and reports whether the phase may go on.
func (c *notUpCount) add(l *ledger) bool {
	c.n++
	return c.n <= maxNotUp*l.scanLimit()
}

// skipNotUp reports the count, once a phase.
func (l *ledger) skipNotUp(c *notUpCount) {
	if c.n > 0 {
		l.skip(Skip{Reason: SkipNodeNotUp, Count: c.n})
	}
}

// taken reports whether shard id is spoken for: planned already, moving
// (a move in flight), or, in a rebalancing phase, cooling down. Moving shards are not added to used, so that a plan
// over many moves in flight costs nothing per move but its projection; the
// few candidates each phase examines are looked up instead.
func (l *ledger) taken(id ShardID) bool {
	if l.used[id] {
		return true
	}
	if _, moving := l.s.moving(id); moving {
		return true
	}
	if l.coolOn && l.cool(id) {
		if l.cooled == nil {
			l.cooled = map[ShardID]bool{}
		}
		l.cooled[id] = true
		l.hits++
		return true
	}
	return false
}

// windowSkip reports, once per node, that a window held a move back, for
// the given reason (SkipInflightWindow, SkipRateLimit or SkipPressure).
func (l *ledger) windowSkip(i int, reason SkipReason) {
	switch l.windowed {
	case 0:
		l.windowed = reason
	case reason:
	default:
		l.windowed = SkipInflightWindow
	}
	if l.windowReported == nil {
		l.windowReported = make([]bool, len(l.s.nodes))
	}
	if !l.windowReported[i] {
		l.windowReported[i] = true
		l.out.Skipped = append(l.out.Skipped, Skip{Reason: reason, Node: l.s.nodes[i].ID})
	}
}

// capSkip is the reason a phase stopped at a node's limit: its window (as
// windowed names it), the churn budget once it refused a transfer, or its
// per-plan cap.
func (l *ledger) capSkip() Skip {
	switch {
	case l.windowed != 0:
		return Skip{Reason: l.windowed}
	case slices.Contains(l.out.Skipped, Skip{Reason: SkipChurnBudget}):
		return Skip{Reason: SkipChurnBudget} // the budget, not a cap, held the phase
	}
	return Skip{Reason: SkipNodeCap}
}

// skipHot reports, once a plan, a shard too hot to move.
func (l *ledger) skipHot(r *shardRec) {
	if l.hotSkipped[r.ID] {
		return
	}
	if l.hotSkipped == nil {
		l.hotSkipped = map[ShardID]bool{}
	}
	l.hotSkipped[r.ID] = true
	l.skip(Skip{Reason: SkipHotShard, Shard: r.ID, Node: r.Node})
}

// inPlanSkip is the reason a merge pair with a shard in the plan is left
// out: that shard is moving (a move in flight), or planned in this plan.
func (l *ledger) inPlanSkip(left, right *shardRec) Skip {
	for _, x := range [2]*shardRec{left, right} {
		if _, ok := l.s.moving(x.ID); ok {
			return Skip{Reason: SkipShardMoving, Shard: left.ID}
		}
	}
	return Skip{Reason: SkipInPlan, Shard: left.ID}
}
