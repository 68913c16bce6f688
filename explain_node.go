package placement

import "fmt"

// explainHeld is how many shards ExplainNode explains on a node being
// drained: the first ones the drain would move.
const explainHeld = 16

// NodeExplanation is Coordinator.ExplainNode's answer for one node.
type NodeExplanation struct {
	// Node is the node as the view holds it.
	Node Node
	// MovesOut and MovesIn are the moves in flight out of and into it,
	// BytesOut and BytesIn their bytes as the planner counts them, and
	// OutWindowFull and InWindowFull whether its in-flight windows
	// (Policy.MaxInflightPerNode, MaxInflightBytesPerNode, the rate
	// limits, narrowed by Pressure) take no more.
	MovesOut, MovesIn           int
	BytesOut, BytesIn           float64
	OutWindowFull, InWindowFull bool
	// Pressure is the foreground pressure its host last reported
	// (ShardRegistry.ReportPressure), 0 if none.
	Pressure float64

	// For a node that is not up (draining, down, lost):

	// Left is how many shards it still owns that are not moving, and
	// LeftBytes their bytes as the planner counts them; NothingLeft is set
	// when it owns none (what is still moving out completes or is
	// aborted, then it may be removed).
	Left        int
	LeftBytes   float64
	NothingLeft bool
	// Held explains, for the first shards the drain would move (the
	// cheapest first, at most 16 of Left plus those moving), why each
	// has not moved yet.
	Held []HeldShard
	// FullWindows are the nodes whose in-flight windows hold the drain
	// back: the node itself when its out window is full, and the up nodes
	// whose in windows are.
	FullWindows []NodeID

	// For an up node:

	// Target is its capacity share of each dimension's total over the up
	// nodes (count, bytes, load), Amount what it holds (moves in flight
	// counted as made), and Ratio Amount / Target (1 is on target; 0 for
	// a dimension not measured).
	Target, Amount, Ratio NodeAmounts
	// Roles are the rebalancing phases that run now, and whether the node
	// is a source (above its target), a destination (below) or neither in
	// each.
	Roles []NodeRole
}

// NodeAmounts is an amount of each dimension a node holds or should hold.
type NodeAmounts struct {
	Count, Bytes, Load float64
}

// HeldShard is one shard of a node being drained, and why it has not
// moved: SkipShardMoving (MovingTo names the target), SkipNodeNotUp (the
// node is down: its shards wait for it), SkipInflightWindow (every up
// node's window, or the node's own, is full: see FullWindows; or
// SkipRateLimit or SkipPressure when that limit alone fills them),
// SkipNoTarget (no node is up) or SkipLimitReached (a destination has
// room: it waits its turn, the drain moving a plan's limit at a time).
type HeldShard struct {
	Shard    ShardID
	Reason   SkipReason
	MovingTo NodeID
}

// NodeRole is an up node's part in one rebalancing phase.
type NodeRole struct {
	// Phase is "counts", "bytes", "repair" or "load".
	Phase string
	// Role is "source", "destination" or "" (neither).
	Role string
}

// ExplainNode says what holds node id where it is: for a node that is not
// up, what it still owns, what is in flight, and why its first shards have
// not moved; for an up node, its targets, how far it is from them, and its
// part in each rebalancing phase that runs. It returns an error wrapping
// ErrUnknownNode when v holds no such node. Like Explain it is pure and
// bounded by the nodes, the moves in flight and 16 shards, not by the
// shards.
func (c *Coordinator) ExplainNode(v View, id NodeID) (NodeExplanation, error) {
	s := v.state()
	i := s.nodeIndex(id)
	if i < 0 {
		return NodeExplanation{}, fmt.Errorf("%w: node %d", ErrUnknownNode, id)
	}
	pl := c.start(v, 1)
	defer scratchPool.Put(pl.sc)
	out := NodeExplanation{Node: s.nodes[i].Node}
	s.moves.Ascend(func(m moveItem) bool {
		switch id {
		case m.from:
			out.MovesOut++
			out.BytesOut += pl.proj.sizeOf(m.rec)
		case m.to:
			out.MovesIn++
			out.BytesIn += pl.proj.sizeOf(m.rec)
		}
		return true
	})
	out.OutWindowFull, out.InWindowFull = pl.proj.outWindowFull(i), pl.proj.inWindowFull(i)
	out.Pressure = s.nodes[i].pressure
	if s.nodes[i].State != NodeUp {
		explainDrain(pl, i, &out)
		return out, nil
	}
	explainUp(pl, i, &out)
	return out, nil
}

