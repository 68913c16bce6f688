package placement

import (
	"fmt"
	"strconv"
	"strings"
)

// Reason says why a plan holds one command (Plan.Reasons, one per
// command, in the same order): the phase that planned it, the dimension
// it acts on, the gap in that dimension before and after it, and the
// shard's size and load.
//
// The planner only fills in the figures, at the cost of a few stores per
// command it plans (none per candidate it weighs); String and MarshalJSON
// put them into words when asked.
type Reason struct {
	// Command is the command planned, as in Plan.Commands.
	Command Command
	// Phase is the step of the plan that planned it.
	Phase Phase
	// Dimension is what the command acts on: for a rebalancing move the
	// dimension its phase balances, for a split the threshold the shard
	// exceeded (keys, bytes, or load for a hot shard); DimNone for
	// drains, re-homing, merges and bring-together moves.
	Dimension Dimension
	// Before and After measure the gap the command closes, in Dimension,
	// as the plan projects the map just before and just after it (a
	// swap's two transfers share the swap's figures). For the bytes, load
	// and count-repair phases they are the dimension's spread over the up
	// nodes, max − min of amountᵢ / targetᵢ (Plan.Balance's measure); for
	// the count phase (no bytes known), Pair is set and they are the gap
	// between the two nodes, countᵢ / targetᵢ of the source less that of
	// the destination. Zero for the other phases.
	Before, After float64
	// Pair reports that Before and After are the node pair's gap rather
	// than the spread over every up node.
	Pair bool
	// Bytes, Keys and Load are the shard's stats as the planner weighed
	// them (for a merge, the two shards' together). Estimated reports
	// that the shard's stats are unknown and Bytes and Load are the mean
	// known ones (Keys is then 0).
	Bytes, Keys uint64
	Load        float64
	Estimated   bool
	// Threshold is, for a split, the limit the shard exceeded:
	// Policy.SplitKeys or SplitBytes, or, for a hot shard, its node's fair
	// share of the load. Zero otherwise.
	Threshold float64
	// Left is, for a drain or a re-homing, the shards still on the node
	// once this command and the plan's earlier ones are made.
	Left int
	// Partner is the other shard of a merge, of a swap (the shard coming
	// back), or of a bring-together move (the neighbour it joins); 0
	// otherwise.
	Partner ShardID
}

// Gain is how much of the gap the command closes: Before − After.
func (r Reason) Gain() float64 { return r.Before - r.After }

// Phase is the step of a plan that planned a command (see Reason).
type Phase uint8

// Phases, in the order a plan runs them.
const (
	// PhaseDrain: a move off a draining node.
	PhaseDrain Phase = iota + 1
	// PhaseRehome: a lost node's shard given a new owner.
	PhaseRehome
	// PhaseSplit: a shard over Policy.SplitKeys or SplitBytes.
	PhaseSplit
	// PhaseSplitHot: a shard hotter than its node's fair share of the
	// load, split at the host's hint.
	PhaseSplitHot
	// PhaseMerge: cold neighbours on one node merged.
	PhaseMerge
	// PhaseBringTogether: a cold shard moved next to its cold neighbour's
	// node, for the next plan to merge them.
	PhaseBringTogether
	// PhaseCounts: rebalancing shard counts (no bytes known).
	PhaseCounts
	// PhaseBytes: rebalancing bytes.
	PhaseBytes
	// PhaseBytesSwap: rebalancing bytes by a swap, where the count band
	// refuses a single move.
	PhaseBytesSwap
	// PhaseRepair: a node brought back into its count band while bytes
	// are balanced.
	PhaseRepair
	// PhaseLoad: rebalancing load.
	PhaseLoad
	// PhaseLoadSwap: rebalancing load by a swap.
	PhaseLoadSwap
)

var phaseNames = [...]string{
	PhaseDrain:         "drain",
	PhaseRehome:        "re-home",
	PhaseSplit:         "split",
	PhaseSplitHot:      "split-hot",
	PhaseMerge:         "merge",
	PhaseBringTogether: "bring-together",
	PhaseCounts:        "counts",
	PhaseBytes:         "bytes",
	PhaseBytesSwap:     "bytes-swap",
	PhaseRepair:        "count-repair",
	PhaseLoad:          "load",
	PhaseLoadSwap:      "load-swap",
}

