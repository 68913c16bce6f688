package main

import (
	"fmt"
	"io"

	"github.com/ukehi/placement"
)

// forecastRun is placement.Forecast's prediction of a scenario's run, made
// on the map the scenario set up once its stats are reported (before the
// first tick), beside which the summary prints what the run did.
type forecastRun struct {
	res placement.ForecastResult
	err error
	// blind says the workload changes during the run (or the run is cut
	// at a fixed tick), which the forecast, made on the map as it was,
	// cannot know: its figures are then not a prediction of this run.
	blind bool
}

// forecast forecasts the run of sc from the map as it is, paced as the
// run is: the tick interval and limit, moves copying at the bandwidth
// (taking the move delay where the host reports no sizes), or completing
// at once with -instant.
func (s *sim) forecast(sc scenario) forecastRun {
	f := placement.Forecaster{
		CopyRate:          s.bandwidth,
		TickInterval:      s.interval,
		MaxActionsPerTick: s.limit,
		MaxTicks:          maxTicks,
		Now:               clockStart.Add(s.interval), // tick 1
	}
	if s.countOnly {
		f.MoveSetup = s.delay
	}
	if s.policy.InstantMoves {
		f.CopyRate = 0
	}
	res, err := f.Forecast(s.reg.View(), s.policy)
	return forecastRun{res: res, err: err, blind: sc.evolve != nil || sc.ticks > 0 || sc.noisy > 0 || sc.minTicks > 0}
}

// printForecast prints the forecast beside the run: moves, bytes, splits,
// merges and ticks.
func printForecast(w io.Writer, s *sim) {
	fc, r := s.res.Forecast, s.res
	if fc.err != nil {
		fmt.Fprintf(w, "  forecast: %v\n", fc.err)
		return
	}
	conv := ""
	if !fc.res.Converged {
		conv = " (not converged)"
	}
	note := ""
	if fc.blind {
		note = " (the workload changes during the run: the forecast cannot know)"
	}
	if len(s.nodeRate) > 0 {
		note += " (the forecast copies every move at the bandwidth: it cannot know a node is slower)"
	}
	// A count-only host reports no sizes, so the forecast knows none; the
	// run counts the workload's truth.
	bytes := gib(float64(fc.res.BytesMoved))
	if s.countOnly {
		bytes = "unknown"
	}
	fmt.Fprintf(w, "  forecast: moves %d, bytes %s, splits %d, merges %d, ticks %d%s; actual: moves %d, bytes %s, splits %d, merges %d, ticks %d%s\n",
		fc.res.Moves, bytes, fc.res.Splits, fc.res.Merges, fc.res.Ticks, conv,
		r.Transfers, gib(float64(r.BytesMoved)), r.Splits, r.Merges, r.Ticks, note)
}
