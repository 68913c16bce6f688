// Package baseline is a straightforward port of the original, naive shard
// scheduler. The benchmarks in package placement run it beside
// Coordinator.Plan on the same data, so that the speed-up the DESIGN.md
// targets promise ("≥ 100× the baseline") is measured against a fair,
// working reference rather than a straw man. It is not part of the library.
//
// Each call to Plan does what the original did on every tick:
//
//  1. copy every shard into a slice;
//  2. count shards per up node in a map, up nodes without shards included
//     (a bug the original had and the library fixed; the port keeps the fix
//     so the comparison is honest);
//  3. compute the imbalance (max − min) / mean of those counts;
//  4. sort each node's shards by size, cheapest to move first;
//  5. scan every shard for split (hot) and merge (cold) candidates;
//  6. move shards greedily from the fullest node to the emptiest until the
//     counts are within tolerance or the plan holds limit actions.
//
// It differs from the library's planner in what the original never had: no
// per-node move cap, no merge embargo after a split, no drain phase, and no
// split key (the action names the shard only).
package baseline

import (
	"bytes"
	"math"
	"sort"
)

// Shard is one shard as the original scheduler saw it: owner, epoch, range
// and the last reported size.
type Shard struct {
	ID    uint64
	Start []byte
	End   []byte // nil: unbounded
	Node  uint64
	Epoch uint64
	Keys  uint64
	Bytes uint64
	// Known is false when no size was reported: such a shard is neither
	// split nor merged.
	Known bool
}

// Thresholds are the original scheduler's knobs, with the meanings of the
// same-named placement.Policy fields.
type Thresholds struct {
	SplitKeys, SplitBytes uint64
	MergeKeys, MergeBytes uint64
	// MergeMaxFraction bounds a merged shard at this fraction of the split
	// thresholds. Zero means 1.
	MergeMaxFraction float64
	// ImbalanceThreshold starts rebalancing when (max − min) / mean of the
	// shard counts exceeds it.
	ImbalanceThreshold float64
	// StopBand is the tolerance rebalancing stops at; zero means
	// ImbalanceThreshold.
	StopBand float64
}

// Input is one planning round.
type Input struct {
	// Shards in key order (ascending Start), so that merge neighbours are
	// consecutive. Plan does not modify it.
	Shards []Shard
	// UpNodes are the nodes that may own and receive shards, in ascending
	// order (ties between equally full nodes go to the first). Shards on
	// other nodes are neither counted nor moved, split or merged.
	UpNodes []uint64
	// Limit is the most actions to return; below 1 plans nothing.
	Limit int
	Thresholds
}

// Kind says what an Action does.
type Kind uint8

// Action kinds.
const (
	Split Kind = iota + 1
	Merge
	Transfer
)

// Action is one planned change. Shard and Epoch name the shard split or
// moved, or the left shard of a merge.
type Action struct {
	Kind       Kind
	Shard      uint64
	Epoch      uint64
	Right      uint64 // merge: the right shard
	RightEpoch uint64 // merge
	From, To   uint64 // transfer
}

// Imbalance returns (max − min) / mean of counts over nodes; 0 when fewer
// than two nodes or no shards.
func Imbalance(counts map[uint64]int, nodes []uint64) float64 {
	if len(nodes) < 2 {
		return 0
	}
	lo, hi, total := math.MaxInt, 0, 0
	for _, n := range nodes {
		c := counts[n]
		lo, hi, total = min(lo, c), max(hi, c), total+c
	}
	if total == 0 {
		return 0
	}
	return float64(hi-lo) * float64(len(nodes)) / float64(total)
}

