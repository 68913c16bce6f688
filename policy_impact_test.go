package placement_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ukehi/placement"
)

// impactPolicy has a churn budget in bytes and shards.
func impactPolicy() placement.Policy {
	p := placement.DefaultPolicy()
	p.ChurnBytesPerHour, p.ChurnShardsPerHour = 0.1, 0.05
	return p
}

// ratesPolicy limits each node to 2 MiB/s out and 3 MiB/s in.
func ratesPolicy() placement.Policy {
	p := placement.DefaultPolicy()
	p.SendBytesPerSecond, p.ReceiveBytesPerSecond = 2<<20, 3<<20
	return p
}

// windowsPolicy rebalances from 22:00 to 06:00 UTC and over lunch.
func windowsPolicy() placement.Policy {
	p := placement.DefaultPolicy()
	p.RebalanceWindows = [placement.MaxRebalanceWindows]placement.TimeOfDayRange{{Start: 22 * 60, End: 6 * 60}, {Start: 12 * 60, End: 13 * 60}}
	return p
}

func TestImpactPolicyValidate(t *testing.T) {
	type windows = [placement.MaxRebalanceWindows]placement.TimeOfDayRange
	for _, tc := range []struct {
		name string
		edit func(*placement.Policy)
		want string // "" when valid
	}{
		{name: "budgets", edit: func(p *placement.Policy) { *p = impactPolicy() }},
		{name: "whole budget", edit: func(p *placement.Policy) { p.ChurnBytesPerHour, p.ChurnShardsPerHour = 1, 1 }},
		{name: "windows", edit: func(p *placement.Policy) { *p = windowsPolicy() }},
		{name: "whole day", edit: func(p *placement.Policy) { p.RebalanceWindows = windows{{Start: 0, End: placement.MinutesPerDay}} }},
		{name: "rates", edit: func(p *placement.Policy) { *p = ratesPolicy() }},
		{name: "slow send", edit: func(p *placement.Policy) { p.SendBytesPerSecond = 1000 }, want: "Policy.SendBytesPerSecond"},
		{name: "slow receive", edit: func(p *placement.Policy) { p.ReceiveBytesPerSecond = 1 }, want: "Policy.ReceiveBytesPerSecond"},
		{name: "bytes above 1", edit: func(p *placement.Policy) { p.ChurnBytesPerHour = 1.5 }, want: "Policy.ChurnBytesPerHour"},
		{name: "negative shards", edit: func(p *placement.Policy) { p.ChurnShardsPerHour = -0.1 }, want: "Policy.ChurnShardsPerHour"},
		{name: "empty range", edit: func(p *placement.Policy) { p.RebalanceWindows = windows{{Start: 60, End: 60}} }, want: "is empty"},
		{name: "past midnight", edit: func(p *placement.Policy) { p.RebalanceWindows = windows{{Start: 60, End: 1441}} }, want: "outside 0..1440"},
		{name: "gap", edit: func(p *placement.Policy) { p.RebalanceWindows = windows{{}, {Start: 1, End: 2}} }, want: "follows an unused entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := placement.DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, placement.ErrInvalidConfig)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// The budget and the windows are tags 2 to 4 of a type 16 SetPolicy at
// format version 6, and round-trip through the wire, a snapshot's policy
// and JSON; JSON without them, or a policy at their defaults, is as before.
func TestImpactPolicyRoundTrips(t *testing.T) {
	both := impactPolicy()
	both.RebalanceWindows = windowsPolicy().RebalanceWindows
	both.MinCopyRate = 50 << 20
	both.SendBytesPerSecond = 5 << 20
	full := placement.DefaultPolicy()
	full.RebalanceWindows = [placement.MaxRebalanceWindows]placement.TimeOfDayRange{{Start: 1440, End: 0}, {Start: 0, End: 1440}, {Start: 1439, End: 1}}
	for _, p := range []placement.Policy{impactPolicy(), windowsPolicy(), ratesPolicy(), both, full} {
		require.NoError(t, p.Validate())
		entry := placement.Encode(placement.SetPolicy{Policy: p, MaxActionsPerTick: 5})
		require.Equal(t, []byte{0xB7, 6, 1, byte(placement.TypeSetPolicyFields)}, entry[:4])
		got, err := placement.Decode(entry)
		require.NoError(t, err)
		require.Equal(t, p, got[0].(placement.SetPolicy).Policy)

		data, err := json.Marshal(p)
		require.NoError(t, err)
		var back placement.Policy
		require.NoError(t, json.Unmarshal(data, &back), string(data))
		require.Equal(t, p, back)

		reg := placement.NewShardRegistry()
		require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: placement.FormatVersion}))
		require.NoError(t, reg.Apply(placement.SetPolicy{Policy: p, MaxActionsPerTick: 5}))
		var buf bytes.Buffer
		require.NoError(t, reg.View().WriteSnapshot(&buf))
		restored := placement.NewShardRegistry()
		require.NoError(t, restored.ReadSnapshot(&buf))
		rp, ok := restored.View().Policy()
		require.True(t, ok)
		require.Equal(t, p, rp.Policy)
	}
	data, err := json.Marshal(placement.DefaultPolicy())
	require.NoError(t, err)
	require.NotContains(t, string(data), "churn")
	require.NotContains(t, string(data), "rebalance_windows")

	data, err = json.Marshal(windowsPolicy())
	require.NoError(t, err)
	require.Contains(t, string(data), `"rebalance_windows":[{"start":1320,"end":360},{"start":720,"end":780}]`)
	for _, bad := range []string{
		`[{"start":1,"end":2},{"start":1,"end":2},{"start":1,"end":2},{"start":1,"end":2}]`,
		`[{"start":1}]`,
		`[{"start":1,"end":2,"days":3}]`,
		`[{"start":1,"end":1441}]`,
		`{"start":1,"end":2}`,
	} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		m["rebalance_windows"] = json.RawMessage(bad)
		raw, err := json.Marshal(m)
		require.NoError(t, err)
		var p placement.Policy
		require.Error(t, json.Unmarshal(raw, &p), bad)
	}
}

