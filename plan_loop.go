package placement

import "slices"

// phaseEnd is how a balancing phase ended.
type phaseEnd uint8

const (
	// phaseDone: the phase's goal is reached once the plan applies.
	phaseDone phaseEnd = iota
	// phaseLimited: the plan's limit or a node's move cap stopped it;
	// the next plan goes on.
	phaseLimited
	// phaseStuck: no move that obeys the rules (narrow the pair, keep the
	// other dimensions in their bands) is left: the nodes are as even as
	// their shards allow.
	phaseStuck
)

// picked is how one pick of a balancing phase ended: a move planned, or
// the node to blame, and the byte windows that refused a transfer it tried
// (see refusal). The windows are blamed first: a phase held back by one is
// limited, not stuck.
type picked struct {
	blame  blame
	window refusal
	// capped: the pick needed more room than the plan or a node's move
	// cap had left (a swap's two transfers), so the phase is limited, not
	// stuck, and the node blamed is out for the rest of it.
	capped bool
}

// blame is the node a failed pick rules out for the rest of its phase.
type blame uint8

const (
	noBlame  blame = iota // the pick planned its move
	blameSrc              // the source has nothing that may go
	blameDst              // the destination may take nothing the source has
)

func (p picked) ok() bool { return p.blame == noBlame && p.window == noRefusal }

// transferred is the end of a pick that tried one transfer, with its refusal.
func transferred(w refusal) picked {
	if w != noRefusal {
		return picked{blame: blameDst, window: w}
	}
	return picked{}
}

// ratioLoop is pairLoop over dimension d's ratios: sources are above their
// targets, destinations below.
func (pl *planner) ratioLoop(d *dimension, done func(hi, lo int) bool, pick func(src, dst int) picked) phaseEnd {
	return pl.runPairs(d.ratio, ratioAbove, ratioBelow, d, done, pick)
}

func ratioAbove(_ int, r float64) bool { return r > 1 }
func ratioBelow(_ int, r float64) bool { return r < 1 }

// pairLoop runs one balancing phase: while done (given the up nodes of
// highest and lowest key) is false and the plan has room, it asks pick for
// a move from the source of highest key to the destination of lowest key
// (ties to the lowest node ID). A node is a source while isSrc holds and a
// destination while isDst holds; a pick that fails rules out the node it
// blames for the rest of the phase. It reports how the phase ended.
//
// It never scans every node per move: one pass computes the keys and keeps
// the few best sources, destinations and extremes (see ranked and
// extremes); after that a move costs O(log nodes).
//
// Nor does it try every pair when picks fail: a phase that is stuck (its
// spread above the trigger, no move left that obeys the rules) would
// otherwise try one node after another, each pick a few B-tree lookups,
// and cost tens of milliseconds at 10,000 nodes, every plan. After the
// plan's scan budget (scanLimit) of failed picks the phase ends as stuck,
// reporting SkipScanBudget: the next plan, on the same map, would try the
// same picks in the same order. The budget is far above what the failed
// picks of a phase that goes on to find its moves come to (a few, a few
// dozen on adversarial maps), so it changes no plan that finds them.
func (pl *planner) pairLoop(keyOf func(int) float64, isSrc, isDst func(i int, key float64) bool, done func(hi, lo int) bool,
	pick func(src, dst int) picked) phaseEnd {
	return pl.runPairs(keyOf, isSrc, isDst, nil, done, pick)
}

