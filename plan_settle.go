package placement

import "math"

// Settled phases: the stability contract's second rule. A balancing phase
// that ran above its trigger and found no move that obeys the rules has
// left the nodes as even as their shards allow: the bytes phase with few
// large shards a node, the load phase with a hot shard that has no split
// key. Re-engaging it every tick would plan nothing (or, as the stats'
// noise turns, trade shards back and forth) at the cost of a full search.
// So it records that it is settled, with the map it settled on, and does
// not engage again until the map changes materially:
//
//   - the up nodes change (one joins, leaves, or changes state);
//   - the planner plans a split, a merge or a move off a node that is not
//     up, or an up node's shard count changes otherwise (a move aborted);
//     the planner's own transfers between up nodes are followed, not
//     counted as a change (see settling.close);
//   - an up node's ratio in the dimension (its amount over its target)
//     moves by more than the phase's trigger, relative to the larger of 1
//     and the ratio it settled at: a change as large as one that starts a
//     rebalance (noise in the stats, smoothed for load, stays well inside
//     it, even on a node whose few shards put it far above its target).
//
// The memory is the Coordinator's, like the hysteresis flags, but soft: it
// is not in the log. A new leader runs a settled phase once, finds it
// settled again, and plans only what the rules allow (MinGain, the
// cool-down), so a failover costs one search, not a burst of moves.

// settleDim names the dimensions a phase can settle in.
type settleDim uint8

const (
	settleBytes  settleDim = iota // the bytes phase
	settleLoad                    // the load phase
	settleRepair                  // the count repair, whose moves the bytes band holds
	settleDims
)

// settleMark is the map one phase settled on: for each up node, in order,
// its ID, shard count and ratio in the phase's dimension.
type settleMark struct {
	ids    []NodeID
	counts []int
	ratios []float64
}

// settling is the settled phases: those the coordinator remembers (prior)
// and those this plan leaves settled (next), which the coordinator adopts
// with the plan. A phase that settles in this plan is marked on the map as
// the whole plan leaves it (see close): a later phase's moves would
// otherwise read, in the next plan, as a material change.
type settling struct {
	prior, next [settleDims]*settleMark
	pending     [settleDims]*dimension
	// moves are this plan's transfers between up nodes, which a phase that
	// stays settled follows (see close); material is set by any other
	// command (a split, a merge, a move off a node that is not up).
	moves    []settleMove
	material bool
}

// settleMove is one transfer of the plan between up nodes, and what it
// carries.
type settleMove struct {
	src, dst    int
	bytes, load float64
}

// planned notes one command of the plan: a transfer between up nodes (src
// and dst are node indexes, fromUp whether the source is up) that a
// settled phase follows, or a material change.
func (st *settling) planned(src, dst int, fromUp bool, bytes, load float64) {
	if !fromUp {
		st.material = true
		return
	}
	st.moves = append(st.moves, settleMove{src: src, dst: dst, bytes: bytes, load: load})
}

// changed notes a split or merge in the plan: a material change.
func (st *settling) changed() { st.material = true }

// holds reports whether phase k settled on a map that has not changed
// materially since: the same up nodes with the same shard counts, and
// every node's ratio of d within band × max(1, what it was) of what it
// was. A phase that holds
// stays settled into the next plan.
func (st *settling) holds(k settleDim, pr *projection, s *state, d *dimension, band float64) bool {
	m := st.prior[k]
	if m == nil || d == nil {
		return false
	}
	up := pr.upNodes()
	if len(up) != len(m.ids) {
		return false
	}
	for j, i := range up {
		if s.nodes[i].ID != m.ids[j] || pr.count(i) != m.counts[j] || math.Abs(d.ratio(i)-m.ratios[j]) > band*max(1, m.ratios[j]) {
			return false
		}
	}
	st.next[k] = m
	return true
}

// record marks phase k settled, on the map as the plan leaves it.
func (st *settling) record(k settleDim, d *dimension) {
	st.next[k], st.pending[k] = nil, d
}