// A registry at format version 5 refuses a policy with a budget, windows
// or rates, at proposal and at apply.
func TestImpactPolicyGated(t *testing.T) {
	for _, p := range []placement.Policy{impactPolicy(), windowsPolicy(), ratesPolicy()} {
		reg := placement.NewShardRegistry()
		require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: 5}))
		cmd := placement.SetPolicy{Policy: p, MaxActionsPerTick: 5}
		require.ErrorIs(t, placement.CheckProposal(reg.View(), cmd), placement.ErrFormatVersion)
		require.ErrorIs(t, reg.Apply(cmd), placement.ErrFormatVersion)
	}
}

// impactMap is a map at the newest format, at log time t0, of three up
// nodes and the given number of shards of size bytes, all on node 1.
func impactMap(t *testing.T, t0 time.Time, shards int, size uint64) *placement.ShardRegistry {
	t.Helper()
	reg := placement.NewShardRegistry()
	require.NoError(t, reg.ApplyAt(placement.SetFormatVersion{Version: placement.FormatVersion}, t0))
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.ApplyAt(placement.AddNode{Node: n}, t0))
	}
	for i := range shards {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.ApplyAt(placement.CreateShard{Range: r, Node: 1}, t0))
		require.NoError(t, reg.ReportStats(placement.ShardID(i+1), placement.Stats{Keys: 5000, Bytes: size}))
	}
	return reg
}

