package main

import (
	"math"
	"testing"
)

// TestForecastPredictsRun: for each scenario whose workload does not
// change, placement.Forecast, made on the map before the first tick,
// predicts the moves and bytes the run then makes within 5% and its ticks
// within 10%, with moves that take time (the defaults) and with -instant.
// bytes-new-node is issue 21's case: an empty node added to a skewed map,
// with splits and merges on the way.
func TestForecastPredictsRun(t *testing.T) {
	for _, name := range []string{"add-empty-node", "drain-node", "bytes-new-node", "windows", "hot-load"} {
		for _, instant := range []bool{false, true} {
			o := testOptions(name, "")
			o.Instant = instant
			r := mustRunWith(t, o)
			fc := r.Forecast
			if fc.err != nil || fc.blind {
				t.Fatalf("%s: forecast %+v", name, fc)
			}
			t.Logf("%s (instant %v): forecast moves %d, bytes %d, ticks %d; run moves %d, bytes %d, ticks %d",
				name, instant, fc.res.Moves, fc.res.BytesMoved, fc.res.Ticks, r.Transfers, r.BytesMoved, r.Ticks)
			if !fc.res.Converged || !near(fc.res.Moves, r.Transfers, 0.05) || !near(fc.res.Ticks, r.Ticks, 0.10) {
				t.Errorf("%s (instant %v): forecast moves %d, ticks %d (converged %v); run moves %d, ticks %d",
					name, instant, fc.res.Moves, fc.res.Ticks, fc.res.Converged, r.Transfers, r.Ticks)
			}
			// A count-only host reports no sizes: the forecast knows none.
			if name != "add-empty-node" && !near(fc.res.BytesMoved, r.BytesMoved, 0.05) {
				t.Errorf("%s (instant %v): forecast bytes %d, run %d", name, instant, fc.res.BytesMoved, r.BytesMoved)
			}
		}
	}
}

// near reports whether got is within frac of want.
func near[T int | uint64](got, want T, frac float64) bool {
	return math.Abs(float64(got)-float64(want)) <= frac*float64(want)
}
