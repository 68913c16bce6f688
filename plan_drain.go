package placement

// drain plans moves off draining nodes, and re-homes the shards of lost
// nodes, each to the up node with the fewest shards (the lowest share of
// bytes when balancing bytes). A lost node's shards are not copied from it,
// so its own move cap does not apply; the destinations' caps do.
func (pl *planner) drain() {
	var refused map[int]bool // destinations whose byte window refused a shard
	// The nodes to drain were listed by measure's one pass over the node
	// records, so a plan with none costs nothing here.
	for _, i := range pl.proj.drainingNodes() {
		n := &pl.s.nodes[i]
		why := Reason{Phase: PhaseDrain}
		if n.State != NodeDraining {
			why.Phase = PhaseRehome
		}
		clear(refused)
		for pl.proj.count(i) > 0 {
			if pl.led.full() {
				pl.led.skip(Skip{Reason: SkipLimitReached, Node: n.ID})
				return
			}
			if n.State == NodeDraining && pl.outFull(i) {
				s := pl.led.capSkip()
				s.Node = n.ID
				pl.led.skip(s)
				break
			}
			r := pl.look.cheapest(n.ID)
			if r == nil {
				break
			}
			dst := pl.emptiest(refused)
			if dst < 0 {
				if len(refused) > 0 {
					break // byte windows: the next plan goes on
				}
				pl.led.skip(Skip{Reason: SkipNoTarget, Node: n.ID})
				return
			}
			w := pl.transfer(r, i, dst, why)
			if w == noRefusal {
				pl.led.lastReason().Left = pl.proj.count(i)
				continue
			}
			if w&srcWindow != 0 {
				break // the source's own window
			}
			// The destination's byte window has no room for this
			// shard: try the next emptiest node.
			if refused == nil {
				refused = map[int]bool{}
			}
			refused[dst] = true
		}
	}
}

// emptiest returns the index of the up node with the fewest projected
// shards (the lowest byte ratio when balancing bytes; lowest ID on ties)
// that is under its move cap and not refused, or -1.
func (pl *planner) emptiest(refused map[int]bool) int {
	best, bestKey := -1, 0.0
	for _, i := range pl.proj.upNodes() {
		if refused[i] || pl.inFull(i) {
			continue
		}
		key := pl.proj.drainKey(i)
		if best < 0 || key < bestKey {
			best, bestKey = i, key
		}
	}
	return best
}
