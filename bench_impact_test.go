package placement

import (
	"testing"
	"time"
)

// BenchmarkPlanImpactLimits plans on 100k shards over 100 nodes with 2,000
// moves completed in the last hour and one move in flight out of each of
// the first 100 shards' owners, with no impact limit and with every one
// set (a churn budget that is not spent, an open rebalancing window, send
// and receive rates, and foreground pressure on every tenth node): the
// limits' cost is counting the hour's moves and checking each rebalancing
// transfer. Reproduce with
//
//	go test -run '^$' -bench BenchmarkPlanImpactLimits -benchtime 300x .
func BenchmarkPlanImpactLimits(b *testing.B) {
	sz := benchSize{100_000, 100}
	reg := benchMovesRegistry(b, sz)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	v := reg.View()
	buf := make([]byte, 16)
	for k := range 2_100 {
		s, _ := v.Lookup(benchKey(buf, k*(sz.shards/2_100)))
		to := NodeID(1 + int(s.Node)%sz.nodes)
		at := t0.Add(time.Duration(k) * time.Second)
		if err := reg.ApplyAt(PlaceTransfer{Shard: s.ID, Epoch: s.Epoch, From: s.Node, To: to}, at); err != nil {
			b.Fatal(err)
		}
		if k < 2_000 {
			if err := reg.ApplyAt(CompleteTransfer{Shard: s.ID, Epoch: s.Epoch + 1, To: to}, at); err != nil {
				b.Fatal(err)
			}
		}
	}
	v = reg.View()
	// Every tenth node under foreground pressure, for the run with every
	// limit.
	for n := 1; n <= sz.nodes; n += 10 {
		if err := reg.ReportPressure(NodeID(n), 0.5); err != nil {
			b.Fatal(err)
		}
	}
	pressed := reg.View()
	now := t0.Add(40 * time.Minute)
	limited := DefaultPolicy()
	limited.ChurnBytesPerHour, limited.ChurnShardsPerHour = 0.5, 0.5
	limited.RebalanceWindows[0] = TimeOfDayRange{Start: 11 * 60, End: 14 * 60}
	limited.SendBytesPerSecond, limited.ReceiveBytesPerSecond = 100<<20, 100<<20
	// A churn budget cools a shard down for the hour: the same cost as
	// MoveCooldown = 1h, shown apart.
	hourCooldown := DefaultPolicy()
	hourCooldown.MoveCooldown = time.Hour
	for _, c := range []struct {
		name string
		pol  Policy
		v    View
	}{{"limits=off", DefaultPolicy(), v}, {"limits=off/cooldown=1h", hourCooldown, v}, {"limits=all", limited, pressed}} {
		b.Run(sz.String()+"/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				coord := NewCoordinator(c.pol)
				coord.SetClock(now, time.Time{})
				benchSinkPlan = coord.Plan(c.v, 5)
			}
			b.ReportMetric(float64(benchTransfers(benchSinkPlan.Commands)), "transfers")
		})
	}
}
