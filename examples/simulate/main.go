// Command simulate runs placement's planner offline, with no raft: a
// ShardRegistry and a Coordinator, ticked in a loop on a simulated clock,
// a tick being one scheduler interval (-interval, 5 s). Each tick it plans
// at most MaxActionsPerTick commands, applies them all through
// ShardRegistry.ApplyAt at the tick's time (a rejection is a bug and fails
// the run), then lets the scenario's workload change and reports every
// shard's stats (keys, bytes, load and a split hint: the midpoint of its
// range) and every node's capacity, as a host would.
//
// The registry is at format version 3, so a transfer only begins a move
// (PlaceTransfer); the shard's copy takes its bytes over the bandwidth
// (-bandwidth, 100 MiB/s for each move; -move-delay, 10 s, where the host
// reports no sizes), and the simulator completes the move
// (CompleteTransfer) at the end of the tick in which its copy ends, so the
// next plan finds it done. Meanwhile the planner counts it as made and
// keeps each node within its windows (Policy.MaxInflightPerNode and
// MaxInflightBytesPerNode). The host reports each copy's progress every
// tick (ShardRegistry.ReportProgress) and, as the Scheduler does, a move
// is aborted once Policy.MoveTimeout has passed since its copied bytes
// last grew (with no progress reported, MoveTimeout plus its bytes at
// Policy.MinCopyRate after it began). The planner's clock is the tick's
// time (Coordinator.SetClock). A run that goes until the plan is empty
// also waits for every move in flight to complete, and does not end on a
// plan held by quiet hours or the churn budget. With -instant the run
// uses Policy.InstantMoves: each move completes in the tick it begins and
// no window applies, which reproduces the runs (and the charts) from
// before moves took time.
//
// Scenarios:
//
//   - add-empty-node: 8 nodes with 400 shards, then an empty node 9. The
//     host reports no stats, so the planner balances counts. Runs until
//     the plan is empty; fails unless the transfers equal the minimum,
//     taken from the first rebalancing plan's MinMoves and recomputed here
//     from the node counts, and the ticks the fastest pace the limits
//     allow: at most 5 moves a plan, 4 in flight into node 9, each for 2
//     ticks, so 2 × ⌈minimum / 4⌉ (⌈minimum / 5⌉ with -instant).
//   - drain-node: 6 nodes, node 3 draining. Fails unless node 3 ends empty.
//   - hot-range: one key range grows ×1.5 a tick for 10 ticks and keeps
//     splitting; rebalancing spreads the new shards. Fails unless the byte
//     spread ends within the trigger and every count within
//     Policy.CountTolerance of the mean.
//   - churn: 200 ticks of seeded random growth, bulk loads and deletes,
//     with splits and merges. Fails if a shard is merged within the merge
//     embargo of its split. Prints the moves per shard per hour of
//     simulated time.
//
// Where the host reports stats, a scenario also fails if a rebalancing
// plan's Plan.MinBytes differs from the same bound recomputed here, and
// its summary prints bytes moved against the lower bound at tick 0 and
// against the lower bound accumulated tick by tick: the bound at tick 0
// plus, each tick, the rise in the bound that the workload's change made
// since the map the tick's moves left (moves in flight counted as made).
// Where the workload changes (hot-range, churn) only the second says how
// much of what moved was wasted; elsewhere the two are equal.
//
// Three more hold the planner to issue 10's targets. Each runs with
// DefaultPolicy until the plan is empty and prints bytes moved against the
// lower bound Σ max(0, bytesᵢ − targetᵢ) (targetᵢ = total × capacity
// shareᵢ) on the node bytes at tick 0, and against the first rebalancing
// plan's Plan.MinBytes:
//
//   - bytes-new-node: 1,200 shards of lognormal size (median 64 MiB,
//     σ 1.2) on 9 nodes, then an empty node 10. Fails unless the byte
//     spread (max − min) / mean ends ≤ 0.10, bytes moved ≤ 1.15 × the
//     lower bound, every count within ±25% of the mean, and the next plans
//     are empty (a fixed point).
//   - capacity: 4 nodes of 1, 1, 2 and 4 TiB with 10,000 shards spread
//     evenly, the data 40% of the capacity. Fails unless every node's bytes
//     end within ±10% of its capacity share. It takes some seconds, as
//     every tick reports 10,000 shards' stats; the tests run a 1/16
//     instance.
//   - hot-load: 800 equal shards on 8 nodes with Zipf(1.1) load, the 100
//     hottest on node 1. Fails unless the load spread ends ≤ 0.25, bytes
//     and counts within ±25% of the mean, and the shard hotter than a
//     node's fair share was split (at the host's hint), not moved.
//
// And one holds the planner to its in-flight windows:
//
//   - windows: 480 shards of lognormal size (median 640 MiB, σ 0.5, with
//     SplitBytes raised to 2 GiB so that four moves can exceed the 2 GiB
//     byte window) on 8 nodes, then an empty node 9. Fails unless, in every
//     tick, the moves in flight into and out of every node are at most
//     MaxInflightPerNode and their bytes at most MaxInflightBytesPerNode
//     (or a single move), the windows were reached, every move completed,
//     and the byte spread ends within the stop band. Its chart, windows.svg,
//     shows the moves and bytes in flight into node 9 each tick against
//     the windows, and node 9's bytes; its count chart is windows-counts.svg.
//
// And one puts the impact limits to work on moves that copy for hours:
//
//   - throttled: 6 nodes with 644 shards of 1.5–2.5 GiB, node 1 also
//     holding a 64 GiB shard (SplitBytes raised over it), node 5 copying at
//     6 MiB/s into and out of it (the others at the bandwidth), with
//     Policy.SendBytesPerSecond and ReceiveBytesPerSecond 10 MiB/s (a
//     window of 5.86 GiB a node each way with MoveTimeout 10 minutes;
//     MaxInflightBytesPerNode off), ChurnBytesPerHour 0.1 and
//     RebalanceWindows 00:00–01:00 and 03:00–24:00 UTC. Its ticks are a
//     minute from midnight (-interval does not apply). It fails unless,
//     recounted from the transfers the run made, no transfer began in the
//     quiet hours, the bytes that count in the churn budget (in flight, or
//     completed within the hour) stayed within it in every hour, with
//     Coordinator.Churn saying the same, and the bytes in flight into and
//     out of every node within the rates' window unless one move alone;
//     the 64 GiB shard moved and completed, never aborted, though it copied
//     longer than its deadline without progress reports; the run settled
//     within the stop band; and each limit held some plan back. Its
//     charts, over the time of day with the quiet hours shaded:
//     throttled.svg, the bytes in flight into and out of each node against
//     the window, and the 64 GiB shard's copy against MoveTimeout and that
//     deadline; throttled-churn.svg, the bytes in the budget's hour against
//     the budget, with the transfers begun and what held each plan back.
//     Its count chart is throttled-counts.svg.
//
// Three more measure today's planner and check nothing: their "measure:"
// lines are figures, not verdicts.
//
//   - noise: 12 nodes, 1,200 shards of lognormal size (median 64 MiB,
//     σ 1.2) with Zipf(1.1) load, the hottest reported with no split key
//     (it cannot be split). It runs until the plan is empty (at most 600
//     ticks), then 300 ticks in which every report perturbs each shard's
//     bytes and load around the unchanging truth (-noise, in percent:
//     "5/20", the default, is ±5% bytes and ±20% load; the noise is seeded).
//     It prints the bytes moved in the noisy phase against all bytes, the
//     transfers and the back-moves (a shard moved to a node it had left
//     earlier in the noisy phase) and the moves per shard per hour of
//     simulated time, and charts the bytes moved per tick
//     (noise-moved.svg).
//   - few-shards: -few-nodes nodes (2,000; the tests run 200) with 10
//     shards each of 16–400 MiB, then one empty node; and
//     few-shards-bimodal: 40 shards of 400 MiB and 2,000 of 24 MiB on 4
//     nodes. Each runs until the plan is empty and prints the byte spread
//     at rest against ImbalanceThreshold and the ticks; with -timing, also
//     the plan's wall-clock time per tick, the one figure that differs
//     between runs.
//
// It prints a line per tick (unless -quiet) and a summary per scenario, and
// writes SVG charts per scenario into -out, over ticks: shard counts per
// node and, when the host reports stats, bytes per node (and load per node
// when it reports load). Each chart's lower panel plots what the planner
// balances that dimension by, against that figure's own trigger and stop
// band: the count spread per capacity share against ImbalanceThreshold and
// StopBand with no stats; with stats, the furthest node's distance from
// its capacity share of the count against the count band
// (CountTolerance), the byte spread against ImbalanceThreshold and
// StopBand, the load spread against LoadThreshold and LoadStopBand. The
// same flags give byte-identical output. The README's charts are made
// with -instant (windows.svg, noise-moved.svg and the throttled charts
// without):
//
//	go run ./examples/simulate -instant -scenario add-empty-node -quiet -out docs
//
//	go run ./examples/simulate
//	go run ./examples/simulate -scenario add-empty-node -quiet -out /tmp
//	go run ./examples/simulate -scenario windows -out docs
//	go run ./examples/simulate -scenario throttled -quiet -out docs
//	go run ./examples/simulate -scenario noise -noise 1 -quiet -out /tmp
//	go run ./examples/simulate -scenario few-shards -timing -quiet -out /tmp
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ukehi/placement"
)