// Plan returns at most in.Limit actions: splits of oversized shards (most
// keys first), merges of cold neighbours (coldest first), then transfers
// from the fullest to the emptiest node. No shard appears in two actions.
func Plan(in Input) []Action {
	if in.Limit < 1 {
		return nil
	}
	t := in.Thresholds

	// 1. Copy every shard.
	shards := make([]Shard, len(in.Shards))
	copy(shards, in.Shards)

	// 2. Count per up node, empty up nodes included.
	counts := make(map[uint64]int, len(in.UpNodes))
	for _, n := range in.UpNodes {
		counts[n] = 0
	}
	byNode := make(map[uint64][]int, len(in.UpNodes))
	for i := range shards {
		n := shards[i].Node
		if _, up := counts[n]; up {
			counts[n]++
			byNode[n] = append(byNode[n], i)
		}
	}

	// 3. Imbalance.
	imbalance := Imbalance(counts, in.UpNodes)

	// 4. Sort each node's shards, cheapest (fewest known bytes) first.
	cost := func(s *Shard) uint64 {
		if !s.Known {
			return math.MaxUint64
		}
		return s.Bytes
	}
	for _, idx := range byNode {
		sort.Slice(idx, func(a, b int) bool {
			sa, sb := &shards[idx[a]], &shards[idx[b]]
			if ca, cb := cost(sa), cost(sb); ca != cb {
				return ca < cb
			}
			return sa.ID < sb.ID
		})
	}

	// 5. Scan every shard for hot and cold candidates.
	frac := t.MergeMaxFraction
	if frac == 0 {
		frac = 1
	}
	maxKeys := uint64(frac * float64(t.SplitKeys))
	maxBytes := uint64(frac * float64(t.SplitBytes))
	cold := func(s *Shard) bool { return s.Keys < t.MergeKeys && s.Bytes < t.MergeBytes }
	var hot, pairs []int // indices into shards; pairs holds left neighbours
	for i := range shards {
		s := &shards[i]
		if _, up := counts[s.Node]; !up || !s.Known {
			continue
		}
		if s.Keys > t.SplitKeys || s.Bytes > t.SplitBytes {
			hot = append(hot, i)
		}
		if i+1 < len(shards) {
			r := &shards[i+1]
			if r.Known && r.Node == s.Node && s.End != nil && bytes.Equal(s.End, r.Start) &&
				cold(s) && cold(r) && s.Keys+r.Keys <= maxKeys && s.Bytes+r.Bytes <= maxBytes {
				pairs = append(pairs, i)
			}
		}
	}
	sort.Slice(hot, func(a, b int) bool {
		sa, sb := &shards[hot[a]], &shards[hot[b]]
		if sa.Keys != sb.Keys {
			return sa.Keys > sb.Keys
		}
		return sa.ID < sb.ID
	})
	sort.Slice(pairs, func(a, b int) bool {
		ka := shards[pairs[a]].Keys + shards[pairs[a]+1].Keys
		kb := shards[pairs[b]].Keys + shards[pairs[b]+1].Keys
		if ka != kb {
			return ka < kb
		}
		return shards[pairs[a]].ID < shards[pairs[b]].ID
	})

	var out []Action
	used := make(map[uint64]bool)
	for _, i := range hot {
		if len(out) >= in.Limit {
			return out
		}
		s := &shards[i]
		out = append(out, Action{Kind: Split, Shard: s.ID, Epoch: s.Epoch})
		used[s.ID] = true
		counts[s.Node]++
	}
	for _, i := range pairs {
		if len(out) >= in.Limit {
			return out
		}
		l, r := &shards[i], &shards[i+1]
		if used[l.ID] || used[r.ID] {
			continue
		}
		out = append(out, Action{Kind: Merge, Shard: l.ID, Epoch: l.Epoch, Right: r.ID, RightEpoch: r.Epoch})
		used[l.ID], used[r.ID] = true, true
		counts[l.Node]--
	}

	// 6. Greedy transfers, fullest to emptiest.
	if imbalance <= t.ImbalanceThreshold {
		return out
	}
	stop := t.StopBand
	if stop == 0 {
		stop = t.ImbalanceThreshold
	}
	next := make(map[uint64]int, len(in.UpNodes)) // per node: first index in byNode not yet tried
	for len(out) < in.Limit {
		src, dst := in.UpNodes[0], in.UpNodes[0]
		for _, n := range in.UpNodes {
			if counts[n] > counts[src] {
				src = n
			}
			if counts[n] < counts[dst] {
				dst = n
			}
		}
		if counts[src]-counts[dst] <= 1 || Imbalance(counts, in.UpNodes) <= stop {
			break
		}
		idx := byNode[src]
		k := next[src]
		for k < len(idx) && used[shards[idx[k]].ID] {
			k++
		}
		if k == len(idx) {
			break // everything on the fullest node is already planned
		}
		next[src] = k + 1
		s := &shards[idx[k]]
		out = append(out, Action{Kind: Transfer, Shard: s.ID, Epoch: s.Epoch, From: src, To: dst})
		used[s.ID] = true
		counts[src]--
		counts[dst]++
	}
	return out
}
