package placement

import "math"

// projection is the map as the plan will leave it: per node, the shard
// counts, bytes and load with the moves in flight and this plan's commands
// counted as made, the capacity shares and the in-flight windows; and
// which nodes are up. Phases read it through its getters and change it
// only through transfer or, for splits and merges, countSplit and
// countMerge.
type projection struct {
	nodes    []nodeRec // the view's, parallel to every slice here
	counts   []int     // projected shard counts
	in       []int     // this plan's transfers into each node
	from     []int     // this plan's transfers out of each node
	win      windows   // the in-flight windows, with this plan's transfers (see inflight)
	upMoving bool      // a move out of an up node is in flight or planned: see settled
	moved    bool      // a transfer is in flight or planned: bytes and load differ from the view

	// The soft dimensions; see measure. bytes is nil when no bytes are
	// known (the planner balances counts), load is nil when no load is
	// reported.
	bytes, load []float64
	share       []float64 // each up node's capacity share (Σ = 1); 0 if not up
	inv         []float64 // 1 / share (Σ capacity / capacity), for the up nodes
	up          []int     // indexes of the up nodes
	// meanBytes and meanLoad stand in for the stats of a shard whose stats
	// are unknown.
	meanBytes, meanLoad float64
	loadTotal           float64 // load on the up nodes when the plan began
	// draining are the indexes of the draining and lost nodes, and
	// viewImbalance is the view's imbalance: see measure.
	draining      []int
	viewImbalance float64
	viewBalance   Balance // balance before moves in flight are counted
}

// measure sets the projection up from the view: the shard counts, and
// the soft dimensions: each up node's capacity share, and each node's
// projected bytes and load. Shards
// whose stats are unknown count at the mean of the known ones, so a map
// whose stats are partly reported is balanced on the best estimate, and a
// map with no known bytes is balanced by counts, as it always was. It reads
// the per-node sums the registry maintains, in O(nodes).
//
// It reads the node records once (twice when some stats are unknown; see
// countUnknown): at 100,000 nodes they are megabytes, several times the
// per-node slices it fills, and a plan there is made of such passes. What
// a later step needs of the records (the figures below, the view's
// imbalance, the nodes being drained) it takes from that pass. Every sum
// is taken in node order, as separate passes took it, so the figures are
// the same to the last bit.
func (pr *projection) measure(nodes []nodeRec, sc *scratch) {
	pr.nodes = nodes
	n := len(nodes)
	pr.counts = sc.ints.takeDirty(n) // written below
	perNode := sc.ints.take(2 * n)
	pr.in, pr.from = perNode[:n], perNode[n:]
	pr.up = sc.ints.takeDirty(n)[:0]
	pr.draining = pr.draining[:0]
	floats := sc.floats.takeDirty(4 * n) // every element written below
	pr.share, pr.inv = floats[:n], floats[3*n:]
	// Until the means are known: each node's known bytes and load and,
	// for the up nodes, its capacity (in pr.share; 0 if unknown).
	bytes, load := floats[n:2*n], floats[2*n:3*n]
	known, unknown, knownBytes, knownLoad := 0, 0, 0.0, 0.0
	capSum, capKnown := 0.0, 0
	lo, hi, upShards := 0, 0, 0
	for i := range nodes {
		nd := &nodes[i]
		c := nd.Shards
		pr.counts[i] = c
		known += nd.usage.Known
		unknown += c - nd.usage.Known
		b := float64(nd.usage.Bytes)
		bytes[i] = b
		knownBytes += b
		load[i] = nd.usage.Load
		knownLoad += nd.usage.Load
		pr.share[i] = 0
		switch nd.State {
		case NodeUp:
			if len(pr.up) == 0 || c < lo {
				lo = c
			}
			if len(pr.up) == 0 || c > hi {
				hi = c
			}
			upShards += c
			pr.up = append(pr.up, i)
			if k := nd.capacity; k > 0 {
				pr.share[i] = float64(k)
				capSum += float64(k)
				capKnown++
			}
			continue // its inverse share is written by measureShares
		case NodeDraining, NodeLost:
			pr.draining = append(pr.draining, i)
		}
		pr.inv[i] = 0
	}
	pr.viewImbalance = 0
	if len(pr.up) >= 2 && upShards > 0 {
		pr.viewImbalance = float64(hi-lo) * float64(len(pr.up)) / float64(upShards)
	}
	if known > 0 {
		pr.meanBytes = knownBytes / float64(known)
		pr.meanLoad = knownLoad / float64(known)
		if knownBytes > 0 {
			pr.bytes = bytes
		}
		if knownLoad > 0 {
			pr.load = load
		}
		if unknown > 0 {
			pr.countUnknown()
		}
	}
	pr.measureShares(capSum, capKnown)
}

