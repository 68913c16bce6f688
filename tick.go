package placement

import (
	"fmt"
	"strings"
	"time"
)

// TickReport describes one tick of the Scheduler.
type TickReport struct {
	// Leader reports whether this server was the leader; a follower's tick
	// does nothing else.
	Leader bool
	// Term is the raft term the tick saw.
	Term uint64
	// Paused reports that the tick planned nothing because the scheduler is
	// paused: locally (PauseLocal), or by the replicated pause (Pause).
	Paused bool
	// Barrier reports that the tick issued a raft barrier before planning
	// (the first tick of a term, or after an apply whose outcome was
	// unknown).
	Barrier bool
	// Imbalance is the imbalance of shard counts of the map the tick
	// planned on, and Balance its spread in each dimension (Plan.Balance).
	Imbalance float64
	Balance   Balance
	// Commands are the commands proposed, as one log entry, and Reasons
	// why the plan holds each (Plan.Reasons: one per command, in order).
	Commands []Command
	Reasons  []Reason
	// Results holds, for each command, nil if it was applied or the reason
	// it was rejected; empty when the entry was not applied.
	Results []error
	// Skipped are the planner's reasons for what it left out.
	Skipped []Skip
	// Rebalancing, RebalancingLoad, MinMoves and MinBytes are the plan's:
	// whether rebalancing (by bytes or counts, and by load) is in progress,
	// the fewest transfers that reach the stop band of counts, and the
	// least bytes that even out the bytes.
	Rebalancing, RebalancingLoad bool
	MinMoves                     int
	MinBytes                     uint64
	// Recorded is the SetRebalancing the tick proposed (after the plan's
	// commands, in the same entry) because the plan changed the
	// hysteresis flags; nil if none. Commands and Results leave it out.
	Recorded *SetRebalancing
	// Aborted are the moves the tick aborted, before planning, because they
	// were in flight longer than Policy.MoveTimeout or their source node
	// was lost.
	Aborted []AbortTransfer
	// MovedBack is how many of the plan's applied transfers take a shard
	// back to a node it left, by a transfer this server's ticks began,
	// within BackMoveWindow.
	MovedBack int
	// Lost are the nodes the tick declared lost, before planning, because
	// they were down longer than Policy.DownTimeout.
	Lost []NodeID
	// PauseExpired reports that the tick ended the replicated pause because
	// its expiry had passed (it then planned as usual).
	PauseExpired bool
	// Upgraded is the format version the tick enabled, before planning,
	// because Config.ClusterFormat reported every voter reads it; 0 if none.
	Upgraded uint64
	// PlanTime and ApplyTime are the wall-clock durations of planning and
	// of the raft apply.
	PlanTime, ApplyTime time.Duration
}

// Rejected returns how many of the proposed commands were rejected.
func (r TickReport) Rejected() int {
	n := 0
	for _, err := range r.Results {
		if err != nil {
			n++
		}
	}
	return n
}

// String formats the report on one line: the term, the spread of each
// dimension, and what was proposed.
func (r TickReport) String() string {
	if !r.Leader {
		return fmt.Sprintf("follower term=%d", r.Term)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "leader term=%d %v", r.Term, r.Balance)
	if r.Paused {
		b.WriteString(" paused")
	}
	if r.Barrier {
		b.WriteString(" barrier")
	}
	fmt.Fprintf(&b, " proposed=%d rejected=%d", len(r.Commands), r.Rejected())
	return b.String()
}
