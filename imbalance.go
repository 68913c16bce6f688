package placement

// Imbalance returns (max − min) / mean of the shard counts over the up
// nodes, empty ones included: an up node with no shards is exactly the node
// that needs some. Draining and down nodes are not counted. It returns 0
// when fewer than two nodes are up or they own no shards. It reads the
// counts the registry maintains, in O(nodes).
//
// It does not weigh capacities: it is the operator's plain figure. The
// planner weighs them in every phase (Plan.Balance.Count is this spread
// relative to capacity shares, and starts the count phase); the two are
// equal when capacities are equal or unknown.
func Imbalance(v View) float64 {
	return imbalanceOf(v.state().nodes)
}

func imbalanceOf(nodes []nodeRec) float64 {
	up, total := 0, 0
	lo, hi := 0, 0
	for _, n := range nodes {
		if n.State != NodeUp {
			continue
		}
		if up == 0 || n.Shards < lo {
			lo = n.Shards
		}
		if up == 0 || n.Shards > hi {
			hi = n.Shards
		}
		up++
		total += n.Shards
	}
	if up < 2 || total == 0 {
		return 0
	}
	return float64(hi-lo) * float64(up) / float64(total)
}