// countUnknown counts the shards whose stats are unknown at the mean known
// bytes and load: a second pass over the node records, for a map whose
// stats are only partly known. (A node whose shards are all known would
// add 0 × the mean: nothing, to the bit.)
func (pr *projection) countUnknown() {
	for i := range pr.nodes {
		nd := &pr.nodes[i]
		u := float64(nd.Shards - nd.usage.Known)
		if pr.bytes != nil {
			pr.bytes[i] += u * pr.meanBytes
		}
		if pr.load != nil {
			pr.load[i] += u * pr.meanLoad
		}
	}
}

// measureShares sets each up node's capacity share (pr.share holds its
// capacity, or 0 when unknown) and its inverse, the load on the up nodes,
// and the balance of the view (see balance), in one pass over the up
// nodes (two when only some capacities are known); each sum in node
// order, as before.
func (pr *projection) measureShares(capSum float64, capKnown int) {
	// An unknown capacity counts as the mean known one; with none known
	// every up node counts as equal.
	meanCap := 1.0
	if capKnown > 0 {
		meanCap = capSum / float64(capKnown)
	}
	// The sum of the shares, in node order. When no capacity is known it
	// is a sum of ones, and when every one is it is capSum: the same sums
	// (exactly: integers below 2⁵³, or the same terms in the same order),
	// without a pass.
	total := 0.0
	switch capKnown {
	case 0:
		total = float64(len(pr.up))
	case len(pr.up):
		total = capSum
	default:
		for _, i := range pr.up {
			c := meanCap
			if pr.share[i] > 0 {
				c = pr.share[i]
			}
			total += c
		}
	}
	var (
		counts, by, ld  float64
		cLo, bLo, lLo   = math.Inf(1), math.Inf(1), math.Inf(1)
		cHi, bHi, lHi   = math.Inf(-1), math.Inf(-1), math.Inf(-1)
		hasBytes, hasLd = pr.bytes != nil, pr.load != nil
		// Capacities are mostly all equal (or all unknown): the share and
		// its inverse are then the same for every node, and two
		// divisions a node are worth saving. Same inputs, same bits.
		lastCap, lastShare, lastInv = math.NaN(), 0.0, 0.0
	)
	for _, i := range pr.up {
		capacity := meanCap
		if pr.share[i] > 0 {
			capacity = pr.share[i]
		}
		if capacity != lastCap {
			// inv is total / capacity, not 1 / share: with equal
			// capacities it is exactly the node count, so a spread of
			// counts measured against capacity shares is exactly
			// Imbalance's (max − min) × n / total, and the count targets
			// are exactly total / n.
			lastCap, lastShare = capacity, capacity/total
			lastInv = total / capacity
		}
		pr.share[i], pr.inv[i] = lastShare, lastInv
		inv := lastInv
		c := float64(pr.counts[i])
		counts += c
		cLo, cHi = fmin(cLo, c*inv), fmax(cHi, c*inv)
		if hasBytes {
			by += pr.bytes[i]
			bLo, bHi = fmin(bLo, pr.bytes[i]*inv), fmax(bHi, pr.bytes[i]*inv)
		}
		if hasLd {
			ld += pr.load[i]
			lLo, lHi = fmin(lLo, pr.load[i]*inv), fmax(lHi, pr.load[i]*inv)
		}
	}
	pr.loadTotal = 0
	if hasLd {
		pr.loadTotal = ld // sumUp(pr.load): the same sum in the same order
	}
	pr.viewBalance = Balance{}
	if len(pr.up) < 2 {
		return
	}
	if counts > 0 {
		pr.viewBalance.Count = (cHi - cLo) / counts
	}
	if by > 0 {
		pr.viewBalance.Bytes = (bHi - bLo) / by
	}
	if ld > 0 {
		pr.viewBalance.Load = (lHi - lLo) / ld
	}
}

