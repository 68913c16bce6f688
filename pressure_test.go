package placement_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ukehi/placement"
)

// transfersByNode counts a plan's transfers out of and into each node.
func transfersByNode(p placement.Plan) (out, in map[placement.NodeID]int) {
	out, in = map[placement.NodeID]int{}, map[placement.NodeID]int{}
	for _, cmd := range p.Commands {
		if pt, ok := cmd.(placement.PlaceTransfer); ok {
			out[pt.From]++
			in[pt.To]++
		}
	}
	return out, in
}

// Pressure narrows a node's in-flight windows to (1 − pressure) of their
// moves: half at 0.5, none at 1, and the plan and Explain name it.
func TestPressureNarrowsWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	reg := impactMap(t, t0, 20, 100<<20)
	c := placement.NewCoordinator(placement.DefaultPolicy())

	out, _ := transfersByNode(c.Plan(reg.View(), 10))
	require.Equal(t, 4, out[1], "unpressed: MaxInflightPerNode")

	require.NoError(t, reg.ReportPressure(1, 0.5))
	p, ok := reg.View().Pressure(1)
	require.True(t, ok)
	require.Equal(t, 0.5, p)
	plan := c.Plan(reg.View(), 10)
	out, _ = transfersByNode(plan)
	require.Equal(t, 2, out[1], "pressure 0.5 halves the window: %v", plan.Commands)
	require.Contains(t, plan.Skipped, placement.Skip{Reason: placement.SkipPressure, Node: 1})
	nx, err := c.ExplainNode(reg.View(), 1)
	require.NoError(t, err)
	require.Equal(t, 0.5, nx.Pressure)

	// A destination at pressure 1 takes nothing; the other takes it all.
	require.NoError(t, reg.ReportPressure(1, 0))
	require.NoError(t, reg.ReportPressure(2, 1))
	plan = c.Plan(reg.View(), 10)
	out, in := transfersByNode(plan)
	require.Equal(t, 0, in[2], "%v", plan.Commands)
	require.Equal(t, 4, out[1])
	require.Contains(t, plan.Skipped, placement.Skip{Reason: placement.SkipPressure, Node: 2})
	ex, err := c.Explain(reg.View(), 5)
	require.NoError(t, err)
	for _, vd := range ex.Candidates {
		if vd.Node == 2 {
			require.Equal(t, placement.SkipPressure, vd.Reason, "%+v", vd)
		}
	}

	// A source at pressure 1 sends nothing, and every move of its shards
	// is held for it.
	require.NoError(t, reg.ReportPressure(2, 0))
	require.NoError(t, reg.ReportPressure(1, 1))
	plan = c.Plan(reg.View(), 10)
	require.Empty(t, plan.Commands)
	require.Contains(t, plan.Skipped, placement.Skip{Reason: placement.SkipPressure, Node: 1})
	requireVerdicts(t, c, reg.View(), 5, placement.SkipPressure)

	// A pressed node's drain waits too, held for the pressure alone (in
	// the plan and in ExplainNode), and goes on once it eases.
	require.NoError(t, reg.ApplyAt(placement.SetNodeState{Node: 1, State: placement.NodeDraining}, t0))
	plan = c.Plan(reg.View(), 10)
	require.Empty(t, plan.Commands)
	require.NotEmpty(t, plan.Skipped)
	for _, sk := range plan.Skipped {
		require.NotEqual(t, placement.SkipInflightWindow, sk.Reason, "%v", plan.Skipped)
	}
	require.Contains(t, plan.Skipped, placement.Skip{Reason: placement.SkipPressure, Node: 1})
	nx, err = c.ExplainNode(reg.View(), 1)
	require.NoError(t, err)
	require.NotEmpty(t, nx.Held)
	for _, h := range nx.Held {
		require.Equal(t, placement.SkipPressure, h.Reason, "%+v", h)
	}
	require.NoError(t, reg.ReportPressure(1, 0.3))
	out, _ = transfersByNode(c.Plan(reg.View(), 10))
	require.Equal(t, 2, out[1], "drain at pressure 0.3: 4 × 0.7 rounded down")
}

// Pressure narrows the byte windows too: a source whose rate allows 600
// MiB in flight allows 300 at pressure 0.5, still letting one move go
// alone however large.
func TestPressureNarrowsByteWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	reg := impactMap(t, t0, 20, 200<<20)
	p := placement.DefaultPolicy()
	p.SendBytesPerSecond = placement.MinCopyRateFloor // 600 MiB over MoveTimeout
	c := placement.NewCoordinator(p)
	out, _ := transfersByNode(c.Plan(reg.View(), 10))
	require.Equal(t, 3, out[1])

	require.NoError(t, reg.ReportPressure(1, 0.5)) // 300 MiB, 2 moves
	plan := c.Plan(reg.View(), 10)
	out, _ = transfersByNode(plan)
	require.Equal(t, 1, out[1], "%v", plan.Commands)
	require.Contains(t, plan.Skipped, placement.Skip{Reason: placement.SkipPressure, Node: 1})

	require.NoError(t, reg.ReportPressure(1, 0.7)) // 180 MiB and 1 move: a 200 MiB move goes alone
	out, _ = transfersByNode(c.Plan(reg.View(), 10))
	require.Equal(t, 1, out[1])

	require.NoError(t, reg.ReportPressure(1, 0.9)) // 4 × 0.1 moves rounds down to none
	out, _ = transfersByNode(c.Plan(reg.View(), 10))
	require.Zero(t, out[1])
}

func TestReportPressureRejects(t *testing.T) {
	reg := impactMap(t, time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), 1, 1)
	for _, p := range []float64{-0.1, 1.01, math.NaN(), math.Inf(1)} {
		require.ErrorIs(t, reg.ReportPressure(1, p), placement.ErrInvalidStats, "%v", p)
	}
	require.ErrorIs(t, reg.ReportPressure(9, 0.5), placement.ErrUnknownNode)
	_, ok := reg.View().Pressure(9)
	require.False(t, ok)
	got, ok := reg.View().Pressure(2)
	require.True(t, ok)
	require.Zero(t, got)
}
