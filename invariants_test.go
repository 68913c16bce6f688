package placement

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
)

// dump is everything replicated about a registry, for comparing replicas
// and checking that a rejected command changed nothing.
type dump struct {
	Nodes       []Node
	Shards      []Shard
	Stats       map[ShardID]Stats
	NextID      ShardID
	Rebalancing SetRebalancing
	Format      uint64
}

func dumpOf(v View) dump {
	d := dump{Nodes: v.Nodes(), NextID: v.NextShardID(), Stats: map[ShardID]Stats{}, Rebalancing: v.Rebalancing(), Format: v.FormatVersion()}
	for sh := range v.Shards() {
		d.Shards = append(d.Shards, sh)
		if st, ok := v.Stats(sh.ID); ok {
			d.Stats[sh.ID] = st
		}
	}
	return d
}

// checkInvariants recomputes every index of s naively and compares.
func checkInvariants(v View) error {
	s := v.state()
	var recs []*shardRec
	s.byStart.Ascend(func(r *shardRec) bool { recs = append(recs, r); return true })
	if s.byID.Len() != len(recs) || s.byNode.Len() != len(recs) {
		return fmt.Errorf("index sizes: start %d id %d node %d", len(recs), s.byID.Len(), s.byNode.Len())
	}
	counts := map[NodeID]int{}
	usage := map[NodeID]Usage{}
	ids := map[ShardID]bool{}
	known, loaded := 0, 0
	for i, r := range recs {
		if !r.Range.Valid() {
			return fmt.Errorf("invalid range %v", s.public(r))
		}
		if i > 0 && recs[i-1].Range.Overlaps(r.Range) {
			return fmt.Errorf("overlap: %v and %v", s.public(recs[i-1]), s.public(r))
		}
		if ids[r.ID] {
			return fmt.Errorf("duplicate ID %d", r.ID)
		}
		ids[r.ID] = true
		if r.ID >= s.nextID {
			return fmt.Errorf("shard %d not below next ID %d", r.ID, s.nextID)
		}
		if got, ok := s.shard(r.ID); !ok || got != r {
			return fmt.Errorf("byID disagrees for %d", r.ID)
		}
		if s.nodeIndex(r.Node) < 0 {
			return fmt.Errorf("shard %d on unknown node %d", r.ID, r.Node)
		}
		counts[r.Node]++
		if r.known {
			u := usage[r.Node]
			u.Known++
			u.Bytes += r.bytes
			u.Load += float64(r.load)
			usage[r.Node] = u
		}
		if r.loaded() {
			loaded++
			if !s.byLoad.Has(r) {
				return fmt.Errorf("shard %d missing from the load index", r.ID)
			}
		}
		if r.known {
			known++
			if !s.byKeys.Has(r) || !s.byBytes.Has(r) {
				return fmt.Errorf("shard %d missing from a stats index", r.ID)
			}
		}
	}
	if s.byKeys.Len() != known || s.byBytes.Len() != known || s.byLoad.Len() != loaded {
		return fmt.Errorf("stats indexes hold %d/%d/%d, want %d/%d",
			s.byKeys.Len(), s.byBytes.Len(), s.byLoad.Len(), known, loaded)
	}
	if !sort.SliceIsSorted(s.nodes, func(i, j int) bool { return s.nodes[i].ID < s.nodes[j].ID }) {
		return fmt.Errorf("nodes not sorted")
	}
	for _, n := range s.nodes {
		if n.Shards != counts[n.ID] {
			return fmt.Errorf("node %d count %d, recount %d", n.ID, n.Shards, counts[n.ID])
		}
		hottest := float32(0)
		s.byLoad.Ascend(func(r *shardRec) bool {
			if r.Node == n.ID {
				hottest = max(hottest, r.load)
			}
			return true
		})
		if n.hottest != hottest {
			return fmt.Errorf("node %d hottest %v, recount %v", n.ID, n.hottest, hottest)
		}
		// Load sums are floats updated in place: equal up to rounding.
		u, want := n.usage, usage[n.ID]
		if u.Known != want.Known || u.Bytes != want.Bytes || math.Abs(u.Load-want.Load) > 1e-6*(1+want.Load) {
			return fmt.Errorf("node %d usage %+v, recount %+v", n.ID, u, want)
		}
	}
	var orphan error
	s.hints.Ascend(func(h hintItem) bool {
		if !ids[h.id] {
			orphan = fmt.Errorf("hint for missing shard %d", h.id)
		}
		return orphan == nil
	})
	if orphan != nil {
		return orphan
	}
	var nodeOrder []*shardRec
	s.byNode.Ascend(func(r *shardRec) bool { nodeOrder = append(nodeOrder, r); return true })
	if !slices.IsSortedFunc(nodeOrder, func(a, b *shardRec) int { return cmpBool(lessNodeCost(a, b), lessNodeCost(b, a)) }) {
		return fmt.Errorf("byNode out of order")
	}
	var want []mergePair
	for i := 1; i < len(recs); i++ {
		l, r := recs[i-1], recs[i]
		if !bytes.Equal(l.Range.End, r.Range.Start) || l.Range.End == nil {
			continue
		}
		if p, ok := pairOf(l, r); ok {
			want = append(want, p)
		}
	}
	sort.Slice(want, func(i, j int) bool { return lessPair(want[i], want[j]) })
	var got []mergePair
	s.pairs.Ascend(func(p mergePair) bool { got = append(got, p); return true })
	if !slices.Equal(got, want) {
		return fmt.Errorf("merge pairs %v, recomputed %v", got, want)
	}
	// Every move in flight is of an existing shard, from its owner, into
	// another node that is up.
	var bad error
	s.moves.Ascend(func(m moveItem) bool {
		r, ok := s.shard(m.id)
		i := s.nodeIndex(m.to)
		switch {
		case !ok:
			bad = fmt.Errorf("move of unknown shard %d", m.id)
		case m.from != r.Node || m.to == r.Node:
			bad = fmt.Errorf("move %+v of shard owned by %d", m, r.Node)
		case i < 0 || s.nodes[i].State != NodeUp:
			bad = fmt.Errorf("move %+v into a node that is not up", m)
		}
		return bad == nil
	})
	return bad
}

func cmpBool(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}
