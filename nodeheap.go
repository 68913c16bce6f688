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
}

type heapItem struct {
	key float64
	id  NodeID
	i   int32 // index in state.nodes
}

func (h *nodeHeap) less(a, b heapItem) bool {
	if a.key != b.key {
		return (a.key > b.key) == h.max
	}
	return a.id < b.id
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
