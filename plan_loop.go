package placement

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
	return pl.pairLoop(d.ratio, func(_ int, r float64) bool { return r > 1 }, func(_ int, r float64) bool { return r < 1 }, done, pick)
}

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
func (pl *planner) pairLoop(keyOf func(int) float64, isSrc, isDst func(i int, key float64) bool, done func(hi, lo int) bool,
	pick func(src, dst int) picked) phaseEnd {
	if pl.led.full() {
		pl.led.skip(Skip{Reason: SkipLimitReached})
		return phaseLimited
	}
	// Each pick changes two nodes and uses a source and a destination, so
	// with room for r more picks a few more than 2r nodes of each kind are
	// enough, unless picks fail; ranked then falls back to a full heap.
	picks := min(pl.led.left(), maxPlanned)
	k := 2*picks + 8
	keys := pl.sc.floats.take(len(pl.s.nodes))
	var ext extremes
	srcs, dsts := newRanked(k, true, pl.sc), newRanked(k, false, pl.sc)
	ext.start(k, pl.sc)
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
	ext.finish()
	key := func(i int) float64 { return keys[i] }
	full := func(want func(int, float64) bool) []heapItem {
		var all []heapItem
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
	for {
		if done(ext.top(key, true), ext.top(key, false)) {
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
				ruled[dst] = p.window&dstWindow != 0
				ruled[src] = p.window&srcWindow != 0
			case p.capped:
				capped = true
				ruled[dst] = true
			case p.blame == blameDst:
				ruled[dst] = true
			default:
				ruled[src] = true
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
	}
}

// ranked is the set of nodes a phase may pick from (sources or
// destinations), best key first, built in one pass: it keeps only the k
// best in a sorted list, and a heap for the entries of nodes whose keys
// changed since. Should the list run out while nodes were left out of it,
// the whole set is heaped. Like nodeHeap it drops stale entries and nodes
// the caller rules out as they surface, for good.
type ranked struct {
	best      nodeHeap // while offering: the k best so far, worst on top
	list      []heapItem
	next      int
	truncated bool
	rest      func() []heapItem // the whole set, for the fallback
	moved     nodeHeap
	k         int
}

func newRanked(k int, max bool, sc *scratch) *ranked {
	r := &ranked{k: k}
	r.best = nodeHeap{items: sc.items.take(k + 1)[:0], max: max, worst: true}
	r.moved = nodeHeap{items: sc.items.take(min(2*k, 64))[:0], max: max}
	return r
}

// offer considers one node while the set is built.
func (r *ranked) offer(it heapItem) {
	h := &r.best
	if len(h.items) == r.k {
		r.truncated = true
		if !h.less(h.items[0], it) {
			return
		}
		h.pop()
	}
	h.push(it)
}

// finish sorts the kept nodes, best first; rest builds the whole set if
// the fallback is needed.
func (r *ranked) finish(rest func() []heapItem) {
	h := &r.best
	r.list = make([]heapItem, len(h.items))
	for j := len(r.list) - 1; j >= 0; j-- {
		r.list[j] = h.items[0]
		h.pop()
	}
	r.rest = rest
}

func (r *ranked) push(it heapItem) { r.moved.push(it) }

// top returns the best current node not ruled out, or -1.
func (r *ranked) top(key func(int) float64, out func(int) bool) int {
	for {
		for r.next < len(r.list) {
			it := r.list[r.next]
			if i := int(it.i); key(i) == it.key && !out(i) {
				break
			}
			r.next++
		}
		if r.next == len(r.list) && r.truncated {
			// The kept nodes ran out: heap the whole set, once.
			r.truncated = false
			all := append(r.rest(), r.moved.items...)
			r.moved.init(all, r.moved.max)
			r.list = nil
			r.next = 0
			continue
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
}
