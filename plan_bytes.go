package placement

import "math"

// Balancing by bytes, counts and load. See the package documentation,
// "How the planner balances", for the objective and why its dimensions do
// not fight.

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

// rebalanceBytes moves bytes from the node furthest above its capacity
// share to the one furthest below, choosing each time the shard whose size
// best fits the gap between them. It starts when the byte spread exceeds
// ImbalanceThreshold and goes on to StopBand.
func (pl *planner) rebalanceBytes() {
	b := pl.dimBytes
	if len(pl.up) < 2 || b.total <= 0 {
		pl.out.Rebalancing = false
		return
	}
	if !pl.engage(&pl.out.Rebalancing, pl.out.Balance.Bytes, pl.bytes, pl.pol.ImbalanceThreshold, pl.pol.StopBand) {
		pl.skip(Skip{Reason: SkipWithinTolerance})
		if pl.out.Rebalancing {
			pl.out.MinBytes = pl.minBytes() // on until its moves are made
		}
		return
	}
	pl.out.MinBytes = pl.minBytes()
	stop := pl.pol.StopBand
	// Rebalancing goes on only where the limit or a move cap cut it short:
	// once no move fits, the bytes are as even as the shards allow, and
	// only the trigger starts it again. It ends once the moves it counted
	// are made (see settled).
	if pl.ratioLoop(b, spreadAtMost(b, stop), pl.pickBytes) != phaseLimited {
		pl.finish(&pl.out.Rebalancing)
	}
}

// minBytes is Plan.MinBytes for the projection so far: Σ max(0, bytesᵢ −
// targetᵢ) over the up nodes, rounded up and saturating.
func (pl *planner) minBytes() uint64 {
	b := pl.dimBytes
	excess := 0.0
	for _, i := range pl.up {
		excess += max(0, b.vals[i]-b.target(i))
	}
	if excess >= 1<<64 {
		return math.MaxUint64
	}
	return uint64(math.Ceil(excess))
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

// pickBytes plans one transfer from src to dst for the bytes phase. The
// ideal size closes the smaller of src's excess and dst's deficit, divided
// among the shards dst still needs to reach its count bound (or src must
// shed to get under its own), so a node that joins empty receives shards
// of the right size and the right number at once; it is never smaller
// than src's excess over the shards src can give before its own count
// bound. Of the shards nearest
// that size the closest one that narrows the pair and keeps counts and
// load in their bands is taken. It reports false, and which node is to
// blame, when no shard fits.
func (pl *planner) pickBytes(src, dst int) picked {
	srcOK, dstOK := pl.countKeeps(src, dst)
	if !dstOK {
		return picked{blame: blameDst}
	}
	if !srcOK {
		return picked{blame: blameSrc}
	}
	b := pl.dimBytes
	dstLo, _ := pl.countBounds(dst)
	srcLo, srcHi := pl.countBounds(src)
	excess, deficit := b.vals[src]-b.target(src), b.target(dst)-b.vals[dst]
	gap := min(excess, deficit)
	// Spread the gap over the shards dst still needs to reach its count
	// bound (or src must shed to get under its own), but no thinner than
	// src can afford: it has only so many shards above its lower bound
	// to shed its excess with.
	need := max(1, dstLo-pl.counts[dst], pl.counts[src]-srcHi)
	slack := max(1, pl.counts[src]-srcLo)
	ideal := min(gap, max(gap/float64(need), excess/float64(slack)))
	// Narrow the pair, and leave neither node further from its own target
	// than before: a small node overfilled would become a source and relay
	// the shard on.
	limit := min(b.narrows(src, dst), 2*excess, 2*deficit)
	var best *shardRec
	bestGap := math.Inf(1)
	consider := func(r *shardRec) bool {
		x := pl.sizeOf(r)
		if x <= 0 || x >= limit || !pl.dimLoad.keeps(src, dst, pl.loadOf(r), pl.pol.LoadThreshold/2) ||
			!pl.improves(src, dst, x, pl.loadOf(r)) {
			return false
		}
		if gap := math.Abs(x - ideal); gap < bestGap {
			best, bestGap = r, gap
		}
		return true
	}
	node := pl.s.nodes[src].ID
	pl.nearest(node, ideal, consider)
	if r := pl.firstUnknown(node); r != nil {
		consider(r)
	}
	if best == nil {
		return picked{blame: blameSrc}
	}
	return pl.transferred(pl.transfer(best, src, dst))
}

// nearestScan is how many shards on each side of the ideal size nearest
// looks at for one that fits.
const nearestScan = 4

// nearest offers fit the shards with known stats on node nearest to size:
// the largest at or below it and the smallest above it, each side until
// fit accepts one or nearestScan were offered. Shards already in the plan
// are passed over.
func (pl *planner) nearest(node NodeID, size float64, fit func(*shardRec) bool) {
	c := uint64(max(0, min(size, math.MaxUint64/2)))
	p := &pl.probe
	*p = shardRec{shardCore: shardCore{ID: math.MaxUint64, Node: node}, known: true, bytes: c}
	n := 0
	pl.s.byNode.DescendLessOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || n >= nearestScan {
			return false
		}
		if pl.taken(r.ID) {
			return true
		}
		n++
		return !fit(r)
	})
	*p = shardRec{shardCore: shardCore{Node: node}, known: true, bytes: c + 1}
	n = 0
	pl.s.byNode.AscendGreaterOrEqual(p, func(r *shardRec) bool {
		if r.Node != node || !r.known || n >= nearestScan {
			return false
		}
		if pl.taken(r.ID) {
			return true
		}
		n++
		return !fit(r)
	})
}