// options are the command-line flags.
type options struct {
	Scenario   string // a scenario name, or "all"
	MaxActions int    // MaxActionsPerTick: the plan limit
	Seed       uint64 // seeds the workloads' random numbers
	Quiet      bool   // print only the summaries
	Out        string // directory for the SVG charts; "" writes none
	// Interval is the simulated time a tick stands for (the scheduler's
	// Config.TickInterval).
	Interval time.Duration
	// Bandwidth is the bytes a second at which a move copies its shard,
	// each move at its own rate.
	Bandwidth float64
	// MoveDelay is how long a move takes where the host reports no sizes
	// (count-only scenarios).
	MoveDelay time.Duration
	// Instant runs with Policy.InstantMoves: each move completes in the
	// tick that begins it, so none is in flight and no window applies.
	Instant bool
	// NoiseBytes and NoiseLoad are the noise scenario's noise: each
	// report perturbs a shard's bytes by up to ±NoiseBytes and its load by
	// up to ±NoiseLoad (fractions) around the truth.
	NoiseBytes, NoiseLoad float64
	// FewNodes is the few-shards scenario's node count (10 shards each).
	FewNodes int
	// Timing measures each plan's wall-clock time and prints it in the
	// few-shards summaries; the only output that differs between runs.
	Timing bool
	// list replaces the scenarios, for tests: the same index gives the
	// same random stream.
	list []scenario
}

