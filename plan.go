package placement

import (
	"fmt"
	"strconv"
)

// Plan is what Coordinator.Plan decided: the commands to propose, in order,
// and why other candidates were left out.
type Plan struct {
	// Commands are at most the limit: drains, splits, merges and
	// rebalancing transfers, each kind with a quarter of the limit reserved
	// (when the limit is 4 or more), then, in a second pass, drains, splits
	// and merges in what the reservations left. No shard appears in two of
	// them.
	Commands []Command
	// Reasons are why each command was planned: one per command, in the
	// same order (Reasons[i].Command is Commands[i]).
	Reasons []Reason
	// Skipped lists the candidates left out and why. Aggregate reasons
	// (stats unknown, within tolerance) appear once with a Count.
	Skipped []Skip
	// Imbalance is Imbalance(view) when the plan was made: the spread of
	// shard counts, with the moves in flight counted as made (on their
	// targets), capacities not weighed. The count phase starts on
	// Balance.Count, the same spread relative to capacity shares, which
	// equals Imbalance when capacities are equal or unknown.
	Imbalance float64
	// Balance is the spread of each dimension over the up nodes when the
	// plan was made (before its commands), relative to each node's
	// capacity share; see Balance.
	Balance Balance
	// Rebalancing reports whether rebalancing by bytes (by counts when no
	// stats are known) is in progress after this plan: it started because
	// the spread exceeded Policy.ImbalanceThreshold, and either it will not
	// yet be in the stop band once this plan applies, or the moves that
	// take it there are not all made.
	//
	// The projection counts moves in flight as made, but a move can still
	// be aborted (a failed copy, MoveTimeout) and leave its shard where it
	// was. So a rebalance ends only when no move out of an up node is in
	// flight and the plan begins none (its transfers begin moves at format
	// version 3 without Policy.InstantMoves); until then it stays on, and
	// plans nothing while the projection is in the band. Once the moves
	// complete, the next plan sees the real spread and ends it; if one was
	// aborted, the rebalance goes on though the spread is under the
	// trigger, on this leader and, from the log's SetRebalancing, on the
	// next. Moves out of nodes that are not up (drains, re-homing) do not
	// hold a rebalance: the drain plans an aborted one again anyway.
	Rebalancing bool
	// RebalancingLoad is Rebalancing for the load dimension, between
	// Policy.LoadThreshold and Policy.LoadStopBand; it too ends only when
	// no move out of an up node is in flight or begun by the plan.
	RebalancingLoad bool
	// MinMoves is, when balancing counts (no stats known), the fewest
	// transfers that would bring the up nodes' shard counts (after this
	// plan's splits and merges) into the stop band, counts weighed by
	// capacity (see "Move-optimal counts" in the package documentation);
	// zero when not rebalancing, when balancing bytes, or when quiet
	// hours keep the rebalancing phases from running (Rebalancing stays as
	// it was).
	MinMoves int
	// MinBytes is, when rebalancing bytes, the lower bound on the bytes
	// that must move to put every up node at its capacity share of the
	// bytes: Σ max(0, bytesᵢ − targetᵢ) over the up nodes with targetᵢ =
	// total × capacityᵢ / Σ capacity, taken on the projection after the
	// plan's earlier commands (drains, and transfers that bring cold
	// neighbours together; splits and merges change no node's bytes).
	// Zero when not rebalancing, when balancing counts, or when quiet
	// hours keep the rebalancing phases from running.
	MinBytes uint64
}

// Balance is how unevenly each dimension is spread over the up nodes: for
// each, max − min over the nodes of amountᵢ / targetᵢ, where targetᵢ is
// the node's capacity share of the total (the mean when capacities are
// equal or unknown), so 0 is perfectly even. A dimension with nothing to
// spread (no shards, no known bytes, no load) is 0.
type Balance struct {
	// Count is the spread of shard counts relative to capacity shares.
	// With no bytes known it is the count phase's trigger (against
	// Policy.ImbalanceThreshold); with equal or unknown capacities it is
	// Plan.Imbalance.
	Count float64
	// Bytes is the spread of bytes, shards with unknown stats counted at
	// the mean known shard size; 0 when no stats are known.
	Bytes float64
	// Load is the spread of Stats.Load; 0 when no load is reported.
	Load float64
}

// String formats the spreads for logs: "count=0.12 bytes=0.30 load=0.05".
func (b Balance) String() string {
	return fmt.Sprintf("count=%.2f bytes=%.2f load=%.2f", b.Count, b.Bytes, b.Load)
}