// Outside the windows the planner plans no rebalancing and says so, but
// drains; inside, it rebalances. The churn budget holds rebalancing once
// spent, names itself, and Churn shows what is used and allowed.
func TestQuietHoursAndChurnPlan(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC) // outside 22:00-06:00 and 12:00-13:00
	reg := impactMap(t, t0, 20, 100<<20)
	plan := func(p placement.Policy, now time.Time) placement.Plan {
		c := placement.NewCoordinator(p)
		c.SetClock(now, time.Time{})
		return c.Plan(reg.View(), 10)
	}
	quiet := plan(windowsPolicy(), t0)
	require.Empty(t, quiet.Commands)
	require.Contains(t, quiet.Skipped, placement.Skip{Reason: placement.SkipQuietHours})
	qc := placement.NewCoordinator(windowsPolicy())
	qc.SetClock(t0, time.Time{})
	requireVerdicts(t, qc, reg.View(), 3, placement.SkipQuietHours)
	require.NotEmpty(t, plan(windowsPolicy(), t0.Add(4*time.Hour+30*time.Minute)).Commands, "12:30 is in a window")
	require.NotEmpty(t, plan(windowsPolicy(), t0.Add(15*time.Hour)).Commands, "23:00 is in a window")

	// 10% of 20 shards: two a plan, and then the hour is spent.
	budget := placement.DefaultPolicy()
	budget.ChurnShardsPerHour = 0.1
	c := placement.NewCoordinator(budget)
	c.SetClock(t0, time.Time{})
	st := c.Churn(reg.View())
	require.Equal(t, 2, st.AllowedShards)
	require.Equal(t, uint64(0), st.AllowedBytes)
	require.True(t, st.ShardsLimited && !st.BytesLimited && st.Open && !st.Spent())
	p := c.Plan(reg.View(), 10)
	require.Len(t, p.Commands, 2)
	require.Contains(t, p.Skipped, placement.Skip{Reason: placement.SkipChurnBudget})
	for _, cmd := range p.Commands {
		require.NoError(t, reg.ApplyAt(cmd, t0))
		pt := cmd.(placement.PlaceTransfer)
		require.NoError(t, reg.ApplyAt(placement.CompleteTransfer{Shard: pt.Shard, Epoch: pt.Epoch + 1, To: pt.To}, t0.Add(time.Minute)))
	}
	later := t0.Add(30 * time.Minute)
	c.SetClock(later, time.Time{})
	st = c.Churn(reg.View())
	require.Equal(t, 2, st.Shards)
	require.Equal(t, uint64(200<<20), st.Bytes)
	require.True(t, st.Spent())
	p = c.Plan(reg.View(), 10)
	require.Empty(t, p.Commands)
	require.Contains(t, p.Skipped, placement.Skip{Reason: placement.SkipChurnBudget})
	requireVerdicts(t, c, reg.View(), 3, placement.SkipChurnBudget)

	// A drain is never held, even with the budget spent, and spends none
	// of it, in flight or done.
	require.NoError(t, reg.ApplyAt(placement.SetNodeState{Node: 1, State: placement.NodeDraining}, later))
	p = c.Plan(reg.View(), 10)
	require.NotEmpty(t, p.Commands)
	for _, why := range p.Reasons {
		require.Equal(t, placement.PhaseDrain, why.Phase)
	}
	for _, cmd := range p.Commands {
		require.NoError(t, reg.ApplyAt(cmd, later))
	}
	require.Equal(t, 2, c.Churn(reg.View()).Shards, "drains in flight")
	for _, cmd := range p.Commands {
		pt := cmd.(placement.PlaceTransfer)
		require.NoError(t, reg.ApplyAt(placement.CompleteTransfer{Shard: pt.Shard, Epoch: pt.Epoch + 1, To: pt.To}, later))
	}
	require.Equal(t, 2, c.Churn(reg.View()).Shards, "drains done")
	// A replica restored from a snapshot, which does not say which moves
	// were drains, counts them all.
	var snap bytes.Buffer
	require.NoError(t, reg.View().WriteSnapshot(&snap))
	restored := placement.NewShardRegistry()
	require.NoError(t, restored.ReadSnapshot(&snap))
	require.Equal(t, 2+len(p.Commands), c.Churn(restored.View()).Shards)

	// An hour after the moves completed, the budget is back.
	c.SetClock(t0.Add(time.Minute+time.Hour), time.Time{})
	require.Equal(t, 0, c.Churn(reg.View()).Shards)
}

// requireVerdicts checks that Explain holds every move of shard id back
// for reason.
func requireVerdicts(t *testing.T, c *placement.Coordinator, v placement.View, id placement.ShardID, reason placement.SkipReason) {
	t.Helper()
	ex, err := c.Explain(v, id)
	require.NoError(t, err)
	require.NotEmpty(t, ex.Candidates)
	for _, vd := range ex.Candidates {
		require.False(t, vd.Allowed, "%+v", vd)
		require.Equal(t, reason, vd.Reason, "%+v", vd)
	}
}

// A node's rate limit holds back moves once its bytes in flight take
// MoveTimeout to copy at the rate, and says so in the plan and in Explain;
// the first move still goes however large.
func TestRateLimitPlan(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	reg := impactMap(t, t0, 20, 500<<20)
	// 1 MiB/s for 10 minutes is 600 MiB: one 500 MiB shard out of node 1.
	p := placement.DefaultPolicy()
	p.SendBytesPerSecond = placement.MinCopyRateFloor
	c := placement.NewCoordinator(p)
	plan := c.Plan(reg.View(), 10)
	require.Len(t, plan.Commands, 1)
	require.Contains(t, plan.Skipped, placement.Skip{Reason: placement.SkipRateLimit, Node: 1})
	for _, cmd := range plan.Commands {
		require.NoError(t, reg.ApplyAt(cmd, t0))
	}
	requireVerdicts(t, c, reg.View(), 3, placement.SkipRateLimit)

	// Without the rate, node 1 sends three more: MaxInflightPerNode (4) in
	// flight.
	require.Len(t, placement.NewCoordinator(placement.DefaultPolicy()).Plan(reg.View(), 10).Commands, 3)
}

// A forecast does not call a map converged while quiet hours hold its
// rebalancing: it waits for the window and balances then.
func TestForecastWaitsForTheWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC) // the window opens at 12:00
	reg := impactMap(t, t0, 12, 100<<20)
	f := placement.Forecaster{TickInterval: time.Minute, MaxTicks: 24 * 60, Now: t0}
	res, err := f.Forecast(reg.View(), windowsPolicy())
	require.NoError(t, err)
	require.True(t, res.Converged)
	require.Positive(t, res.Moves)
	require.GreaterOrEqual(t, res.ETA, 4*time.Hour, "nothing moves before 12:00")
}
