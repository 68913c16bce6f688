package placement

import (
	"math"
	"time"
)

// ChurnState is the churn budget (Policy.ChurnBytesPerHour,
// ChurnShardsPerHour) as a plan over a view would find it: what counts as
// moved in the last ChurnWindow, and what is allowed.
//
// The registry's record of recent moves keeps the log time of each shard's
// last move and the node it left. A move counts from the log time it
// completed, and a move in flight counts until then, so the budget
// survives a change of leader. A move out of a node being emptied
// (draining, lost, or since removed) is not counted, when it completed or
// while in flight: drains and re-homing neither use the budget nor are
// held by it. A move out of a down node counts: rebalancing moves out of
// it stay in flight.
//
// A completed move counts at its shard's bytes when it completed, as the
// registry knew them; a move in flight at its shard's bytes now. Counting
// reads the moves of one partial minute, at most 60 per-minute sums, and
// the moves in flight, whatever the number of moves in the hour. While a
// budget is set, rebalancing does not move a shard that moved within the
// hour, so a shard's record is never overwritten by another rebalancing
// move within it.
//
// The record is approximate where it cannot know more:
//   - a rebalancing move whose source began to drain before the move
//     completed counts as the drain's;
//   - a drain of a shard that rebalancing moved within the hour counts in
//     that move's stead, at the drain's time and size;
//   - a merge forgets the merged-away shard's move;
//   - a replica that restored a snapshot, which carries neither stats nor
//     why a shard moved, counts every move in it, at the mean known size
//     (as it does a shard of unknown size).
type ChurnState struct {
	// At is the time the hour ends: the Coordinator's clock (SetClock),
	// never behind the newest log time the view applied.
	At time.Time
	// Bytes and Shards are the bytes and shards moved in the hour before
	// At, with the moves in flight.
	Bytes  uint64
	Shards int
	// AllowedBytes and AllowedShards are the budgets: the policy's
	// fractions of all the bytes and all the shards, rounded down; 0 when
	// that budget is off (see BytesLimited, ShardsLimited).
	AllowedBytes  uint64
	AllowedShards int
	// BytesLimited and ShardsLimited report which budgets are set.
	BytesLimited, ShardsLimited bool
	// Open reports whether At is within Policy.RebalanceWindows (always,
	// with none).
	Open bool
}

// Spent reports whether a set budget is used up: rebalancing plans no
// more transfers until moves age out of the hour.
func (c ChurnState) Spent() bool {
	return (c.BytesLimited && c.Bytes >= c.AllowedBytes) || (c.ShardsLimited && c.Shards >= c.AllowedShards)
}

// Churn returns the churn budget's state for a plan over v now (see
// ChurnState). It changes nothing.
func (c *Coordinator) Churn(v View) ChurnState {
	pl := c.start(v, 1)
	defer scratchPool.Put(pl.sc)
	return pl.churnState(c.clock(pl.s))
}

// clock is the planner's time in Unix nanoseconds: SetClock's now, never
// behind the newest log time s applied; 0 if neither is known.
func (c *Coordinator) clock(s *state) int64 {
	now := s.recent.last
	if !c.now.IsZero() {
		now = max(now, c.now.UnixNano())
	}
	return now
}

// churnState measures the budget at now over the plan's view (before any
// command of the plan).
func (pl *planner) churnState(now int64) ChurnState {
	s, p := pl.s, pl.pol
	out := ChurnState{At: time.Unix(0, now).UTC(), BytesLimited: p.ChurnBytesPerHour > 0, ShardsLimited: p.ChurnShardsPerHour > 0}
	out.Open = now == 0 || p.rebalanceOpen(out.At)
	if now == 0 {
		out.At = time.Time{}
	}
	total, shards := 0.0, 0
	for i := range s.nodes {
		n := &s.nodes[i]
		total += float64(n.usage.Bytes) + float64(n.Shards-n.usage.Known)*pl.proj.meanBytes
		shards += n.Shards
	}
	out.AllowedBytes = fraction(p.ChurnBytesPerHour, uint64(total))
	out.AllowedShards = int(fraction(p.ChurnShardsPerHour, uint64(shards)))
	// The recorded moves by their sizes when they moved (the mean for
	// those without), the moves in flight by their sizes now.
	done := s.recent.since(now - int64(ChurnWindow) + 1)
	used := done.bytes + float64(done.unsized)*pl.proj.meanBytes
	out.Shards = done.shards
	s.moves.Ascend(func(m moveItem) bool {
		if !s.emptying(m.from) {
			used += pl.proj.sizeOf(m.rec)
			out.Shards++
		}
		return true
	})
	out.Bytes = uint64(math.Ceil(used))
	return out
}