// Skip is one candidate the planner left out, with the reason.
type Skip struct {
	Reason SkipReason
	// Shard is the candidate shard, or 0 when the skip is about a node or
	// the whole plan.
	Shard ShardID
	// Node is the node concerned, or 0.
	Node NodeID
	// Count is, for aggregate reasons, how many shards it covers.
	Count int
}

// String formats the skip for logs and tests.
func (s Skip) String() string {
	out := s.Reason.String()
	if s.Shard != 0 {
		out += " shard=" + strconv.FormatUint(uint64(s.Shard), 10)
	}
	if s.Node != 0 {
		out += " node=" + strconv.FormatUint(uint64(s.Node), 10)
	}
	if s.Count != 0 {
		out += " count=" + strconv.Itoa(s.Count)
	}
	return out
}

// SkipReason says why a candidate was not planned.
type SkipReason uint8

// Skip reasons.
const (
	// SkipStatsUnknown: shards with no reported stats are neither split
	// nor merged (unknown is not cold). Reported once, with a Count.
	SkipStatsUnknown SkipReason = iota + 1
	// SkipNoSplitKey: an oversized shard whose range has no key strictly
	// inside it, and no valid hint.
	SkipNoSplitKey
	// SkipMergeTooBig: merging the cold neighbours would exceed
	// MergeMaxFraction of a split threshold.
	SkipMergeTooBig
	// SkipRecentlySplit: a shard split or created less than MergeEmbargo
	// stats reports ago is not merged.
	SkipRecentlySplit
	// SkipNodeNotUp: the shard's node is draining or down, so it is not
	// split or merged, or (for a down node) its shards are not moved.
	SkipNodeNotUp
	// SkipInPlan: the shard is already in a command of this plan.
	SkipInPlan
	// SkipLimitReached: more work remained when the plan held limit
	// commands.
	SkipLimitReached
	// SkipNodeCap: a node reached MaxMovesPerNode transfers in or out.
	SkipNodeCap
	// SkipNoTarget: no up node can take a shard, or, while balancing, no
	// move is left that obeys the rules (narrow its pair, keep the other
	// dimensions in their bands): the nodes are as even as their shards
	// allow.
	SkipNoTarget
	// SkipWithinTolerance: bytes (shard counts when no bytes are known) are
	// within the imbalance threshold
	// (or the stop band, once rebalancing), or as even as they can be.
	SkipWithinTolerance
	// SkipScanBudget: the planner examined its budget of candidates in one
	// phase without filling the plan; the rest wait for the next plan. A
	// balancing phase reports it when that many of its picks failed: it
	// ends as stuck (see SkipNoTarget), having tried the most promising
	// pairs rather than every one.
	SkipScanBudget
	// SkipHotShard: the shard's load alone exceeds its node's fair share
	// of the load, and no destination the load phase tried is cold enough
	// for the move to lower the hotter node of the pair, so moving it would
	// only move the hot spot; it is split instead when the host gives a
	// split-key hint.
	SkipHotShard
	// SkipHotNoSplitKey: a hot shard (see SkipHotShard) has no valid
	// split-key hint, so it can be neither split nor usefully moved.
	SkipHotNoSplitKey
	// SkipStatsEstimated: shards over a split threshold whose stats are
	// the registry's estimate (halves of a split, merged shards) wait for
	// the host's report before they are split again. Reported once, with
	// a Count.
	SkipStatsEstimated
	// SkipInflightWindow: a move would exceed a node's window of moves or
	// bytes in flight (Policy.MaxInflightPerNode,
	// MaxInflightBytesPerNode); it waits for moves to complete.
	SkipInflightWindow
	// SkipShardMoving: a shard with a move in flight is neither split,
	// merged nor moved again until the move completes or is aborted.
	SkipShardMoving
	// SkipSettled: a balancing phase found no move that obeys the rules
	// while above its trigger, so it settled at the best the shards allow,
	// and the map has not changed materially since (see the package
	// documentation, "The stability contract"). Reported once, for the
	// phase; Node and Shard are 0.
	SkipSettled
	// SkipCoolingDown: shards that moved less than Policy.MoveCooldown ago
	// (or, while a churn budget is set, ChurnWindow ago) were not moved
	// again by rebalancing. Reported once, with a Count.
	SkipCoolingDown
	// SkipCountBandInfeasible: the node is outside its count band
	// (Policy.CountTolerance) and no transfer that would bring it back
	// keeps bytes and load in their bands: its shards are too few and
	// large, or too many and small, for both. The count band yields, and
	// the repair leaves the node where it is rather than make bytes
	// worse. Reported once per node, when the repair has nothing left to
	// plan.
	SkipCountBandInfeasible

	// The reasons below judge one move of one shard to one node, as
	// Coordinator.Explain reports them; plans do not list them.

	// SkipNoGain: the move would not narrow the gap between its two nodes
	// enough: it carries too much (the pair would cross over, or a node
	// overshoot its target by more than it is off now) or too little (it
	// lowers the potentials by less than Policy.MinGain of its own gain).
	SkipNoGain
	// SkipReturnsBack: rebalancing never sends a shard back to the node it
	// left within MaxMoveCooldown.
	SkipReturnsBack
	// SkipOtherBand: the move would push another dimension (load for a
	// bytes move, bytes for a load move or a count repair) out of its
	// slack (see the package documentation, "How the planner balances").
	SkipOtherBand
	// SkipCountBand: the move would take a node outside its count band
	// (Policy.CountTolerance); only a swap may move between the two.
	SkipCountBand
	// SkipNotAbove: the shard's owner is not above its target in the
	// dimension being balanced, so rebalancing takes nothing from it.
	SkipNotAbove
	// SkipNotBelow: the destination is not below its target in the
	// dimension being balanced, so rebalancing sends nothing to it.
	SkipNotBelow

	// SkipChurnBudget: rebalancing has moved its budget of bytes or shards
	// in the last ChurnWindow (Policy.ChurnBytesPerHour,
	// ChurnShardsPerHour), or the move would exceed it; it waits for moves
	// to age out of the hour. Reported once a plan; Explain names it for
	// the move it holds.
	SkipChurnBudget
	// SkipQuietHours: the time is outside Policy.RebalanceWindows, so
	// rebalancing plans no transfer. Reported once a plan.
	SkipQuietHours
	// SkipRateLimit: a move would take a node's bytes in flight out of it
	// or into it past what its rate (Policy.SendBytesPerSecond,
	// ReceiveBytesPerSecond) copies in MoveTimeout; it waits for moves to
	// complete. Reported once per node, as SkipInflightWindow is when
	// MaxInflightPerNode or MaxInflightBytesPerNode holds it.
	SkipRateLimit
	// SkipPressure: a node's in-flight window, narrowed by the foreground
	// pressure its host reported (ShardRegistry.ReportPressure), takes no
	// more moves or bytes, though it would unpressed. Reported once per
	// node, like SkipInflightWindow.
	SkipPressure
)

