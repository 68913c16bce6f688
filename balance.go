package placement

import (
	"math"
	"slices"
)

// rebalance plans transfers that even out shard counts over the up nodes.
// It starts when imbalance exceeds the trigger and, once started, goes on
// until the counts are in the stop band. Every transfer goes from a node
// above its target to one below, so the plan never moves more than the
// minimum; see targets.
func (pl *planner) rebalance() {
	up := make([]int, 0, len(pl.s.nodes))
	total := 0
	for i, n := range pl.s.nodes {
		if n.State == NodeUp {
			up = append(up, i)
			total += pl.counts[i]
		}
	}
	if len(up) < 2 || total == 0 {
		pl.out.Rebalancing = false
		return
	}
	if pl.out.Imbalance > pl.pol.ImbalanceThreshold {
		pl.out.Rebalancing = true
	}
	w := bandWidth(pl.pol.StopBand, total, len(up))
	if !pl.out.Rebalancing || pl.spread(up) <= w {
		pl.out.Rebalancing = false
		pl.skip(Skip{Reason: SkipWithinTolerance})
		return
	}
	upCounts := make([]int, len(up))
	for k, i := range up {
		upCounts[k] = pl.counts[i]
	}
	pl.out.MinMoves = minMovesToBand(upCounts, w)
	target := pl.targets(up, total)
	var drained map[int]bool // sources whose every shard is already planned
	for {
		if pl.spread(up) <= w {
			// The band is reached once these moves apply: rebalancing
			// ends here, and only the trigger starts it again.
			pl.out.Rebalancing = false
			return
		}
		if pl.full() {
			pl.skip(Skip{Reason: SkipLimitReached})
			return
		}
		src, dst, capped := -1, -1, false
		for k, i := range up {
			switch {
			case pl.counts[i] > target[k] && !drained[i]:
				if pl.from[i] >= pl.pol.MaxMovesPerNode {
					capped = true
				} else if src < 0 || pl.counts[i] > pl.counts[up[src]] {
					src = k
				}
			case pl.counts[i] < target[k]:
				if pl.in[i] >= pl.pol.MaxMovesPerNode {
					capped = true
				} else if dst < 0 || pl.counts[i] < pl.counts[up[dst]] {
					dst = k
				}
			}
		}
		if src < 0 || dst < 0 {
			reason := SkipNoTarget
			if capped {
				reason = SkipNodeCap
			}
			pl.skip(Skip{Reason: reason})
			return
		}
		r := pl.cheapest(pl.s.nodes[up[src]].ID)
		if r == nil {
			if drained == nil {
				drained = map[int]bool{}
			}
			drained[up[src]] = true
			continue
		}
		pl.transfer(r, up[src], up[dst])
	}
}

// spread returns max − min of the projected counts over the given nodes.
func (pl *planner) spread(idx []int) int {
	lo, hi := math.MaxInt, math.MinInt
	for _, i := range idx {
		lo, hi = min(lo, pl.counts[i]), max(hi, pl.counts[i])
	}
	return hi - lo
}

// targets returns each up node's target count, parallel to up: ⌊S/n⌋ or
// ⌈S/n⌉, the larger ones given to the fullest nodes (lowest ID on ties) so
// that as few shards as possible have to move.
func (pl *planner) targets(up []int, total int) []int {
	order := slices.Clone(up)
	slices.SortFunc(order, func(a, b int) int {
		if pl.counts[a] != pl.counts[b] {
			return pl.counts[b] - pl.counts[a]
		}
		return cmpID(pl.s.nodes[a].ID, pl.s.nodes[b].ID)
	})
	q, r := total/len(up), total%len(up)
	big := make(map[int]bool, r)
	for _, i := range order[:r] {
		big[i] = true
	}
	target := make([]int, len(up))
	for k, i := range up {
		target[k] = q
		if big[i] {
			target[k] = q + 1
		}
	}
	return target
}

func cmpID(a, b NodeID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// bandWidth returns the largest max − min of shard counts whose imbalance
// is within stopBand: ⌊stopBand × total / n⌋, and at least 1 since counts
// cannot be more even than that.
func bandWidth(stopBand float64, total, n int) int {
	w := int(math.Floor(stopBand * float64(total) / float64(n)))
	return max(w, 1)
}

// minMovesToBand returns the fewest transfers that bring counts within a
// spread of w: the least, over feasible bands [L, L+w], of the larger of the
// shards above the band and the room missing below it. Each transfer
// lowers each of those by at most one, and a feasible band can always be
// reached at that cost.
func minMovesToBand(counts []int, w int) int {
	n, total := len(counts), 0
	for _, c := range counts {
		total += c
	}
	lo := max(0, (total+n-1)/n-w) // n·(L+w) ≥ total
	hi := total / n               // n·L ≤ total
	cost := func(l int) (above, below int) {
		for _, c := range counts {
			above += max(0, c-l-w)
			below += max(0, l-c)
		}
		return above, below
	}
	// above falls and below rises with L: find the first L where below
	// catches up; the optimum is there or just before it.
	for lo < hi {
		mid := (lo + hi) / 2
		if a, b := cost(mid); b >= a {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	best := math.MaxInt
	for _, l := range []int{lo - 1, lo} {
		if l < 0 || n*l > total || n*(l+w) < total {
			continue
		}
		a, b := cost(l)
		best = min(best, max(a, b))
	}
	return best
}