// draining are the nodes being drained or re-homed (draining or lost), in
// node order, as measure found them.
func (pr *projection) drainingNodes() []int { return pr.draining }

// imbalance is Imbalance of the view, before moves in flight are counted:
// what imbalanceOf computes, from measure's pass over the nodes.
func (pr *projection) imbalance() float64 { return pr.viewImbalance }

// sizeOf is r's bytes, or the mean known size if its stats are unknown.
func (pr *projection) sizeOf(r *shardRec) float64 {
	if !r.known {
		return pr.meanBytes
	}
	return float64(r.bytes)
}

// loadOf is r's load, or the mean known load if its stats are unknown.
func (pr *projection) loadOf(r *shardRec) float64 {
	if !r.known {
		return pr.meanLoad
	}
	return float64(r.load)
}

// sumUp is the total of vals over the up nodes.
func (pr *projection) sumUp(vals []float64) float64 {
	t := 0.0
	for _, i := range pr.up {
		t += vals[i]
	}
	return t
}

// spreadOf is max − min over the up nodes of vals[i] / (total × share[i]),
// or 0 when there is nothing to spread.
func (pr *projection) spreadOf(vals []float64) float64 {
	total, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, i := range pr.up {
		v := vals[i]
		total += v
		r := v * pr.inv[i]
		lo, hi = fmin(lo, r), fmax(hi, r)
	}
	if len(pr.up) < 2 || total <= 0 {
		return 0
	}
	return (hi - lo) / total
}

// balance measures the view's spreads, before any planned command, with
// the moves in flight counted as made: measure's figures when none is in
// flight, else one pass over the up nodes. Its loop repeats measure's on
// purpose: the same sums through a small accumulator type were 15–20%
// slower per plan at 10,000 and 100,000 nodes.
func (pr *projection) balance() Balance {
	if !pr.moved {
		return pr.viewBalance
	}
	if len(pr.up) < 2 {
		return Balance{}
	}
	var (
		b               Balance
		counts, by, ld  float64
		cLo, bLo, lLo   = math.Inf(1), math.Inf(1), math.Inf(1)
		cHi, bHi, lHi   = math.Inf(-1), math.Inf(-1), math.Inf(-1)
		hasBytes, hasLd = pr.bytes != nil, pr.load != nil
	)
	for _, i := range pr.up {
		inv := pr.inv[i]
		c := float64(pr.counts[i])
		counts += c
		cLo, cHi = fmin(cLo, c*inv), fmax(cHi, c*inv)
		if hasBytes {
			by += pr.bytes[i]
			bLo, bHi = fmin(bLo, pr.bytes[i]*inv), fmax(bHi, pr.bytes[i]*inv)
		}
		if hasLd {
			ld += pr.load[i]
			lLo, lHi = fmin(lLo, pr.load[i]*inv), fmax(lHi, pr.load[i]*inv)
		}
	}
	if counts > 0 {
		b.Count = (cHi - cLo) / counts
	}
	if by > 0 {
		b.Bytes = (bHi - bLo) / by
	}
	if ld > 0 {
		b.Load = (lHi - lLo) / ld
	}
	return b
}

// fairLoad returns the load an up node's capacity share entitles it to
// (from the projection when the plan began), or +Inf when no load is
// reported.
func (pr *projection) fairLoad(i int) float64 {
	if pr.load == nil {
		return math.Inf(1)
	}
	return pr.loadTotal * pr.share[i]
}

