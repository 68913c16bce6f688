package placement

// dimension is one quantity the planner balances over the up nodes in
// proportion to their capacity shares: bytes, load, or (in repairCounts)
// shard counts.
type dimension struct {
	vals  []float64 // projected amount per node, parallel to state.nodes
	ints  []int     // or, for counts, the projected counts
	total float64   // over the up nodes; moves between them keep it
	share []float64
	inv   []float64 // 1 / share
}

func (d *dimension) at(i int) float64 {
	if d.ints != nil {
		return float64(d.ints[i])
	}
	return d.vals[i]
}

// empty reports whether there is nothing to balance: no total over the up
// nodes.
func (d *dimension) empty() bool { return d.total <= 0 }

// excess and deficit are how far node i is above, or below, its target,
// for a dimension of vals (bytes, load): negative on the other side.
func (d *dimension) excess(i int) float64  { return d.vals[i] - d.target(i) }
func (d *dimension) deficit(i int) float64 { return d.target(i) - d.vals[i] }

// target is node i's share of the total.
func (d *dimension) target(i int) float64 { return d.total * d.share[i] }

// ratio is node i's amount over its target: 1 is on target.
func (d *dimension) ratio(i int) float64 { return d.at(i) * d.inv[i] / d.total }

// narrows returns the exclusive upper bound on an amount moved from src
// to dst that leaves the pair closer together, relative to their
// targets, than before: moving x changes the gap of ratios by
// −x·(1/tₛ + 1/t_d), so any x below twice the gap over that sum narrows
// it. This is the no-ping-pong rule: a move never leaves its pair further
// apart. (It is also exactly the condition under which the move lowers
// Σ (amountᵢ − targetᵢ)² / targetᵢ, so moves that narrow their pairs can
// never cycle.)
func (d *dimension) narrows(src, dst int) float64 {
	// The bound itself would mirror the pair exactly; the margin keeps
	// rounding in the projected sums from letting such a move through.
	return (1 - 1e-9) * 2 * (d.ratio(src) - d.ratio(dst)) / (1/d.target(src) + 1/d.target(dst))
}

// delta is the change that moving x from src to dst (the other way when
// x is negative) makes to Σ (amountᵢ − targetᵢ)² / targetᵢ, divided by the
// square of the total so that dimensions in different units add up: with
// f = x / total it is f·(f·(1/shareₛ + 1/share_d) − 2·(ratioₛ − ratio_d)).
// A nil or empty dimension contributes 0.
func (d *dimension) delta(src, dst int, x float64) float64 {
	if d == nil || d.total <= 0 {
		return 0
	}
	f := x / d.total
	return f * (f*(1/d.share[src]+1/d.share[dst]) - 2*(d.ratio(src)-d.ratio(dst)))
}

// keeps reports whether moving x out of src and into dst (the other way
// when x is negative) keeps both nodes within ±half of their targets, as
// ratios, or at least no further out than they were: a move made for one
// dimension may use another's slack but never pushes it out of its band.
// A nil dimension (one not balanced) keeps everything.
func (d *dimension) keeps(src, dst int, x, half float64) bool {
	if d == nil || x == 0 || d.total <= 0 {
		return true
	}
	if x < 0 {
		src, dst, x = dst, src, -x
	}
	return d.ratio(src)-x/d.target(src) >= 1-half && d.ratio(dst)+x/d.target(dst) <= 1+half
}
