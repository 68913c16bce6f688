package placement

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// rebalancingPhase reports whether a command of phase ph is a rebalancing
// transfer: what the churn budget and quiet hours hold.
func rebalancingPhase(ph Phase) bool {
	switch ph {
	case PhaseCounts, PhaseBytes, PhaseBytesSwap, PhaseRepair, PhaseLoad, PhaseLoadSwap:
		return true
	}
	return false
}

// genImpactCluster is a map at the current format with every shard's
// stats fixed between split and merge thresholds (so no split or merge
// changes the total the budget is a fraction of), skewed onto one node.
func genImpactCluster(t *rapid.T, t0 time.Time) (*ShardRegistry, int) {
	pol := DefaultPolicy()
	g := NewShardRegistry()
	require.NoError(t, g.ApplyAt(SetFormatVersion{Version: FormatVersion}, t0))
	nodes := rapid.IntRange(3, 6).Draw(t, "nodes")
	for n := 1; n <= nodes; n++ {
		require.NoError(t, g.ApplyAt(AddNode{Node: NodeID(n)}, t0))
	}
	shards := rapid.IntRange(20, 120).Draw(t, "shards")
	hot := NodeID(rapid.IntRange(1, nodes).Draw(t, "hot"))
	for i := range shards {
		owner := hot
		if rapid.IntRange(0, 2).Draw(t, "skew") == 0 {
			owner = NodeID(rapid.IntRange(1, nodes).Draw(t, "owner"))
		}
		r := KeyRange{Start: []byte{byte(i >> 8), byte(i)}, End: []byte{byte((i + 1) >> 8), byte(i + 1)}}
		require.NoError(t, g.ApplyAt(CreateShard{Range: r, Node: owner}, t0))
		require.NoError(t, g.ReportStats(ShardID(i+1), Stats{
			Keys:  rapid.Uint64Range(pol.MergeKeys, pol.SplitKeys).Draw(t, "keys"),
			Bytes: rapid.Uint64Range(pol.MergeBytes, pol.SplitBytes).Draw(t, "bytes"),
		}))
	}
	return g, nodes
}

func genWindows(t *rapid.T) [MaxRebalanceWindows]TimeOfDayRange {
	var w [MaxRebalanceWindows]TimeOfDayRange
	for i := range rapid.IntRange(0, MaxRebalanceWindows).Draw(t, "windows") {
		s := rapid.Uint16Range(0, MinutesPerDay).Draw(t, "start")
		e := rapid.Uint16Range(0, MinutesPerDay).Draw(t, "end")
		if s == e {
			e = (s + 60) % MinutesPerDay
		}
		w[i] = TimeOfDayRange{Start: s, End: e}
	}
	return w
}

// inflightSum is what is in flight through one side of a node.
type inflightSum struct {
	moves int
	bytes uint64
}

type rebalanced struct {
	shard ShardID
	at    time.Time
	bytes uint64
}