// settled reports whether the moves the projection counts as made, as far
// as a rebalance is concerned, are made: no move out of an up node is in
// flight, and this plan begins none (its transfers so far; one-phase
// transfers, before format version 3 or with Policy.InstantMoves, are
// made once the plan applies). A rebalance does not end until then: were
// one of those moves aborted (a failed copy, MoveTimeout), the shard
// would stay where it was, short of the band the rebalance counted on,
// and nothing would take the rebalance up again under the trigger. Moves
// out of nodes that are not up (drains, a lost node's re-homing) do not
// hold it: the drain phase plans an aborted one again, whatever the
// rebalance.
func (pr *projection) settled() bool { return !pr.upMoving }

// finish ends the rebalance *on records, once it is settled; until then
// it stays on, and the next plan ends it (or, after an abort, goes on).
func (pr *projection) finish(on *bool) {
	if pr.settled() {
		*on = false
	}
}

// startWindows opens the in-flight windows (see newWindows), on when on.
func (pr *projection) startWindows(p Policy, on bool, sc *scratch) {
	pr.win = newWindows(p, on, pr.nodes, sc)
}

// markMoved records that moves are in flight: the projected bytes and load
// differ from the view's.
func (pr *projection) markMoved() { pr.moved = true }

// inFlight counts a move in flight of r from src to dst as made; fromUp
// says src is up, which holds a rebalance until the move is made (see
// settled).
func (pr *projection) inFlight(r *shardRec, src, dst int, fromUp bool) {
	pr.project(r, src, dst)
	if fromUp {
		pr.upMoving = true
	}
}

// transfer counts a transfer this plan makes of r from src to dst:
// projected, and against both nodes' per-plan move caps. staysInFlight
// says it is out of an up node and stays in flight once the plan applies
// (see settled).
func (pr *projection) transfer(r *shardRec, src, dst int, staysInFlight bool) {
	pr.moved = true
	if staysInFlight {
		pr.upMoving = true
	}
	pr.in[dst]++
	pr.from[src]++
	pr.project(r, src, dst)
}

// countSplit counts one more shard on node i: a split planned there.
func (pr *projection) countSplit(i int) { pr.counts[i]++ }

// countMerge counts one shard fewer on node i: a merge planned there.
func (pr *projection) countMerge(i int) { pr.counts[i]-- }

// dimensions returns the dimensions the balancer balances over the
// projection as it stands: counts, bytes (nil when no bytes are known) and
// load (nil when no load is reported), with their totals over the up
// nodes, and the shard count there. They share the projection's slices, so
// every transfer projected after (see project) is in them at once.
func (pr *projection) dimensions() (count, bytes, load *dimension, shards int) {
	for _, i := range pr.up {
		shards += pr.counts[i]
	}
	count = &dimension{ints: pr.counts, total: float64(shards), share: pr.share, inv: pr.inv}
	if pr.bytes != nil {
		bytes = &dimension{vals: pr.bytes, total: pr.sumUp(pr.bytes), share: pr.share, inv: pr.inv}
	}
	if pr.load != nil {
		load = &dimension{vals: pr.load, total: pr.sumUp(pr.load), share: pr.share, inv: pr.inv}
	}
	return count, bytes, load, shards
}

// anyMoved reports whether a transfer is in flight or planned: the
// projected bytes and load differ from the view's.
func (pr *projection) anyMoved() bool { return pr.moved }

// count is node i's projected shard count.
func (pr *projection) count(i int) int { return pr.counts[i] }

// upNodes are the indexes of the up nodes, in node order. Callers only
// read it.
func (pr *projection) upNodes() []int { return pr.up }

// hasBytes reports whether bytes are known (the planner balances bytes,
// not counts); hasLoad whether load is reported.
func (pr *projection) hasBytes() bool { return pr.bytes != nil }
func (pr *projection) hasLoad() bool  { return pr.load != nil }

