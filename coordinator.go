package placement

import "math"

// Coordinator is the pure planner. Plan reads a View and returns the
// commands to propose and the reasons other candidates were left out. It
// starts no goroutines, takes no locks, reads no clock, logs nothing and
// does no I/O, and never modifies the View.
//
// Its one piece of memory is whether rebalancing is in progress (the
// hysteresis between Policy.ImbalanceThreshold and Policy.StopBand), so
// Plan's output is a function of the view, the limit, the policy and that
// flag. A Coordinator is not safe for concurrent use.
type Coordinator struct {
	policy      Policy
	rebalancing bool
}

// NewCoordinator returns a planner for p. p should pass Policy.Validate;
// the Scheduler's constructor checks it.
func NewCoordinator(p Policy) *Coordinator {
	return &Coordinator{policy: p}
}

// Policy returns the coordinator's policy.
func (c *Coordinator) Policy() Policy { return c.policy }

// Rebalancing reports whether the last plan left rebalancing in progress.
func (c *Coordinator) Rebalancing() bool { return c.rebalancing }

// ResumeRebalancing makes the next plan rebalance down to the stop band even
// if imbalance is under the trigger. A new leader calls it, since a
// rebalance its predecessor started may be unfinished.
func (c *Coordinator) ResumeRebalancing() { c.rebalancing = true }

// Plan returns at most limit commands for v: moves off draining nodes
// first, then splits of oversized shards, merges of cold neighbours, and
// transfers that even out shard counts. A limit below 1 plans nothing.
func (c *Coordinator) Plan(v View, limit int) Plan {
	p := c.preview(v, limit)
	c.rebalancing = p.Rebalancing
	return p
}

// preview is Plan without updating the hysteresis flag.
func (c *Coordinator) preview(v View, limit int) Plan {
	s := v.state()
	pl := &planner{
		pol:    c.policy,
		s:      s,
		limit:  limit,
		budget: scanBudget(limit),
	}
	// One allocation for the three per-node slices.
	perNode := make([]int, 3*len(s.nodes))
	pl.counts, pl.in, pl.from = perNode[:len(s.nodes)], perNode[len(s.nodes):2*len(s.nodes)], perNode[2*len(s.nodes):]
	for i, n := range s.nodes {
		pl.counts[i] = n.Shards
	}
	pl.out.Imbalance = imbalanceOf(s.nodes)
	pl.out.Rebalancing = c.rebalancing
	if limit < 1 {
		pl.skip(Skip{Reason: SkipLimitReached})
		return pl.out
	}
	pl.drain()
	pl.split()
	pl.merge()
	pl.rebalance()
	return pl.out
}

// scanBudget bounds how many candidates one phase examines, so a plan's
// cost follows its decisions rather than the size of the map. The limit is
// clamped so that a huge one neither overflows nor sizes anything.
func scanBudget(limit int) int { return 64 + 8*min(limit, maxPlanned) }

// maxPlanned caps what a plan sizes up front from its limit.
const maxPlanned = 1 << 16

// planner is the working state of one Plan call.
type planner struct {
	pol    Policy
	s      *state
	limit  int
	budget int
	out    Plan
	used   map[ShardID]bool
	counts []int // projected shard counts, parallel to s.nodes
	in     []int // transfers into each node, parallel to s.nodes
	from   []int // transfers out of each node, parallel to s.nodes
}

// full reports whether the plan holds limit commands.
func (pl *planner) full() bool { return len(pl.out.Commands) >= pl.limit }

func (pl *planner) skip(s Skip) { pl.out.Skipped = append(pl.out.Skipped, s) }

func (pl *planner) use(cmd Command, shards ...ShardID) {
	if pl.used == nil {
		pl.used = make(map[ShardID]bool, 2*min(pl.limit, 64))
	}
	for _, id := range shards {
		pl.used[id] = true
	}
	pl.out.Commands = append(pl.out.Commands, cmd)
}

// transfer plans moving r to the node at index dst.
func (pl *planner) transfer(r *shardRec, src, dst int) {
	to := pl.s.nodes[dst].ID
	pl.use(PlaceTransfer{Shard: r.ID, Epoch: r.Epoch, From: r.Node, To: to}, r.ID)
	pl.in[dst]++
	pl.from[src]++
	pl.counts[src]--
	pl.counts[dst]++
}

// cheapest returns the cheapest shard on node that is not in the plan yet.
func (pl *planner) cheapest(node NodeID) (out *shardRec) {
	pl.s.byNode.AscendGreaterOrEqual(nodeProbe(node), func(r *shardRec) bool {
		if r.Node != node {
			return false
		}
		if !pl.used[r.ID] {
			out = r
			return false
		}
		return true
	})
	return out
}

// drain plans moves off draining nodes, each to the up node with the fewest
// shards.
func (pl *planner) drain() {
	for i, n := range pl.s.nodes {
		if n.State != NodeDraining {
			continue
		}
		for pl.counts[i] > 0 {
			if pl.full() {
				pl.skip(Skip{Reason: SkipLimitReached, Node: n.ID})
				return
			}
			if pl.from[i] >= pl.pol.MaxMovesPerNode {
				pl.skip(Skip{Reason: SkipNodeCap, Node: n.ID})
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
			pl.transfer(r, i, dst)
		}
	}
}

// emptiest returns the index of the up node with the fewest projected
// shards (lowest ID on ties) that is under its move cap, or -1.
func (pl *planner) emptiest() int {
	best := -1
	for i, n := range pl.s.nodes {
		if n.State != NodeUp || pl.in[i] >= pl.pol.MaxMovesPerNode {
			continue
		}
		if best < 0 || pl.counts[i] < pl.counts[best] {
			best = i
		}
	}
	return best
}

// nodeUp reports whether id is an up node, and its index.
func (pl *planner) nodeUp(id NodeID) (int, bool) {
	i := pl.s.nodeIndex(id)
	return i, i >= 0 && pl.s.nodes[i].State == NodeUp
}

// fraction returns ⌊f × x⌋, saturating.
func fraction(f float64, x uint64) uint64 {
	v := f * float64(x)
	if v >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(v)
}