// runPairs is pairLoop. When ratio is not nil, the keys are its ratios and
// isSrc and isDst are ratioAbove and ratioBelow: the pass over the up
// nodes then computes them inline, without a call per node.
func (pl *planner) runPairs(keyOf func(int) float64, isSrc, isDst func(i int, key float64) bool, ratio *dimension,
	done func(hi, lo int) bool, pick func(src, dst int) picked) phaseEnd {
	if pl.led.full() {
		pl.led.skip(Skip{Reason: SkipLimitReached})
		return phaseLimited
	}
	// Each pick changes two nodes and uses a source and a destination, so
	// with room for r more picks a few more than 2r nodes of each kind are
	// enough, unless picks fail; ranked then refills its list.
	picks := min(pl.led.left(), maxPlanned)
	budget := pl.led.scanLimit()
	k := 2*picks + 8
	keys := pl.sc.floats.takeDirty(len(pl.s.nodes)) // read only at up nodes, each written below
	var ext extremes
	srcs, dsts := newRanked(k, true, pl.sc), newRanked(k, false, pl.sc)
	ext.start(k, pl.sc)
	if ratio != nil {
		pl.scanRatios(ratio, keys, &ext, srcs, dsts)
	} else {
		for _, i := range pl.proj.upNodes() {
			key := keyOf(i)
			keys[i] = key
			it := heapItem{key: key, i: int32(i)}
			ext.offer(it)
			switch {
			case isSrc(i, key):
				srcs.offer(it)
			case isDst(i, key):
				dsts.offer(it)
			}
		}
	}
	ext.finish()
	key := func(i int) float64 { return keys[i] }
	full := func(want func(int, float64) bool) []heapItem {
		all := pl.sc.items.take(len(pl.proj.upNodes()))[:0]
		for _, i := range pl.proj.upNodes() {
			if want(i, keys[i]) {
				all = append(all, heapItem{key: keys[i], i: int32(i)})
			}
		}
		return all
	}
	srcs.finish(func() []heapItem { return full(isSrc) })
	dsts.finish(func() []heapItem { return full(isDst) })

	var ruled map[int]bool
	capped := false
	failed := 0
	srcOut := func(i int) bool {
		if ruled[i] || !isSrc(i, keys[i]) {
			return true
		}
		if pl.outFull(i) {
			capped = true
			return true
		}
		return false
	}
	dstOut := func(i int) bool {
		if ruled[i] || !isDst(i, keys[i]) {
			return true
		}
		if pl.inFull(i) {
			capped = true
			return true
		}
		return false
	}
	// The last pick that planned, whose spread after it is this
	// iteration's (see measured): its first command and its spread before.
	measuring, spreadBefore := -1, 0.0
	for {
		hi, lo := ext.top(key, true), ext.top(key, false)
		if measuring >= 0 {
			pl.led.measured(measuring, spreadBefore, keys[hi]-keys[lo])
			measuring = -1
		}
		if done(hi, lo) {
			return phaseDone
		}
		if pl.led.full() {
			pl.led.skip(Skip{Reason: SkipLimitReached})
			return phaseLimited
		}
		src, dst := srcs.top(key, srcOut), dsts.top(key, dstOut)
		if src < 0 || dst < 0 {
			if capped {
				pl.led.skip(pl.led.capSkip())
				return phaseLimited
			}
			pl.led.skip(Skip{Reason: SkipNoTarget})
			return phaseStuck
		}
		planned, before := pl.led.planned(), 0.0
		if ratio != nil {
			before = keys[hi] - keys[lo]
		}
		p := pick(src, dst)
		if !p.ok() {
			if ruled == nil {
				ruled = map[int]bool{}
			}
			switch {
			case p.window != noRefusal:
				// A byte window held the move back: the phase is limited,
				// not stuck, and the node whose window is full is out.
				capped = true
				ruled[dst] = p.window&(dstWindow|churnRefused) != 0
				ruled[src] = p.window&srcWindow != 0
			case p.capped:
				capped = true
				ruled[dst] = true
			case p.blame == blameDst:
				ruled[dst] = true
			default:
				ruled[src] = true
			}
			if failed++; failed == budget {
				// See pairLoop. Held back by a window, the phase is
				// limited as it would be had it run out of nodes.
				pl.led.skip(Skip{Reason: SkipScanBudget})
				if capped {
					return phaseLimited
				}
				return phaseStuck
			}
			continue
		}
		for _, i := range [2]int{src, dst} {
			keys[i] = keyOf(i)
			it := heapItem{key: keys[i], i: int32(i)}
			ext.touch(i)
			srcs.push(it)
			dsts.push(it)
		}
		if ratio != nil {
			// The keys are the dimension's ratios: the spread is the
			// highest less the lowest, before the pick and, found by the
			// next iteration's extremes, after it.
			measuring, spreadBefore = planned, before
		}
	}
}

// scanRatios is runPairs' pass over the up nodes for the ratios of d: each
// key is d.ratio's expression, so the same bits. At 100,000 nodes this
// pass is a good part of a plan, so it is written out: no call a node
// but for the few the heaps keep.
func (pl *planner) scanRatios(d *dimension, keys []float64, ext *extremes, srcs, dsts *ranked) {
	inv, total, vals, ints := d.inv, d.total, d.vals, d.ints
	hi, lo, k := &ext.hiBest, &ext.loBest, ext.k
	for _, i := range pl.proj.upNodes() {
		var key float64
		if ints != nil {
			key = float64(ints[i]) * inv[i] / total
		} else {
			key = vals[i] * inv[i] / total
		}
		keys[i] = key
		it := heapItem{key: key, i: int32(i)}
		if hi.keeps(it, k) {
			hi.keep(it, k)
		}
		if lo.keeps(it, k) {
			lo.keep(it, k)
		}
		r := srcs
		switch {
		case key > 1:
		case key < 1:
			r = dsts
		default:
			continue
		}
		if len(r.best.items) == r.k {
			r.truncated = true
		}
		if r.best.keeps(it, r.k) {
			r.best.keep(it, r.k)
		}
	}
}

