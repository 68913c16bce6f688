package placement

// nodeHeap is a binary heap of up nodes keyed by a projected figure (a
// count or a ratio), for picking the fullest or emptiest node in O(log
// nodes) instead of scanning every node per move. Ties go to the lowest
// node ID, as a scan in ID order would.
//
// It is lazy: when a node's figure changes, the planner pushes a fresh
// entry, and entries whose key no longer matches the node's current figure
// are dropped as they surface. A node can also be dropped for good by the
// caller (see out).
type nodeHeap struct {
	items []heapItem
	max   bool // the top is the largest key (else the smallest)
	// worst puts the worst node on top instead (the smallest key for max,
	// and the highest index on ties): a heap that keeps the best k.
	worst bool
}

// heapItem is a node's index in state.nodes with its key. Nodes are kept
// in ID order, so the lower index is the lower ID.
type heapItem struct {
	key float64
	i   int32
}

func (h *nodeHeap) less(a, b heapItem) bool {
	if h.worst {
		a, b = b, a
	}
	if a.key != b.key {
		return (a.key > b.key) == h.max
	}
	return a.i < b.i
}

// init heapifies items in O(len).
func (h *nodeHeap) init(items []heapItem, max bool) {
	h.items, h.max = items, max
	for k := len(items)/2 - 1; k >= 0; k-- {
		h.down(k)
	}
}

func (h *nodeHeap) push(it heapItem) {
	h.items = append(h.items, it)
	k := len(h.items) - 1
	for k > 0 {
		p := (k - 1) / 2
		if !h.less(h.items[k], h.items[p]) {
			break
		}
		h.items[k], h.items[p] = h.items[p], h.items[k]
		k = p
	}
}

func (h *nodeHeap) down(k int) {
	n := len(h.items)
	for {
		c := 2*k + 1
		if c >= n {
			return
		}
		if c+1 < n && h.less(h.items[c+1], h.items[c]) {
			c++
		}
		if !h.less(h.items[c], h.items[k]) {
			return
		}
		h.items[k], h.items[c] = h.items[c], h.items[k]
		k = c
	}
}

// keeps reports whether a heap of the best k (worst on top) would keep
// it, offered after every node of lower index: it is not full, or it is
// strictly better than the worst kept. On equal keys the node offered
// later has the higher index, so it is the worse one. This is
// h.less(h.items[0], it) for such an offer, in one comparison a pass over
// every node can afford: most nodes are turned away here.
func (h *nodeHeap) keeps(it heapItem, k int) bool {
	if len(h.items) < k {
		return true
	}
	top := h.items[0].key
	return it.key != top && (it.key > top) == h.max
}

// keep adds it to a heap of the best k (worst on top), dropping the worst
// if the heap is full. Call it when keeps(it, k) holds.
func (h *nodeHeap) keep(it heapItem, k int) {
	if len(h.items) == k {
		h.pop()
	}
	h.push(it)
}

func (h *nodeHeap) pop() {
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items = h.items[:n]
	if n > 0 {
		h.down(0)
	}
}

// top returns the node index with the best key whose entry is current
// (key(i) == its key and not out(i)), dropping stale entries; -1 if none.
func (h *nodeHeap) top(key func(i int) float64, out func(i int) bool) int {
	for len(h.items) > 0 {
		it := h.items[0]
		if i := int(it.i); key(i) == it.key && !out(i) {
			return i
		}
		h.pop()
	}
	return -1
}

// extremes answers "which up node has the highest (lowest) key now" during
// a phase in which only a few nodes change, without a heap over every
// node: it keeps the k nodes of highest and of lowest key at the start,
// and the nodes changed since. With at most k−1 nodes changed, the first
// unchanged node of each list is the extreme of the unchanged ones.
type extremes struct {
	hi, lo         []int32 // node indexes, best first
	changed        []int32
	hiBest, loBest nodeHeap // while offering: the k best so far, worst on top
	k              int
}

// start prepares to keep the k highest and k lowest of the nodes offered.
func (e *extremes) start(k int, sc *scratch) {
	e.hiBest = nodeHeap{items: sc.items.take(k + 1)[:0], max: true, worst: true}
	e.loBest = nodeHeap{items: sc.items.take(k + 1)[:0], max: false, worst: true}
	e.k = k
	e.changed = e.changed[:0]
}

// offer considers one node. Nodes are offered in index order (see
// keeps).
func (e *extremes) offer(it heapItem) {
	if e.hiBest.keeps(it, e.k) {
		e.hiBest.keep(it, e.k)
	}
	if e.loBest.keeps(it, e.k) {
		e.loBest.keep(it, e.k)
	}
}

// finish sorts the kept nodes, best first.
func (e *extremes) finish() {
	e.hi, e.lo = bestFirst(&e.hiBest), bestFirst(&e.loBest)
}

// bestFirst empties a heap of the best k (worst on top) into a list, best
// first.
func bestFirst(h *nodeHeap) []int32 {
	out := make([]int32, len(h.items))
	for j := len(out) - 1; j >= 0; j-- {
		out[j] = h.items[0].i
		h.pop()
	}
	return out
}

// touch records that node i's key changed.
func (e *extremes) touch(i int) {
	for _, c := range e.changed {
		if int(c) == i {
			return
		}
	}
	e.changed = append(e.changed, int32(i))
}

// top returns the node of highest key (max) or lowest key, ties to the
// lowest index.
func (e *extremes) top(key func(int) float64, max bool) int {
	list := e.lo
	if max {
		list = e.hi
	}
	h := nodeHeap{max: max}
	best, bestKey := -1, 0.0
	better := func(i int) {
		k := key(i)
		if best < 0 || h.less(heapItem{k, int32(i)}, heapItem{bestKey, int32(best)}) {
			best, bestKey = i, k
		}
	}
	for _, i := range list {
		if !e.isChanged(int(i)) {
			better(int(i))
			break
		}
	}
	for _, i := range e.changed {
		better(int(i))
	}
	return best
}

func (e *extremes) isChanged(i int) bool {
	for _, c := range e.changed {
		if int(c) == i {
			return true
		}
	}
	return false
}