// close makes the marks of the phases that settled in this plan, from the
// projection once every phase has planned, and returns the settled phases.
// A phase that stayed settled keeps its mark, moved by this plan's
// transfers (dims gives each phase's dimension): the planner's own moves
// are not a change of the map, but they do change what it holds, a swap
// without changing any count, and the next plan compares with that. A
// plan with a material change (a split, a merge, a drain) leaves none
// settled.
func (st *settling) close(pr *projection, s *state, dims [settleDims]*dimension) [settleDims]*settleMark {
	if st.material {
		return [settleDims]*settleMark{}
	}
	for k, d := range st.pending {
		if d != nil {
			st.next[k] = mark(pr, s, d)
			continue
		}
		if st.next[k] != nil && len(st.moves) > 0 {
			st.next[k] = st.next[k].follow(pr, dims[k], settleDim(k), st.moves)
		}
	}
	return st.next
}

// follow returns a copy of m moved by transfers: their shards leave and
// join the nodes' counts and ratios (in d: bytes for the bytes phase and
// the count repair, load for the load phase).
func (m *settleMark) follow(pr *projection, d *dimension, k settleDim, moves []settleMove) *settleMark {
	at := make(map[int]int, 2*len(moves)) // node index → position in m
	for j, i := range pr.upNodes() {
		at[i] = j
	}
	n := &settleMark{ids: m.ids, counts: append([]int(nil), m.counts...), ratios: append([]float64(nil), m.ratios...)}
	for _, mv := range moves {
		x := mv.bytes
		if k == settleLoad {
			x = mv.load
		}
		src, dst := at[mv.src], at[mv.dst]
		n.counts[src]--
		n.counts[dst]++
		if d != nil && d.total > 0 {
			n.ratios[src] -= x / d.target(mv.src)
			n.ratios[dst] += x / d.target(mv.dst)
		}
	}
	return n
}

// mark is the map as pr holds it, for a phase of dimension d.
func mark(pr *projection, s *state, d *dimension) *settleMark {
	up := pr.upNodes()
	m := &settleMark{ids: make([]NodeID, len(up)), counts: make([]int, len(up)), ratios: make([]float64, len(up))}
	for j, i := range up {
		m.ids[j], m.counts[j], m.ratios[j] = s.nodes[i].ID, pr.count(i), d.ratio(i)
	}
	return m
}

// settleIf records phase k settled when it ended stuck with its projected
// spread still above its stop band: above the trigger, so that it does not
// engage again every plan, and between the band and the trigger, so that
// noise that lifts the spread over the trigger does not engage it either.
func (pl *planner) settleIf(end phaseEnd, k settleDim, d *dimension, vals []float64, stop float64) {
	if end == phaseStuck && pl.proj.spreadOf(vals) > stop {
		pl.settle.record(k, d)
	}
}

// balanceLoop runs a balancing phase's pair loop (ratioLoop). A phase that
// found nothing to move while the cool-down held back some of its
// candidates is limited, not stuck, like one a window held back: its
// moves wait for the cool-down to end, so it stays on and is not settled.
func (pl *planner) balanceLoop(d *dimension, done func(hi, lo int) bool, pick func(src, dst int) picked) phaseEnd {
	before := pl.led.coolHits()
	end := pl.ratioLoop(d, done, pick)
	if end == phaseStuck && pl.led.coolHits() > before {
		return phaseLimited
	}
	return end
}

// settledCrossing reports whether phase k, not rebalancing, sees its
// spread over its trigger on a map that has not changed materially since
// the phase settled or came to rest: the crossing is noise, not a change,
// and does not start a rebalance.
func (pl *planner) settledCrossing(on bool, k settleDim, d *dimension, spread, trigger float64) bool {
	return !on && spread > trigger && pl.settle.holds(k, &pl.proj, pl.s, d, trigger)
}

// rest records phase k at rest between its stop band and its trigger, on
// the map as it is, unless it is at rest on a map that has not changed
// materially since: noise that lifts its spread over the trigger later
// then starts nothing (see settledCrossing), while a material change
// does. A phase at rest within its stop band needs no mark.
func (pl *planner) rest(on bool, k settleDim, d *dimension, vals []float64, stop, trigger float64) {
	if !on && pl.proj.spreadOf(vals) > stop && !pl.settle.holds(k, &pl.proj, pl.s, d, trigger) {
		pl.settle.record(k, d)
	}
}