var skipNames = [...]string{
	SkipStatsUnknown:    "stats unknown",
	SkipNoSplitKey:      "no split key inside the range",
	SkipMergeTooBig:     "merged shard would be too big",
	SkipRecentlySplit:   "recently split or created",
	SkipNodeNotUp:       "node not up",
	SkipInPlan:          "already in the plan",
	SkipLimitReached:    "limit reached",
	SkipNodeCap:         "node move cap reached",
	SkipNoTarget:        "no target node",
	SkipWithinTolerance: "within tolerance",
	SkipScanBudget:      "scan budget spent",
	SkipHotShard:        "too hot to move: split first",
	SkipHotNoSplitKey:   "hot shard without a split-key hint",
	SkipStatsEstimated:  "stats estimated, not reported",
	SkipInflightWindow:  "in-flight window full",
	SkipShardMoving:     "shard is moving",
	SkipSettled:         "settled: as even as the shards allow",
	SkipCoolingDown:     "moved recently: cooling down",

	SkipCountBandInfeasible: "count band infeasible with the bytes band",
	SkipNoGain:              "would not narrow the gap enough",
	SkipReturnsBack:         "would return to the node it left",
	SkipOtherBand:           "would push another dimension out of its band",
	SkipCountBand:           "would leave the count band",
	SkipNotAbove:            "owner not above its target",
	SkipNotBelow:            "destination not below its target",
	SkipChurnBudget:         "churn budget spent",
	SkipQuietHours:          "outside the rebalancing windows",
	SkipRateLimit:           "node's copy rate limit reached",
	SkipPressure:            "node under foreground pressure",
}

// String returns the reason in words.
func (r SkipReason) String() string {
	if int(r) < len(skipNames) && skipNames[r] != "" {
		return skipNames[r]
	}
	return fmt.Sprintf("SkipReason(%d)", uint8(r))
}