// byteVals and loadVals are the projected bytes and load per node (nil
// when unknown), for the spreads the balancer measures. Callers only read
// them.
func (pr *projection) byteVals() []float64 { return pr.bytes }
func (pr *projection) loadVals() []float64 { return pr.load }

// movesOut and movesIn are the transfers this plan makes out of and into
// node i, for the per-plan move caps.
func (pr *projection) movesOut(i int) int { return pr.from[i] }
func (pr *projection) movesIn(i int) int  { return pr.in[i] }

// outWindowFull and inWindowFull report whether node i's in-flight window
// takes no more moves out of it, or into it (see windows).
func (pr *projection) outWindowFull(i int) bool { return pr.win.outFull(i) }
func (pr *projection) inWindowFull(i int) bool  { return pr.win.inFull(i) }

// heldBy names the limit for which node i's window, out of it or into it,
// holds back b more bytes (0: any move): see windows.heldBy.
func (pr *projection) heldBy(i int, out bool, b float64) SkipReason { return pr.win.heldBy(i, out, b) }

// admits returns the byte windows that moving r from src to dst would
// overflow, or none (see windows.admits).
func (pr *projection) admits(r *shardRec, src, dst int) refusal {
	return pr.win.admits(src, dst, pr.sizeOf(r))
}

// drainKey is how full up node i is, for choosing where a drained shard
// goes: its bytes, or its shard count when no bytes are known, for its
// capacity share (see fullness). Capacity weighs in count mode as in every
// other phase.
func (pr *projection) drainKey(i int) float64 { return pr.fullness(i) }

// project counts r on dst instead of src, in every dimension and window.
func (pr *projection) project(r *shardRec, src, dst int) {
	pr.counts[src]--
	pr.counts[dst]++
	b := pr.sizeOf(r)
	pr.win.add(src, dst, b)
	if pr.bytes != nil {
		pr.bytes[src] -= b
		pr.bytes[dst] += b
	}
	if pr.load != nil {
		l := pr.loadOf(r)
		pr.load[src] -= l
		pr.load[dst] += l
	}
}

// projectedImbalance is Imbalance over the projected counts: moves in
// flight counted on their targets.
func (pr *projection) projectedImbalance() float64 {
	total, lo, hi := 0, 0, 0
	for k, i := range pr.up {
		c := pr.counts[i]
		if k == 0 || c < lo {
			lo = c
		}
		if k == 0 || c > hi {
			hi = c
		}
		total += c
	}
	if len(pr.up) < 2 || total == 0 {
		return 0
	}
	return float64(hi-lo) * float64(len(pr.up)) / float64(total)
}

// fullness is how full up node i is for its capacity share, in the
// dimension being balanced: bytes, or counts when no bytes are known.
func (pr *projection) fullness(i int) float64 {
	if pr.bytes != nil {
		return pr.bytes[i] * pr.inv[i]
	}
	return float64(pr.counts[i]) * pr.inv[i]
}

// countTarget is up node i's real target count when the up nodes hold
// total shards: total × its capacity share (exactly total / n with equal
// capacities).
func (pr *projection) countTarget(i, total int) float64 { return float64(total) / pr.inv[i] }

// parts is Σ capacity / up node i's capacity: how many nodes of its size
// hold the total (the node count when capacities are equal).
func (pr *projection) parts(i int) float64 { return pr.inv[i] }

// fmin and fmax are the builtin min and max of two floats, with the same
// result for every input (NaN, ±0), but a plain comparison when the two
// differ: the builtins' handling of NaN and signed zeros costs several
// times a comparison, paid per node in the passes over 100,000 nodes.
func fmin(a, b float64) float64 {
	switch {
	case a < b:
		return a
	case b < a:
		return b
	}
	return min(a, b)
}

func fmax(a, b float64) float64 {
	switch {
	case a > b:
		return a
	case b > a:
		return b
	}
	return max(a, b)
}