// firstUnknown returns a shard on node whose stats are unknown and that is
// not in the plan, or nil. Unknown sizes sort last in byNode.
func (pl *planner) firstUnknown(node NodeID) *shardRec {
	pl.probe = shardRec{shardCore: shardCore{Node: node}}
	return pl.firstFrom(node, &pl.probe)
}

// repairCounts moves shards, smallest first, from the node with the most
// shards for its capacity share to the one with the fewest, while some
// node is outside its count bounds (CountTolerance). Bytes balancing
// already keeps counts in their bounds; this repairs what merges, splits
// and drains leave, within the bytes and load bands.
func (pl *planner) repairCounts() {
	if len(pl.up) < 2 || pl.countTotal == 0 {
		return
	}
	outside := func(i int) int {
		lo, hi := pl.countBounds(i)
		if pl.counts[i] < lo || pl.counts[i] > hi {
			return 1
		}
		return 0
	}
	// Bounds are rounded per node, so the nodes outside them need not be
	// the extremes: count them, and keep the count as moves are made.
	violators := 0
	for _, i := range pl.up {
		violators += outside(i)
	}
	if violators == 0 {
		return
	}
	pick := func(src, dst int) picked {
		before := outside(src) + outside(dst)
		p := pl.pickCount(src, dst)
		if p.ok() {
			violators += outside(src) + outside(dst) - before
		}
		return p
	}
	pl.ratioLoop(pl.dimCount, func(int, int) bool { return violators == 0 }, pick)
}

// pickCount plans one transfer for repairCounts: the cheapest shard of src
// that keeps bytes and load in their bands. Each such move brings one node
// one shard closer to its bounds and takes none out of them, so repairs
// are finite, and no bytes or load move undoes one.
func (pl *planner) pickCount(src, dst int) picked {
	// A repair move must take a node back towards its bounds: the
	// source above its bound or the destination below its own. A move
	// between two nodes within their bounds repairs nothing, and the
	// bytes phase could rightly move it back.
	_, srcHi := pl.countBounds(src)
	dstLo, _ := pl.countBounds(dst)
	if pl.counts[src] <= srcHi && pl.counts[dst] >= dstLo {
		return picked{blame: blameSrc}
	}
	srcOK, dstOK := pl.countKeeps(src, dst)
	if !dstOK || pl.dimCount.narrows(src, dst) <= 1 {
		return picked{blame: blameDst}
	}
	if !srcOK {
		return picked{blame: blameSrc}
	}
	var pick *shardRec
	pl.nearest(pl.s.nodes[src].ID, 0, func(r *shardRec) bool {
		if pl.dimBytes.keeps(src, dst, pl.sizeOf(r), pl.pol.ImbalanceThreshold/2) &&
			pl.dimLoad.keeps(src, dst, pl.loadOf(r), pl.pol.LoadThreshold/2) {
			pick = r
		}
		return pick != nil
	})
	if pick == nil {
		return picked{blame: blameSrc}
	}
	return pl.transferred(pl.transfer(pick, src, dst))
}
