package placement

import "sync"

// scratch holds one plan's per-node working slices. Plans take them from a
// pool and give them back, so a plan over 10,000 nodes neither allocates
// nor leaves the GC megabytes to clear; nothing in a returned Plan points
// into them.
type scratch struct {
	ints    arena[int]
	floats  arena[float64]
	items   arena[heapItem]
	flights arena[flight]
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch {
	sc := scratchPool.Get().(*scratch)
	sc.ints.off, sc.floats.off, sc.items.off, sc.flights.off = 0, 0, 0, 0
	return sc
}

// arena hands out zeroed slices from one buffer. When the buffer is
// exhausted it starts a larger one; slices already handed out keep the old
// one, and the next plan fits in the new one.
type arena[T any] struct {
	buf []T
	off int
}

func (a *arena[T]) take(n int) []T {
	s := a.takeDirty(n)
	clear(s)
	return s
}

// takeDirty is take without the zeroing: the slice holds what an earlier
// plan left there. For a caller that writes every element before it
// reads one; at 100,000 nodes, clearing slices that are written over
// anyway is a good part of a plan's memory traffic.
func (a *arena[T]) takeDirty(n int) []T {
	if a.off+n > len(a.buf) {
		a.buf = make([]T, max(2*len(a.buf), a.off+n))
		a.off = 0
	}
	s := a.buf[a.off : a.off+n : a.off+n]
	a.off += n
	return s
}