// churnGate is the churn budget and quiet hours as the rebalancing phases
// of one plan see them: whether they may run, and what transfers are left
// in the budget as the plan spends it.
type churnGate struct {
	on bool // a budget is set
	// measured is set once the budget's use is counted: lazily, at the
	// first rebalancing transfer a plan weighs, so a plan that weighs none
	// (a balanced map) does not count the hour's moves.
	measured   bool
	now        int64
	bytesLeft  float64 // +Inf when the bytes budget is off
	shardsLeft int     // MaxInt when the shard budget is off
	reported   bool    // SkipChurnBudget is in the plan
	// quietReported: SkipQuietHours is in the plan.
	quietReported bool
}

// startChurn sets up the gate for a plan at now; measure counts it.
func (pl *planner) startChurn(now int64) {
	pl.churn = churnGate{on: pl.pol.churnOn(), now: now}
}

// measure counts the budget's use before the plan's first rebalancing
// transfer, over the view as the plan began (see churnState).
func (g *churnGate) measure(pl *planner) {
	if g.measured {
		return
	}
	g.measured = true
	st := pl.churnState(g.now)
	g.bytesLeft, g.shardsLeft = math.Inf(1), math.MaxInt
	if st.BytesLimited {
		g.bytesLeft = float64(st.AllowedBytes) - float64(st.Bytes)
	}
	if st.ShardsLimited {
		g.shardsLeft = st.AllowedShards - st.Shards
	}
}

// churnAdmits reports whether rebalancing may move n more shards of the
// given bytes within the budget, reporting SkipChurnBudget (once a plan)
// when not. Outside a rebalancing phase everything is admitted.
func (pl *planner) churnAdmits(bytes float64, n int) bool {
	g := &pl.churn
	if !g.on || !pl.rebalancingPhase {
		return true
	}
	g.measure(pl)
	if n <= g.shardsLeft && bytes <= g.bytesLeft && g.bytesLeft > 0 {
		return true
	}
	pl.churnSkip()
	return false
}

// churnSpent reports whether the budget, once measured, is used up: a
// later rebalancing phase then does not run.
func (pl *planner) churnSpent() bool {
	g := &pl.churn
	return g.on && g.measured && (g.shardsLeft < 1 || g.bytesLeft <= 0)
}

func (pl *planner) churnSkip() {
	if !pl.churn.reported {
		pl.churn.reported = true
		pl.led.skip(Skip{Reason: SkipChurnBudget})
	}
}

// churnSpend takes a rebalancing transfer of the given bytes from the
// budget.
func (pl *planner) churnSpend(bytes float64) {
	if pl.churn.on && pl.rebalancingPhase {
		pl.churn.bytesLeft -= bytes
		pl.churn.shardsLeft--
	}
}

// rebalancingHeld reports whether a rebalancing phase is not to run: quiet
// hours (SkipQuietHours) or a spent churn budget (SkipChurnBudget), each
// reported once a plan.
func (pl *planner) rebalancingHeld(quiet bool) bool {
	switch {
	case quiet:
		if !pl.churn.quietReported {
			pl.churn.quietReported = true
			pl.led.skip(Skip{Reason: SkipQuietHours})
		}
		return true
	case pl.churnSpent():
		pl.churnSkip()
		return true
	}
	return false
}