// String returns the phase's name: "drain", "re-home", "split",
// "split-hot", "merge", "bring-together", "counts", "bytes",
// "bytes-swap", "count-repair", "load" or "load-swap"; "Phase(n)" for a
// number with no phase.
func (p Phase) String() string {
	if name := nameOf(phaseNames[:], p); name != "" {
		return name
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// Phases returns every phase, in the order a plan runs them.
func Phases() []Phase {
	out := make([]Phase, 0, len(phaseNames)-1)
	for p := PhaseDrain; int(p) < len(phaseNames); p++ {
		out = append(out, p)
	}
	return out
}

// Dimension is what a command acts on (see Reason.Dimension).
type Dimension uint8

// Dimensions.
const (
	DimNone Dimension = iota
	// DimCount: shard counts.
	DimCount
	// DimBytes: Stats.Bytes.
	DimBytes
	// DimLoad: Stats.Load.
	DimLoad
	// DimKeys: Stats.Keys (a split's threshold only).
	DimKeys
)

var dimensionNames = [...]string{DimNone: "none", DimCount: "count", DimBytes: "bytes", DimLoad: "load", DimKeys: "keys"}

// String returns the dimension's name: "none", "count", "bytes", "load"
// or "keys"; "Dimension(n)" for a number with no dimension.
func (d Dimension) String() string {
	if name := nameOf(dimensionNames[:], d); name != "" {
		return name
	}
	return "Dimension(" + strconv.Itoa(int(d)) + ")"
}

// String says why, in words a person reads, for logs and GET /plan:
//
//	move shard 17 (2.1 GiB) from node 3 to node 9: bytes spread 0.31 → 0.27
//	split shard 4 (9.5 GiB, over SplitBytes 8.0 GiB) at key "m"
//	drain node 5: move shard 8 (1.0 GiB) to node 2, 3 shards left
func (r Reason) String() string {
	var b strings.Builder
	switch c := r.Command.(type) {
	case PlaceTransfer:
		r.transferText(&b, c)
	case PlaceSplit:
		fmt.Fprintf(&b, "split shard %d (%s, over %s) at key %s", c.Shard, r.size(), r.threshold(), QuoteKey(c.SplitKey))
	case PlaceMerge:
		fmt.Fprintf(&b, "merge shard %d with its neighbour %d (%s together): cold neighbours", c.Left, c.Right, r.size())
	case nil:
		fmt.Fprintf(&b, "%v (no command)", r.Phase)
	default:
		fmt.Fprintf(&b, "%v: %v", r.Phase, c)
	}
	return b.String()
}

func (r Reason) transferText(b *strings.Builder, c PlaceTransfer) {
	switch r.Phase {
	case PhaseDrain:
		fmt.Fprintf(b, "drain node %d: move shard %d (%s) to node %d, %s left", c.From, c.Shard, r.size(), c.To, shards(r.Left))
		return
	case PhaseRehome:
		fmt.Fprintf(b, "re-home shard %d (%s) from lost node %d to node %d, %s left", c.Shard, r.size(), c.From, c.To, shards(r.Left))
		return
	case PhaseBringTogether:
		fmt.Fprintf(b, "move shard %d (%s) from node %d to node %d, next to its cold neighbour %d: merge next",
			c.Shard, r.size(), c.From, c.To, r.Partner)
		return
	}
	fmt.Fprintf(b, "move shard %d (%s) from node %d to node %d", c.Shard, r.size(), c.From, c.To)
	if r.Partner != 0 {
		fmt.Fprintf(b, " in a swap with shard %d", r.Partner)
	}
	switch {
	case r.Pair:
		fmt.Fprintf(b, ": %v gap between the nodes %s", r.Dimension, fromTo(r.Before, r.After))
	case r.Dimension != DimNone:
		fmt.Fprintf(b, ": %v spread %s", r.Dimension, fromTo(r.Before, r.After))
	}
	if r.Phase == PhaseRepair {
		b.WriteString(" (count band repair)")
	}
}

// size is the shard's size in words: "2.1 GiB", with its keys when it
// splits over SplitKeys and its load when it has one, "~" before an
// estimate, or "stats unknown" where no stats are known at all.
func (r Reason) size() string {
	if r.Estimated && r.Bytes == 0 && r.Load == 0 {
		return "stats unknown"
	}
	s := formatBytes(float64(r.Bytes))
	if r.Estimated {
		s = "~" + s
	}
	if r.Dimension == DimKeys {
		s = strconv.FormatUint(r.Keys, 10) + " keys, " + s
	}
	if r.Load > 0 {
		s += ", load " + strconv.FormatFloat(r.Load, 'g', 3, 64)
	}
	return s
}

// threshold names the limit a split exceeded, with its value.
func (r Reason) threshold() string {
	switch r.Dimension {
	case DimKeys:
		return "SplitKeys " + strconv.FormatFloat(r.Threshold, 'f', 0, 64)
	case DimBytes:
		return "SplitBytes " + formatBytes(r.Threshold)
	case DimLoad:
		return "its node's fair load " + strconv.FormatFloat(r.Threshold, 'g', 3, 64)
	}
	return "a threshold"
}

// fromTo writes "0.31 → 0.27", with a third decimal where two would
// show no change.
func fromTo(before, after float64) string {
	prec := 2
	if strconv.FormatFloat(before, 'f', prec, 64) == strconv.FormatFloat(after, 'f', prec, 64) {
		prec = 3
	}
	return strconv.FormatFloat(before, 'f', prec, 64) + " → " + strconv.FormatFloat(after, 'f', prec, 64)
}

func shards(n int) string {
	if n == 1 {
		return "1 shard"
	}
	return strconv.Itoa(n) + " shards"
}

// formatBytes writes a byte count in binary units with one decimal:
// "512 B", "2.1 GiB".
func formatBytes(b float64) string {
	const units = "KMGTPE"
	if b < 1024 {
		return strconv.FormatFloat(b, 'f', 0, 64) + " B"
	}
	u := -1
	for b >= 1024 && u < len(units)-1 {
		b /= 1024
		u++
	}
	return strconv.FormatFloat(b, 'f', 1, 64) + " " + units[u:u+1] + "iB"
}