// ranked is the set of nodes a phase may pick from (sources or
// destinations), best key first, built in one pass: it keeps only the k
// best in a sorted list, and a heap for the entries of nodes whose keys
// changed since. Should the list run out while nodes were left out of it,
// it is refilled with the next best, twice as many each time (see
// refill). Like nodeHeap it drops stale entries and nodes the caller
// rules out as they surface, for good.
type ranked struct {
	best      nodeHeap // while offering: the k best so far, worst on top
	list      []heapItem
	next      int
	truncated bool
	rest      func() []heapItem // the whole set, in index order, for refill
	merged    bool              // refilled: see top
	moved     nodeHeap
	k         int
	sc        *scratch
}

func newRanked(k int, max bool, sc *scratch) *ranked {
	r := &ranked{k: k, sc: sc}
	r.best = nodeHeap{items: sc.items.take(k + 1)[:0], max: max, worst: true}
	r.moved = nodeHeap{items: sc.items.take(min(2*k, 64))[:0], max: max}
	return r
}

// offer considers one node while the set is built. Nodes are offered in
// index order (see nodeHeap.keeps).
func (r *ranked) offer(it heapItem) {
	if len(r.best.items) == r.k {
		r.truncated = true
	}
	if r.best.keeps(it, r.k) {
		r.best.keep(it, r.k)
	}
}

// finish sorts the kept nodes, best first; rest returns the whole set, in
// index order, if a refill is needed.
func (r *ranked) finish(rest func() []heapItem) {
	r.rest = rest
	r.sortKept()
}

// sortKept makes the kept nodes the list, best first, in place.
func (r *ranked) sortKept() {
	order := nodeHeap{max: r.best.max}
	slices.SortFunc(r.best.items, func(a, b heapItem) int {
		if order.less(a, b) {
			return -1
		}
		return 1 // never equal: no two entries are for the same node
	})
	r.list, r.next = r.best.items, 0
}

// refill replaces the list, run out, with the next best nodes: of the
// nodes worse than its last entry, the best 2k. A node not in the list
// whose key has not changed since it was built is worse than every entry,
// so it is among those (its key is its key then); a node whose key
// changed has a current entry in the moved heap (one here too is
// harmless: both are current). So the list and the heap still hold every
// node that may be picked, and the next pick is the same as with a heap
// over every node, for one pass over the set per doubling rather than a
// heap over every node: a phase whose picks fail runs through many nodes
// (see pairLoop's budget).
func (r *ranked) refill() {
	last := r.list[len(r.list)-1]
	order := nodeHeap{max: r.best.max}
	r.k *= 2
	r.best.items = r.sc.items.take(r.k + 1)[:0]
	r.truncated = false
	for _, it := range r.rest() {
		if order.less(last, it) {
			r.offer(it)
		}
	}
	r.sortKept()
}

func (r *ranked) push(it heapItem) { r.moved.push(it) }

// top returns the best current node not ruled out, or -1.
//
// out may have side effects (it reports full windows), so the order in
// which entries are checked is part of the plan. Until the first refill,
// the list's entries are checked before the moved heap's; from then on,
// list and heap are merged, best entry first, which checks them in the
// order one heap over every node would.
func (r *ranked) top(key func(int) float64, out func(int) bool) int {
	current := func(it heapItem) bool { i := int(it.i); return key(i) == it.key && !out(i) }
	for r.merged {
		if r.next == len(r.list) && r.truncated {
			r.refill()
			continue
		}
		if r.next < len(r.list) && (len(r.moved.items) == 0 || r.moved.less(r.list[r.next], r.moved.items[0])) {
			if it := r.list[r.next]; current(it) {
				return int(it.i)
			}
			r.next++
			continue
		}
		if len(r.moved.items) == 0 {
			return -1
		}
		if it := r.moved.items[0]; current(it) {
			return int(it.i)
		}
		r.moved.pop()
	}
	for r.next < len(r.list) && !current(r.list[r.next]) {
		r.next++
	}
	if r.next == len(r.list) && r.truncated {
		r.refill()
		r.merged = true
		return r.top(key, out)
	}
	m := r.moved.top(key, out)
	if r.next == len(r.list) {
		return m
	}
	l := int(r.list[r.next].i)
	if m >= 0 && r.moved.less(heapItem{key(m), int32(m)}, r.list[r.next]) {
		return m
	}
	return l
}