// explainDrain fills in what is left on node i, not up, and what holds it.
func explainDrain(pl *planner, i int, out *NodeExplanation) {
	n := &pl.s.nodes[i]
	out.Left = n.Shards - out.MovesOut
	out.LeftBytes = float64(n.usage.Bytes) + float64(n.Shards-n.usage.Known)*pl.proj.meanBytes - out.BytesOut
	out.LeftBytes = max(0, out.LeftBytes)
	out.NothingLeft = out.Left == 0
	if n.State != NodeDown {
		if pl.outFull(i) {
			out.FullWindows = append(out.FullWindows, n.ID)
		}
		for _, d := range pl.proj.upNodes() {
			if pl.inFull(d) {
				out.FullWindows = append(out.FullWindows, pl.s.nodes[d].ID)
			}
		}
	}
	pl.s.byNode.AscendGreaterOrEqual(&shardRec{shardCore: shardCore{Node: n.ID}, known: true}, func(r *shardRec) bool {
		if r.Node != n.ID || len(out.Held) == explainHeld {
			return false
		}
		out.Held = append(out.Held, heldShard(pl, r, i))
		return true
	})
}

// heldShard says why r, on node i (not up), has not moved.
func heldShard(pl *planner, r *shardRec, i int) HeldShard {
	h := HeldShard{Shard: r.ID}
	if m, ok := pl.s.moving(r.ID); ok {
		h.Reason, h.MovingTo = SkipShardMoving, m.to
		return h
	}
	if pl.s.nodes[i].State == NodeDown {
		h.Reason = SkipNodeNotUp
		return h
	}
	if len(pl.proj.upNodes()) == 0 {
		h.Reason = SkipNoTarget
		return h
	}
	// The windows hold it for the limit they name alike (a full out
	// window, or every destination's for one reason), else generically.
	ex := &explainer{pl: pl, r: r, o: i}
	for _, d := range pl.proj.upNodes() {
		switch w := ex.windows(d); {
		case w == 0:
			h.Reason = SkipLimitReached
			return h
		case h.Reason == 0:
			h.Reason = w
		case h.Reason != w:
			h.Reason = SkipInflightWindow
		}
	}
	return h
}

// explainUp fills in up node i's targets, distances and roles.
func explainUp(pl *planner, i int, out *NodeExplanation) {
	pl.bal = newBalancer(&pl.proj, pl.pol.CountTolerance, pl.pol.MinGain)
	dims := [3]*dimension{pl.bal.countDim(), pl.bal.bytesDim(), pl.bal.loadDim()}
	var target, amount, ratio [3]float64
	for k, d := range dims {
		if d == nil || d.empty() {
			continue
		}
		target[k], amount[k], ratio[k] = d.target(i), d.at(i), d.ratio(i)
	}
	out.Target = NodeAmounts{Count: target[0], Bytes: target[1], Load: target[2]}
	out.Amount = NodeAmounts{Count: amount[0], Bytes: amount[1], Load: amount[2]}
	out.Ratio = NodeAmounts{Count: ratio[0], Bytes: ratio[1], Load: ratio[2]}
	ex := &explainer{pl: pl}
	ex.runPhases()
	role := func(above, below bool) string {
		switch {
		case above:
			return "source"
		case below:
			return "destination"
		}
		return ""
	}
	for k, st := range [...]phaseVerdict{ex.counts, ex.bytes, ex.repair, ex.load} {
		if st.off || st.reason != 0 {
			continue
		}
		r := NodeRole{Phase: explainPhases[k]}
		switch k {
		case 0:
			r.Role = role(pl.proj.count(i) > ex.band.target[i], pl.proj.count(i) < ex.band.target[i])
		case 2:
			lo, hi := pl.bal.countBounds(i)
			r.Role = role(pl.proj.count(i) > hi, pl.proj.count(i) < lo)
		default:
			d := dims[1]
			if k == 3 {
				d = dims[2]
			}
			r.Role = role(d.ratio(i) > 1, d.ratio(i) < 1)
		}
		out.Roles = append(out.Roles, r)
	}
}