// Over random maps and rounds on a fake clock, with moves taking a round to
// complete and nodes drained now and then: the bytes and shards moved by
// rebalancing within any hour never exceed the budget, no rebalancing
// transfer begins outside the rebalancing windows, drains go on outside
// them, and no node has more bytes in flight out of it or into it than its
// rate copies in MoveTimeout, unless a single move (a shard larger than
// that moves alone), nor more moves or bytes than its foreground pressure
// leaves of its windows.
func TestChurnBudgetAndQuietHours(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.IntRange(0, 24*60).Draw(t, "t0")) * time.Minute)
		g, nodes := genImpactCluster(t, t0)
		pol := DefaultPolicy()
		pol.ImbalanceThreshold, pol.StopBand = 0.05, 0.01
		if rapid.Bool().Draw(t, "bytesbudget") {
			pol.ChurnBytesPerHour = rapid.Float64Range(0.001, 0.3).Draw(t, "churnbytes")
		}
		if rapid.Bool().Draw(t, "shardbudget") {
			pol.ChurnShardsPerHour = rapid.Float64Range(0.001, 0.3).Draw(t, "churnshards")
		}
		if rapid.Bool().Draw(t, "nocooldown") {
			pol.MoveCooldown = 0
		}
		pol.RebalanceWindows = genWindows(t)
		if rapid.Bool().Draw(t, "sendrate") {
			pol.SendBytesPerSecond = rapid.Uint64Range(MinCopyRateFloor, 4*MinCopyRateFloor).Draw(t, "send")
		}
		if rapid.Bool().Draw(t, "recvrate") {
			pol.ReceiveBytesPerSecond = rapid.Uint64Range(MinCopyRateFloor, 4*MinCopyRateFloor).Draw(t, "recv")
		}
		require.NoError(t, pol.Validate())
		c := NewCoordinator(pol)
		now := t0
		c.SetClock(now, time.Time{})
		budget := c.Churn(g.View())
		var moved []rebalanced
		var inFlight []PlaceTransfer
		draining := 0
		pressure := map[NodeID]float64{}
		down := map[NodeID]bool{}
		var began time.Time // when the moves in flight began
		for round := range 40 {
			now = now.Add(time.Duration(rapid.IntRange(1, 40).Draw(t, "step")) * time.Minute)
			// A node goes down or comes back up now and then, with moves
			// in flight: moves into it are aborted, moves out of it go on
			// (and still count against the budget). Never the last node,
			// so that drains always have somewhere to go.
			if n := NodeID(rapid.IntRange(draining+1, nodes).Draw(t, "downed")); n < NodeID(nodes) && rapid.IntRange(0, 3).Draw(t, "down") == 0 {
				state := NodeDown
				if down[n] {
					state = NodeUp
				}
				require.NoError(t, g.ApplyAt(SetNodeState{Node: n, State: state}, now))
				down[n] = !down[n]
			}
			for _, m := range inFlight {
				err := g.ApplyAt(CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch + 1, To: m.To}, now)
				if !down[m.To] {
					require.NoError(t, err)
					continue
				}
				// Aborted as its destination went down: it moved nothing,
				// and the budget has it back.
				moved = slices.DeleteFunc(moved, func(r rebalanced) bool { return r.shard == m.Shard && r.at.Equal(began) })
			}
			inFlight = inFlight[:0]
			began = now
			if draining < nodes-2 && !down[NodeID(draining+1)] && rapid.IntRange(0, 9).Draw(t, "drain") == 0 {
				draining++
				require.NoError(t, g.ApplyAt(SetNodeState{Node: NodeID(draining), State: NodeDraining}, now))
				require.NoError(t, g.ReportPressure(NodeID(draining), 0))
				pressure[NodeID(draining)] = 0
			}
			// Foreground pressure on an up node now and then, never on
			// every destination at once so that drains can go on.
			if n := NodeID(rapid.IntRange(draining+1, nodes).Draw(t, "pressed")); n < NodeID(nodes) {
				p := rapid.SampledFrom([]float64{0, 0.3, 0.5, 0.8, 1}).Draw(t, "pressure")
				require.NoError(t, g.ReportPressure(n, p))
				pressure[n] = p
			}
			c.SetClock(now, time.Time{})
			before := g.View()
			// The Scheduler's gauges read the budget from the plan's own
			// set-up: the same as Churn.
			var fromPlan ChurnState
			c.preview(before, 8, &fromPlan)
			require.Equal(t, c.Churn(before), fromPlan)
			p := c.Plan(before, 8)
			// Every move of the last round completed: what is in flight
			// now is this plan's.
			sent, received := map[NodeID]*inflightSum{}, map[NodeID]*inflightSum{}
			for n := 1; n <= nodes; n++ {
				sent[NodeID(n)], received[NodeID(n)] = &inflightSum{}, &inflightSum{}
			}
			open := pol.rebalanceOpen(now)
			drained := false
			for i, cmd := range p.Commands {
				require.NoError(t, g.ApplyAt(cmd, now), "round %d", round)
				pt, ok := cmd.(PlaceTransfer)
				if !ok {
					continue
				}
				inFlight = append(inFlight, pt)
				why := p.Reasons[i]
				sent[pt.From].moves++
				sent[pt.From].bytes += why.Bytes
				received[pt.To].moves++
				received[pt.To].bytes += why.Bytes
				drained = drained || why.Phase == PhaseDrain
				if rebalancingPhase(why.Phase) {
					require.True(t, open, "rebalancing transfer at %v outside %v", now, pol.RebalanceWindows)
					moved = append(moved, rebalanced{shard: pt.Shard, at: now, bytes: why.Bytes})
				}
			}
			left := 0 // shards on draining nodes before the plan
			for n := 1; n <= draining; n++ {
				left += before.Count(NodeID(n))
			}
			if !open && left > 0 {
				require.True(t, drained, "no drain outside the windows at %v: %v", now, p.Skipped)
			}
			secs := pol.MoveTimeout.Seconds()
			for n := NodeID(1); n <= NodeID(nodes); n++ {
				ease := 1 - pressure[n]
				// Pressures are in tenths: the cap in exact arithmetic.
				moveCap := pol.MaxInflightPerNode * (10 - int(math.Round(pressure[n]*10))) / 10
				require.LessOrEqual(t, sent[n].moves, moveCap, "moves out of node %d at pressure %v", n, pressure[n])
				require.LessOrEqual(t, received[n].moves, moveCap, "moves into node %d at pressure %v", n, pressure[n])
				if s := sent[n]; pol.SendBytesPerSecond > 0 && s.moves > 1 {
					require.LessOrEqual(t, float64(s.bytes), float64(pol.SendBytesPerSecond)*secs*ease, "sent by node %d", n)
				}
				if r := received[n]; pol.ReceiveBytesPerSecond > 0 && r.moves > 1 {
					require.LessOrEqual(t, float64(r.bytes), float64(pol.ReceiveBytesPerSecond)*secs*ease, "received by node %d", n)
				}
			}
			if !open {
				require.Contains(t, p.Skipped, Skip{Reason: SkipQuietHours})
			}
			// The hour ending now, the plan's moves included.
			var bytes uint64
			shards := 0
			for _, m := range moved {
				if now.Sub(m.at) < ChurnWindow {
					bytes += m.bytes
					shards++
				}
			}
			if budget.BytesLimited {
				require.LessOrEqual(t, bytes, budget.AllowedBytes, "bytes in the hour to %v", now)
			}
			if budget.ShardsLimited {
				require.LessOrEqual(t, shards, budget.AllowedShards, "shards in the hour to %v", now)
			}
		}
	})
}
