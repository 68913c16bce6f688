package placement

import "math"

// The balance the rebalancing phases (counts, bytes, load) share: the
// dimensions, the primary one, the count bounds, and the rules every move
// obeys (improves, keeps, countKeeps) and the hysteresis (engage). See the
// package documentation, "How the planner balances", for the objective and
// why its dimensions do not fight.

// initDims sets up the dimensions the rebalancing phases share, from the
// projection after drains, splits and merges.
func (pl *planner) initDims() {
	pl.countTotal = 0
	for _, i := range pl.up {
		pl.countTotal += pl.counts[i]
	}
	pl.dimCount = &dimension{ints: pl.counts, total: float64(pl.countTotal), share: pl.share, inv: pl.inv}
	pl.primary = pl.dimCount
	if pl.bytes != nil {
		pl.dimBytes = &dimension{vals: pl.bytes, total: pl.sumUp(pl.bytes), share: pl.share, inv: pl.inv}
		pl.primary = pl.dimBytes
	}
	if pl.load != nil {
		pl.dimLoad = &dimension{vals: pl.load, total: pl.sumUp(pl.load), share: pl.share, inv: pl.inv}
	}
}

// countBounds returns the shard counts node i may hold while bytes and
// load are balanced: its capacity share of the count ± CountTolerance,
// rounded outwards.
func (pl *planner) countBounds(i int) (lo, hi int) {
	t := pl.dimCount.target(i)
	tol := pl.pol.CountTolerance
	// Clamped to what can be held, so a huge tolerance cannot overflow.
	total := float64(pl.countTotal)
	return int(max(0, math.Floor((1-tol)*t))), int(min(total, math.Ceil((1+tol)*t)))
}

// countKeeps reports whether one shard leaving src for dst keeps both
// within their count bounds, or no further out than they were.
func (pl *planner) countKeeps(src, dst int) (srcOK, dstOK bool) {
	lo, _ := pl.countBounds(src)
	_, hi := pl.countBounds(dst)
	return pl.counts[src]-1 >= lo, pl.counts[dst]+1 <= hi
}

// engage applies a phase's hysteresis: the phase starts (*on) when the
// view's spread exceeds trigger, and runs while the projected spread (the
// view's, unless moves in flight or a transfer planned before changed
// vals) is above stop. It reports whether the phase runs. When it does
// not, *on is cleared once the rebalance is settled (see finish): a
// projection in the band counts moves that may yet be aborted.
func (pl *planner) engage(on *bool, spread float64, vals []float64, trigger, stop float64) bool {
	if spread > trigger {
		*on = true
	}
	if pl.moved {
		spread = pl.spreadOf(vals) // moves in flight, drains or merge moves changed it
	}
	if *on && spread > stop {
		return true
	}
	pl.finish(on)
	return false
}

// spreadAtMost returns the stopping test of a phase that ends when the
// dimension's spread (between the fullest and emptiest nodes) is in the
// band.
func spreadAtMost(d *dimension, band float64) func(hi, lo int) bool {
	return func(hi, lo int) bool { return d.ratio(hi)-d.ratio(lo) <= band }
}

// improves reports whether moving p of the primary dimension (bytes, or
// shards when no bytes are known) and l load from src to dst lowers the
// two potentials together (see delta) by a margin that rounding cannot
// fake. Every bytes and load move must, so that one dimension's moves can
// never undo another's in a cycle.
func (pl *planner) improves(src, dst int, p, l float64) bool {
	return pl.primary.delta(src, dst, p)+pl.dimLoad.delta(src, dst, l) < -1e-12
}

// primarySize is how much of the primary dimension r carries: its bytes,
// or one shard.
func (pl *planner) primarySize(r *shardRec) float64 {
	if pl.bytes == nil {
		return 1
	}
	return pl.sizeOf(r)
}