func main() {
	o := defaultOptions()
	names := []string{"all"}
	for _, sc := range scenarios {
		names = append(names, sc.name)
	}
	flag.StringVar(&o.Scenario, "scenario", "all", "scenario to run: "+strings.Join(names, ", "))
	flag.IntVar(&o.MaxActions, "max-actions", o.MaxActions,
		"commands planned and applied per tick (MaxActionsPerTick)")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "seed for the workloads' random numbers")
	flag.BoolVar(&o.Quiet, "quiet", false, "print only the summaries")
	flag.StringVar(&o.Out, "out", o.Out, `directory for the SVG charts ("" writes none)`)
	flag.DurationVar(&o.Interval, "interval", o.Interval, "simulated time a tick stands for (Config.TickInterval; the throttled scenario ticks a minute)")
	mibs := flag.Float64("bandwidth", o.Bandwidth/mib, "MiB a second each move copies, in simulated time")
	flag.DurationVar(&o.MoveDelay, "move-delay", o.MoveDelay, "how long a move takes where the host reports no sizes")
	flag.BoolVar(&o.Instant, "instant", false, "moves complete at once (Policy.InstantMoves): no move time, no windows")
	flag.Func("noise", `the noise scenario's noise, in percent: "bytes/load" (default "5/20"), or one figure for both`, func(v string) error {
		b, l, err := parseNoise(v)
		o.NoiseBytes, o.NoiseLoad = b, l
		return err
	})
	flag.IntVar(&o.FewNodes, "few-nodes", o.FewNodes, "the few-shards scenario's nodes (10 shards each, plus one empty)")
	flag.BoolVar(&o.Timing, "timing", false, "measure each plan's wall-clock time (the few-shards summaries print it; it varies between runs)")
	flag.Parse()
	o.Bandwidth = *mibs * mib
	if _, err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(1)
	}
}

