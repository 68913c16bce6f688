// Command simulate runs placement's planner offline, with no raft: a
// ShardRegistry and a Coordinator, ticked in a loop. Each tick it plans at
// most MaxActionsPerTick commands, applies them all through
// ShardRegistry.Apply (a rejection is a bug and fails the run), then lets
// the scenario's workload change and reports every shard's stats, as a
// host would.
//
// Scenarios:
//
//   - add-empty-node: 8 nodes with 400 shards, then an empty node 9. Runs
//     until the plan is empty; fails unless the transfers equal the
//     minimum, taken from the first rebalancing plan's MinMoves and
//     recomputed here from the node counts.
//   - drain-node: 6 nodes, node 3 draining. Fails unless node 3 ends empty.
//   - hot-range: one key range grows ×1.5 a tick for 10 ticks and keeps
//     splitting; rebalancing spreads the new shards.
//   - churn: 200 ticks of seeded random growth, bulk loads and deletes,
//     with splits and merges. Fails if a shard is merged within the merge
//     embargo of its split.
//
// It prints a line per tick (unless -quiet) and a summary per scenario, and
// writes an SVG chart per scenario into -out: shard counts per node and the
// imbalance, over ticks. The same flags give byte-identical output.
//
//	go run ./examples/simulate
//	go run ./examples/simulate -scenario add-empty-node -quiet -out /tmp
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ukehi/placement"
)

// options are the command-line flags.
type options struct {
	Scenario   string // a scenario name, or "all"
	MaxActions int    // MaxActionsPerTick: the plan limit
	Seed       uint64 // seeds the workloads' random numbers
	Quiet      bool   // print only the summaries
	Out        string // directory for the SVG charts; "" writes none
}

func main() {
	var o options
	names := []string{"all"}
	for _, sc := range scenarios {
		names = append(names, sc.name)
	}
	flag.StringVar(&o.Scenario, "scenario", "all", "scenario to run: "+strings.Join(names, ", "))
	flag.IntVar(&o.MaxActions, "max-actions", placement.DefaultConfig().MaxActionsPerTick,
		"commands planned and applied per tick (MaxActionsPerTick)")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed for the workloads' random numbers")
	flag.BoolVar(&o.Quiet, "quiet", false, "print only the summaries")
	flag.StringVar(&o.Out, "out", ".", `directory for the SVG charts ("" writes none)`)
	flag.Parse()
	if _, err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simulate:", err)
		os.Exit(1)
	}
}

// run runs the selected scenarios in order, printing to w, and returns
// their summaries. It stops at the first scenario that fails.
func run(o options, w io.Writer) ([]result, error) {
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = o.MaxActions
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var results []result
	found := false
	for i, sc := range scenarios {
		if o.Scenario != "all" && o.Scenario != sc.name {
			continue
		}
		found = true
		// One random stream per scenario, so a scenario run alone
		// matches the same scenario in "all".
		s := newSim(cfg, o.Seed, uint64(i), w)
		if o.Quiet {
			s.log = io.Discard
		}
		err := simulate(s, sc, o, w)
		results = append(results, s.res)
		if err != nil {
			return results, fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	if !found {
		return nil, fmt.Errorf("unknown scenario %q", o.Scenario)
	}
	return results, nil
}

// simulate runs one scenario, writes its chart and prints its summary.
func simulate(s *sim, sc scenario, o options, w io.Writer) error {
	s.res.Scenario = sc.name
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
		path := filepath.Join(o.Out, sc.name+".svg")
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, s.chart(sc), 0o644); err != nil {
			return err
		}
		s.res.Chart = path
	}
	printSummary(w, s.res)
	return checkErr
}

func printSummary(w io.Writer, r result) {
	fmt.Fprintf(w, "summary %s: ticks %d, transfers %d, splits %d, merges %d, imbalance %.3f -> %.3f\n",
		r.Scenario, r.Ticks, r.Transfers, r.Splits, r.Merges, r.FirstImbalance, r.FinalImbalance)
	if r.RebalancePlans > 0 {
		fmt.Fprintf(w, "  rebalancing: %d episode(s), %d plans; first plan's minimum %d (Plan.MinMoves) = %d (naive recount); equal in every plan\n",
			r.Rebalances, r.RebalancePlans, r.Minimum, r.NaiveMinimum)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	if r.Chart != "" {
		fmt.Fprintf(w, "  chart: %s\n", r.Chart)
	}
}
