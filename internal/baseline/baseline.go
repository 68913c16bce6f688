// Package baseline is a port of the original, naive shard scheduler (the
// placement scheduler of the Rust crate this library replaces). The
// benchmarks in package placement run it beside Coordinator.Plan on the same
// map, so that the speed-ups they report are measured against what the
// original did: neither a straw man nor a port padded with work the original
// never did. It is not part of the library.
//
// Plan does what the original did on every tick on the leader:
//
//  1. copy every shard into a slice;
//  2. count shards per up node in a map, from the shards only: an up node
//     that owns no shard is never seen, so a new, empty node counts for
//     nothing (a bug of the original, kept);
//  3. compute the imbalance (max − min) / mean of those counts;
//  4. if the imbalance is at or below ImbalanceThreshold, return no action
//     at all: the gate blocks splits and merges too, however hot or cold
//     the shards (another bug of the original, kept);
//  5. scan every shard once for split (hot) and merge (cold) candidates and
//     plan them: hot shards most keys first, then cold pairs fewest keys
//     first (only the few candidates are ordered, never the map);
//  6. move shards one at a time from the fullest node to the emptiest until
//     the imbalance is within StopBand, the two differ by at most one shard,
//     or the plan holds Limit actions.
//
// The original kept no per-node index and never ordered a node's shards, so
// step 6 moves the first shard of the fullest node in the copied order (key
// order) that no action has taken yet, found by a linear scan of the copy
// from its start: whichever shard comes first, not the cheapest. (An
// earlier version of this port sorted every node's shards by size on every
// call and planned splits and merges below the imbalance gate; that work,
// which the original did not do, inflated the reported speed-ups.)
//
// PlanFixedCounting differs from Plan in step 2 only: it counts every up
// node, those that own no shard included, as the library does. On a map
// whose only imbalance is a new, empty node, Plan sees the counts as even
// and plans nothing, so timing it says little about planning;
// PlanFixedCounting sees the empty node and does the original's planning
// work on such a map.
//
// Both differ from the library's planner in what the original never had: no
// per-node move cap, no merge embargo after a split, no drain phase, no
// split key (the action names the shard only) and no choice of which shard
// to move.
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
	// ImbalanceThreshold gates every action: a plan is made only when
	// (max − min) / mean of the shard counts exceeds it.
	ImbalanceThreshold float64
	// StopBand is the tolerance rebalancing stops at; zero means
	// ImbalanceThreshold.
	StopBand float64
}

// Input is one planning round.
type Input struct {
	// Shards in key order (ascending Start), so that merge neighbours are
	// consecutive. The planners do not modify it.
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

// Imbalance returns (max − min) / mean of counts over nodes, a node missing
// from counts counting 0; it returns 0 when there are fewer than two nodes
// or no shards.
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

// Plan is the original scheduler, bugs included (see the package doc): it
// counts only the up nodes that own shards, and plans nothing at all unless
// their imbalance exceeds ImbalanceThreshold. Otherwise it returns at most
// in.Limit actions: splits of oversized shards (most keys first), merges of
// cold neighbours (fewest keys first), then transfers from the fullest to
// the emptiest counted node, each the first unplanned shard of the fullest
// node in key order. No shard appears in two actions.
func Plan(in Input) []Action { return plan(in, false) }

// PlanFixedCounting is Plan with the counting bug fixed: every up node is
// counted, those that own no shard included, so an empty node raises the
// imbalance and receives transfers. Everything else, the imbalance gate
// included, is as in Plan.
func PlanFixedCounting(in Input) []Action { return plan(in, true) }

func plan(in Input, countEmpty bool) []Action {
	if in.Limit < 1 {
		return nil
	}
	t := in.Thresholds

	// 1. Copy every shard.
	shards := make([]Shard, len(in.Shards))
	copy(shards, in.Shards)

	// 2. Count shards per up node. The original saw only the nodes its
	// shards named.
	up := make(map[uint64]bool, len(in.UpNodes))
	for _, n := range in.UpNodes {
		up[n] = true
	}
	counts := make(map[uint64]int, len(in.UpNodes))
	for i := range shards {
		if n := shards[i].Node; up[n] {
			counts[n]++
		}
	}
	nodes := in.UpNodes // the counted nodes, in UpNodes order
	if !countEmpty {
		nodes = make([]uint64, 0, len(counts))
		for _, n := range in.UpNodes {
			if counts[n] > 0 {
				nodes = append(nodes, n)
			}
		}
	}

	// 3–4. Imbalance, and the gate in front of every action.
	if len(nodes) < 2 || Imbalance(counts, nodes) <= t.ImbalanceThreshold {
		return nil
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
		if !up[s.Node] || !s.Known {
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

	// 6. Transfers, fullest to emptiest, each the first unplanned shard of
	// the fullest node in the copied order.
	stop := t.StopBand
	if stop == 0 {
		stop = t.ImbalanceThreshold
	}
	for len(out) < in.Limit {
		src, dst := nodes[0], nodes[0]
		for _, n := range nodes {
			if counts[n] > counts[src] {
				src = n
			}
			if counts[n] < counts[dst] {
				dst = n
			}
		}
		if counts[src]-counts[dst] <= 1 || Imbalance(counts, nodes) <= stop {
			break
		}
		k := -1
		for i := range shards {
			if shards[i].Node == src && !used[shards[i].ID] {
				k = i
				break
			}
		}
		if k < 0 {
			break // everything on the fullest node is already planned
		}
		s := &shards[k]
		out = append(out, Action{Kind: Transfer, Shard: s.ID, Epoch: s.Epoch, From: src, To: dst})
		used[s.ID] = true
		counts[src]--
		counts[dst]++
	}
	return out
}