// run runs the selected scenarios in order, printing to w, and returns
// their summaries. A scenario that misses a target (an error wrapping
// errCheck) does not stop the others; any other error does. The error
// returned names every scenario that failed.
func run(o options, w io.Writer) ([]result, error) {
	list := o.list
	if list == nil {
		list = scenarios
	}
	var results []result
	var errs []error
	found := false
	for i, sc := range list {
		if o.Scenario != "all" && o.Scenario != sc.name {
			continue
		}
		found = true
		// One random stream per scenario, so a scenario run alone
		// matches the same scenario in "all".
		res, err := runOne(sc, uint64(i), o, w)
		results = append(results, res)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sc.name, err))
			if !errors.Is(err, errCheck) {
				break
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("unknown scenario %q", o.Scenario)
	}
	return results, errors.Join(errs...)
}

// runOne runs one scenario with the given random stream.
func runOne(sc scenario, stream uint64, o options, w io.Writer) (result, error) {
	if !(o.Bandwidth > 0) || math.IsInf(o.Bandwidth, 1) || o.MoveDelay < 0 {
		return result{}, fmt.Errorf("bandwidth %v B/s must be finite and > 0, move delay %v >= 0", o.Bandwidth, o.MoveDelay)
	}
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = o.MaxActions
	cfg.TickInterval = o.Interval
	if sc.interval > 0 {
		cfg.TickInterval = sc.interval
	}
	cfg.InstantMoves = o.Instant
	if sc.tune != nil {
		sc.tune(&cfg.Policy)
	}
	if err := cfg.Validate(); err != nil {
		return result{}, err
	}
	s := newSim(cfg, o, stream, w)
	if o.Quiet {
		s.log = io.Discard
	}
	err := simulate(s, sc, o, w)
	return s.res, err
}

// The defaults of the clock and the copies. A tick of 5 s (the library's
// DefaultConfig ticks every 30 s) is about what a shard of the default
// SplitBytes (512 MiB) takes to copy at 100 MiB/s, so moves in flight
// outlast a tick and the in-flight windows pace the moves, rather than
// every copy ending before the next plan.
const (
	defaultInterval  = 5 * time.Second
	defaultBandwidth = 100 * mib
	defaultMoveDelay = 10 * time.Second
)

// defaultOptions are the flags' defaults: every scenario, limit 5, seed 1,
// charts into the working directory, and moves that take time.
func defaultOptions() options {
	return options{
		Scenario:   "all",
		MaxActions: placement.DefaultConfig().MaxActionsPerTick,
		Seed:       1,
		Out:        ".",
		Interval:   defaultInterval,
		Bandwidth:  defaultBandwidth,
		MoveDelay:  defaultMoveDelay,
		NoiseBytes: 0.05,
		NoiseLoad:  0.20,
		FewNodes:   2_000,
	}
}

