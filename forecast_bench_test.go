package placement

import (
	"testing"
	"time"
)

// BenchmarkForecastAddNode forecasts adding one empty node to the 1M-shard
// map of 1,000 nodes (DESIGN.md's "Forecast of one added node < 1 s"):
// the fixture's empty node is removed first (Try), then added back as the
// forecast's change. Once with moves completing in their tick, once at
// 100 MiB/s a move. It reports the forecast's moves and plans.
//
//	go test -run '^$' -bench 'BenchmarkForecastAddNode' -benchtime 5x -count 5 .
func BenchmarkForecastAddNode(b *testing.B) {
	for _, sz := range []benchSize{{1_000_000, 1_000}} {
		f := benchFixtureFor(b, sz)
		v, errs := f.reg.Try(RemoveNode{Node: f.empty})
		if errs[0] != nil {
			b.Fatal(errs[0])
		}
		for _, fc := range []struct {
			name string
			f    Forecaster
		}{
			{"instant", Forecaster{}},
			{"copy=100MiB/s", Forecaster{CopyRate: 100 << 20, TickInterval: 5 * time.Second}},
		} {
			b.Run(sz.String()+"/"+fc.name, func(b *testing.B) {
				b.ReportAllocs()
				var res ForecastResult
				for b.Loop() {
					var err error
					if res, err = fc.f.Forecast(v, DefaultPolicy(), AddNode{Node: f.empty}); err != nil {
						b.Fatal(err)
					}
				}
				if !res.Converged {
					b.Fatalf("did not converge: %v", res)
				}
				b.ReportMetric(float64(res.Moves), "moves")
				b.ReportMetric(float64(res.Ticks), "plans")
			})
		}
	}
}
