package placement

// inflight projects the moves in flight as already made: each counts on its
// target in the counts, bytes and load the planner balances, and fills the
// two nodes' windows. A moving shard is in the plan already, so no phase
// splits, merges or moves it again (see taken). It costs O(moves in flight), plus
// O(nodes) to set up the windows when they apply (see windows): at format
// version 1 or 2, with nothing in flight, it costs nothing.
func (pl *planner) inflight() {
	pl.proj.startWindows(pl.pol, pl.windows(), pl.sc)
	if pl.s.moves.Len() == 0 {
		return
	}
	pl.proj.markMoved() // the projected bytes and load differ from the view's
	index := pl.nodeIndexer()
	pl.s.moves.Ascend(func(m moveItem) bool {
		src, dst := index(m.from), index(m.to)
		if src < 0 || dst < 0 {
			return true // cannot happen: check keeps moves consistent
		}
		pl.proj.inFlight(m.rec, src, dst, pl.s.nodes[src].State == NodeUp)
		return true
	})
}

// outFull reports whether node i may send no more shards in this plan: its
// per-plan cap (MaxMovesPerNode) or its in-flight window is reached. A lost
// node's shards are not copied from it: its windows do not apply.
func (pl *planner) outFull(i int) bool {
	if pl.proj.movesOut(i) >= pl.pol.MaxMovesPerNode {
		return true
	}
	return pl.windowFull(i, pl.proj.outWindowFull(i), true)
}

// inFull is outFull for receiving.
func (pl *planner) inFull(i int) bool {
	if pl.proj.movesIn(i) >= pl.pol.MaxMovesPerNode {
		return true
	}
	return pl.windowFull(i, pl.proj.inWindowFull(i), false)
}

// windowFull reports full, and node i's window (out of it when out is
// set) as the reason when it is, naming the limit reached (see heldBy).
func (pl *planner) windowFull(i int, full, out bool) bool {
	if full {
		pl.led.windowSkip(i, pl.proj.heldBy(i, out, 0))
	}
	return full
}

// fits returns none when moving r from src to dst keeps both nodes' bytes
// in flight within MaxInflightBytesPerNode (or nothing is in flight there
// yet), else the windows that refuse it; in a rebalancing phase, also
// that the churn budget admits it.
func (pl *planner) fits(r *shardRec, src, dst int) refusal {
	refused := pl.proj.admits(r, src, dst)
	if refused&dstWindow != 0 {
		pl.led.windowSkip(dst, pl.proj.heldBy(dst, false, pl.proj.sizeOf(r)))
	}
	if refused&srcWindow != 0 {
		pl.led.windowSkip(src, pl.proj.heldBy(src, true, pl.proj.sizeOf(r)))
	}
	if refused == noRefusal && !pl.churnAdmits(pl.proj.sizeOf(r), 1) {
		return churnRefused
	}
	return refused
}

// windows reports whether moves take time, so the in-flight windows
// apply: transfers are two-phase (format version 3) and not instant
// (Policy.InstantMoves). A one-phase transfer is over once it applies; the
// per-plan MaxMovesPerNode still paces it.
func (pl *planner) windows() bool {
	return pl.s.formatVersion >= versionMoves && !pl.pol.InstantMoves
}

// nodeIndexer returns a function from a node ID to its index in s.nodes
// (-1 if none), for the moves in flight: two lookups a move. Where node IDs
// are dense (the largest at most 4 × nodes + 64, as hosts number them) it
// is a table lookup; otherwise the binary search of state.nodeIndex.
func (pl *planner) nodeIndexer() func(NodeID) int {
	nodes := pl.s.nodes
	n := len(nodes)
	if n == 0 {
		return func(NodeID) int { return -1 }
	}
	if top := nodes[n-1].ID; top <= NodeID(4*n+64) {
		pos := pl.sc.ints.take(int(top) + 1)
		for i := range pos {
			pos[i] = -1
		}
		for i := range nodes {
			pos[nodes[i].ID] = i
		}
		return func(id NodeID) int {
			if id > top {
				return -1
			}
			return pos[id]
		}
	}
	return pl.s.nodeIndex
}