// parseNoise parses -noise: "bytes/load" in percent, or one figure for
// both.
func parseNoise(v string) (bytes, load float64, err error) {
	b, l, both := strings.Cut(v, "/")
	if !both {
		l = b
	}
	bytes, err1 := strconv.ParseFloat(b, 64)
	load, err2 := strconv.ParseFloat(l, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	if !(bytes >= 0 && bytes < 100 && load >= 0 && load < 100) {
		return 0, 0, fmt.Errorf("noise %q: each figure must be in [0, 100)", v)
	}
	return bytes / 100, load / 100, nil
}

// simulate runs one scenario, writes its charts and prints its summary.
func simulate(s *sim, sc scenario, o options, w io.Writer) error {
	s.res.Scenario = sc.name
	s.focus = sc.focus
	fmt.Fprintf(s.log, "== %s: %s\n", sc.name, sc.about)
	if err := sc.setup(s); err != nil {
		return err
	}
	if err := s.run(sc); err != nil {
		return err
	}
	s.finish()
	checkErr := sc.check(s)
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return err
		}
		for _, c := range s.charts(sc) {
			path := filepath.Join(o.Out, sc.name+c.suffix+".svg")
			if err := os.WriteFile(path, c.svg, 0o644); err != nil {
				return err
			}
			s.res.Charts = append(s.res.Charts, path)
		}
	}
	printSummary(w, s)
	return checkErr
}

func printSummary(w io.Writer, s *sim) {
	r := s.res
	fmt.Fprintf(w, "summary %s: ticks %d, transfers %d, splits %d, merges %d, imbalance %.3f -> %.3f\n",
		r.Scenario, r.Ticks, r.Transfers, r.Splits, r.Merges, r.FirstImbalance, r.FinalImbalance)
	if !s.countOnly {
		first, last := s.samples[0], r.FinalSample
		fmt.Fprintf(w, "  bytes: spread %.3f -> %.3f; moved %s", first.byteSpread, last.byteSpread, gib(float64(r.BytesMoved)))
		if r.ColocateBytes > 0 {
			fmt.Fprintf(w, " (%s of it in shards merged within %d ticks of their transfer)",
				gib(float64(r.ColocateBytes)), resplitWindow)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  bytes moved %s against the lower bound at tick 0 of %s (%s) and against an accumulated lower bound of %s (%s)\n",
			gib(float64(r.BytesMoved)), gib(r.LowerBound), times(r.BytesMoved, r.LowerBound),
			gib(r.AccBound), times(r.BytesMoved, r.AccBound))
		if s.load {
			fmt.Fprintf(w, "  load: spread %.3f -> %.3f; moved %.0f of %.0f\n",
				first.loadSpread, last.loadSpread, r.LoadMoved, sum(last.load))
		}
	}
	if s.policy.InstantMoves {
		fmt.Fprintf(w, "  moves: instant (Policy.InstantMoves), %d completed as they began\n", r.Completed)
	} else {
		bytesWindow := gib(float64(s.policy.MaxInflightBytesPerNode))
		if s.policy.MaxInflightBytesPerNode == 0 {
			bytesWindow = "no byte window"
		}
		fmt.Fprintf(w, "  moves: %d begun, %d completed, %d aborted, %d still in flight; a node's most in flight %d moves, %s (windows %d, %s); %d plans held back by a window\n",
			r.Transfers, r.Completed, r.Aborted, r.InFlight, r.PeakMoves, gib(float64(r.PeakBytes)),
			s.policy.MaxInflightPerNode, bytesWindow, r.WindowPlans)
	}
	if r.RebalancePlans > 0 {
		if s.countOnly {
			fmt.Fprintf(w, "  rebalancing: %d episode(s), %d plans; first plan's minimum %d (Plan.MinMoves) = %d (naive recount); equal in every plan\n",
				r.Rebalances, r.RebalancePlans, r.Minimum, r.NaiveMinimum)
		} else {
			fmt.Fprintf(w, "  rebalancing: %d episode(s), %d plans; Plan.MinBytes differs from the naive recount in %d\n",
				r.Rebalances, r.RebalancePlans, r.MinBytesOff)
		}
	}
	printForecast(w, s)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	for _, c := range r.Charts {
		fmt.Fprintf(w, "  chart: %s\n", c)
	}
}

// times formats bytes moved over a lower bound as "×r", or says the bound
// is zero.
func times(moved uint64, bound float64) string {
	if bound <= 0 {
		return "none needed"
	}
	return fmt.Sprintf("×%.2f", float64(moved)/bound)
}

// gib formats a byte count in GiB, or MiB below one GiB.
func gib(b float64) string {
	if math.Abs(b) < 1<<30 {
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", b/(1<<30))
}

func sum(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t
}
