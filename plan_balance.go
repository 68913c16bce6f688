package placement

import "math"

// balancer is what the rebalancing phases (counts, bytes, load) share:
// the dimensions, the primary one, the count bounds, and the rules every
// move obeys (improves, keeps, countKeeps) and the hysteresis (engage).
// See the package documentation, "How the planner balances", for the
// objective and why its dimensions do not fight.
//
// It is made (newBalancer) once drains, splits and merges are planned, and
// only then: its totals are the projection's at that point, which moves
// between up nodes keep. Its dimensions read the projection's counts,
// bytes and load slices themselves, so every transfer projected after
// (see projection.project) is in them at once.
type balancer struct {
	pr         *projection
	tolerance  float64 // Policy.CountTolerance
	minGain    float64 // Policy.MinGain
	countTotal int
	// primary is the dimension rebalanced first: bytes, or counts when no
	// bytes are known. Load moves keep it in its band.
	primary                     *dimension
	dimCount, dimBytes, dimLoad *dimension
	// boundsShare, boundsLo and boundsHi are the last countBounds: they
	// depend on the node only through its share, mostly the same for
	// every node, and repairCounts asks for every up node's.
	boundsShare        float64
	boundsLo, boundsHi int
}

// newBalancer sets up the dimensions over pr as it stands. The balancer
// keeps pr: its rules read the projection as later transfers change it,
// through the projection's methods.
func newBalancer(pr *projection, tolerance, minGain float64) balancer {
	b := balancer{pr: pr, tolerance: tolerance, minGain: minGain, boundsShare: math.NaN()}
	b.dimCount, b.dimBytes, b.dimLoad, b.countTotal = pr.dimensions()
	b.primary = b.dimCount
	if b.dimBytes != nil {
		b.primary = b.dimBytes
	}
	return b
}

// made reports whether newBalancer made b: not before the rebalancing
// phases.
func (b *balancer) made() bool { return b.pr != nil }

// The dimensions, for the phases: counts, bytes (nil when no bytes are
// known), load (nil when no load is reported), and the primary one.
func (b *balancer) countDim() *dimension   { return b.dimCount }
func (b *balancer) bytesDim() *dimension   { return b.dimBytes }
func (b *balancer) loadDim() *dimension    { return b.dimLoad }
func (b *balancer) primaryDim() *dimension { return b.primary }

// shardTotal is the shard count over the up nodes when b was made.
func (b *balancer) shardTotal() int { return b.countTotal }

// countBounds returns the shard counts node i may hold while bytes and
// load are balanced: its capacity share of the count ± CountTolerance,
// rounded outwards.
func (b *balancer) countBounds(i int) (lo, hi int) {
	if b.dimCount.share[i] != b.boundsShare {
		b.computeBounds(i)
	}
	return b.boundsLo, b.boundsHi
}

// computeBounds sets countBounds' memory to node i's bounds. It is kept
// out of line so that countBounds, a comparison for most nodes, inlines
// into the passes over every node.
//
//go:noinline
func (b *balancer) computeBounds(i int) {
	t := b.dimCount.target(i)
	tol := b.tolerance
	// Clamped to what can be held, so a huge tolerance cannot overflow.
	total := float64(b.countTotal)
	b.boundsShare = b.dimCount.share[i]
	b.boundsLo, b.boundsHi = int(max(0, math.Floor((1-tol)*t))), int(min(total, math.Ceil((1+tol)*t)))
}

// countKeeps reports whether one shard leaving src for dst keeps both
// within their count bounds, or no further out than they were.
func (b *balancer) countKeeps(src, dst int) (srcOK, dstOK bool) {
	lo, _ := b.countBounds(src)
	_, hi := b.countBounds(dst)
	return b.pr.count(src)-1 >= lo, b.pr.count(dst)+1 <= hi
}

// engage applies a phase's hysteresis: the phase starts (*on) when the
// view's spread exceeds trigger, and runs while the projected spread (the
// view's, unless moves in flight or a transfer planned before changed
// vals) is above stop. It reports whether the phase runs. When it does
// not, *on is cleared once the rebalance is settled (see finish): a
// projection in the band counts moves that may yet be aborted.
func (b *balancer) engage(on *bool, spread float64, vals []float64, trigger, stop float64) bool {
	if spread > trigger {
		*on = true
	}
	if b.pr.anyMoved() {
		spread = b.pr.spreadOf(vals) // moves in flight, drains or merge moves changed it
	}
	if *on && spread > stop {
		return true
	}
	b.pr.finish(on)
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
//
// The gain must also be a meaningful share of what the move does for the
// dimension it is made for (forLoad: load, else the primary): the two
// potentials together must fall by at least minGain of that dimension's
// own fall. A move whose gain in one dimension the other nearly cancels is
// one the stats' noise can turn either way, and taking it would trade
// shards back and forth.
func (b *balancer) improves(src, dst int, p, l float64, forLoad bool) bool {
	dp, dl := b.primary.delta(src, dst, p), b.dimLoad.delta(src, dst, l)
	own := dp
	if forLoad {
		own = dl
	}
	return dp+dl < -1e-12 && dp+dl <= b.minGain*own
}

// primarySize is how much of the primary dimension r carries: its bytes,
// or one shard.
func (b *balancer) primarySize(r *shardRec) float64 {
	if !b.pr.hasBytes() {
		return 1
	}
	return b.pr.sizeOf(r)
}

// worth reports whether a rebalancing transfer carrying x (the net amount,
// for a swap) is worth making when its pick aims to move aim: x is at least
// Policy.MinGain × aim. This is the stability contract's first rule: a gain
// that is small next to the gap it addresses is the size of the noise in
// the stats, and taking it would trade shards back and forth as the noise
// turns.
func (pl *planner) worth(x, aim float64) bool {
	return x >= pl.pol.MinGain*aim
}

// bytesSlack and loadSlack are how far, as a ratio either side of its
// target, a move made for another dimension may take a node in bytes (in
// shard counts when no bytes are known) or in load: half the midpoint
// between the dimension's stop band and its trigger. So moves made for
// one dimension leave the other's spread at most that midpoint, short of
// its trigger by half the hysteresis, and noise in the stats cannot lift
// a spread they left over its trigger and start a rebalance of its own.
func (pl *planner) bytesSlack() float64 {
	return (pl.pol.ImbalanceThreshold + pl.pol.StopBand) / 4
}

func (pl *planner) loadSlack() float64 {
	return (pl.pol.LoadThreshold + pl.pol.LoadStopBand) / 4
}
