package placement

// drain plans moves off draining nodes, and re-homes the shards of lost
// nodes, each to the up node with the fewest shards (the lowest share of
// bytes when balancing bytes). A lost node's shards are not copied from it,
// so its own move cap does not apply; the destinations' caps do.
func (pl *planner) drain() {
	for i, n := range pl.s.nodes {
		if n.State != NodeDraining && n.State != NodeLost {
			continue
		}
		for pl.counts[i] > 0 {
			if pl.full() {
				pl.skip(Skip{Reason: SkipLimitReached, Node: n.ID})
				return
			}
			if n.State == NodeDraining && pl.outFull(i) {
				s := pl.capSkip()
				s.Node = n.ID
				pl.skip(s)
				break
			}
			r := pl.cheapest(n.ID)
			if r == nil {
				break
			}
			dst := pl.emptiest()
			if dst < 0 {
				pl.skip(Skip{Reason: SkipNoTarget, Node: n.ID})
				return
			}
			if !pl.transfer(r, i, dst) {
				break
			}
		}
	}
}

// emptiest returns the index of the up node with the fewest projected
// shards (the lowest byte ratio when balancing bytes; lowest ID on ties)
// that is under its move cap, or -1.
func (pl *planner) emptiest() int {
	best, bestKey := -1, 0.0
	for _, i := range pl.up {
		if pl.inFull(i) {
			continue
		}
		key := float64(pl.counts[i])
		if pl.bytes != nil {
			key = pl.bytes[i] / pl.share[i]
		}
		if best < 0 || key < bestKey {
			best, bestKey = i, key
		}
	}
	return best
}
