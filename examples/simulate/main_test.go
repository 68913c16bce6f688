package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ukehi/placement"
)

// testScenarios are the scenarios the tests run: the command's, with the
// capacity scenario at 1/16 scale (64 GiB units, 625 shards) so that the
// tests stay fast under -race.
var testScenarios = func() []scenario {
	list := slices.Clone(scenarios)
	for i := range list {
		if list[i].name == "capacity" {
			list[i] = capacityScenario(capShards/16, tib/16)
		}
	}
	return list
}()

// testFewNodes is the few-shards scenario's size in the tests: the
// command's default of 2,000 nodes takes some seconds.
const testFewNodes = 200

// testOptions are the command's defaults (limit 5, seed 1, moves that take
// time), quiet, for one scenario.
func testOptions(name, out string) options {
	o := defaultOptions()
	o.Scenario, o.Quiet, o.Out, o.list = name, true, out, testScenarios
	o.FewNodes = testFewNodes
	return o
}

// runScenario runs one scenario with the given options and returns its
// result and error.
func runScenario(t *testing.T, o options) (result, error) {
	t.Helper()
	res, err := run(o, io.Discard)
	if err != nil && !errors.Is(err, errCheck) {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("run %s returned %d results, want 1", o.Scenario, len(res))
	}
	return res[0], err
}

// mustRun runs a scenario with the test options and fails the test on any
// error, listing the scenario's notes (its figures and the targets met and
// missed).
func mustRun(t *testing.T, name, out string) result {
	t.Helper()
	return mustRunWith(t, testOptions(name, out))
}

func mustRunWith(t *testing.T, o options) result {
	t.Helper()
	r, err := runScenario(t, o)
	if err != nil {
		t.Errorf("%v\n  %s", err, strings.Join(r.Notes, "\n  "))
	}
	return r
}

// TestAddEmptyNodeTransfersTheMinimum: the planner makes exactly the
// minimum of transfers, at the fastest pace the limits allow. Moves take
// the move delay (10 s, 2 ticks of 5 s) and at most MaxInflightPerNode (4)
// are in flight into node 9, so 4 moves begin every 2 ticks: ticks =
// 2 × ⌈minimum / 4⌉. With instant moves no window applies and 5 moves
// (MaxActionsPerTick, MaxMovesPerNode) begin and complete each tick:
// ticks = ⌈minimum / 5⌉, the figure the README quotes.
func TestAddEmptyNodeTransfersTheMinimum(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "add-empty-node", dir)
	if r.Minimum <= 0 || r.Transfers != r.Minimum || r.NaiveMinimum != r.Minimum {
		t.Errorf("transfers %d, minimum %d (Plan.MinMoves) and %d (naive); want all equal and > 0",
			r.Transfers, r.Minimum, r.NaiveMinimum)
	}
	window := placement.DefaultPolicy().MaxInflightPerNode
	d := int((defaultMoveDelay + defaultInterval - 1) / defaultInterval)
	if want := d * ceilDiv(r.Minimum, window); d != 2 || r.Ticks != want {
		t.Errorf("converged in %d ticks, want %d × ⌈%d / %d⌉ = %d", r.Ticks, d, r.Minimum, window, want)
	}
	if r.Completed != r.Transfers || r.PeakMovesIn != window || r.MovesOver != 0 {
		t.Errorf("%d of %d moves completed; node 9 had at most %d in flight, want %d; %d samples over the window",
			r.Completed, r.Transfers, r.PeakMovesIn, window, r.MovesOver)
	}
	o := testOptions("add-empty-node", "")
	o.Instant = true
	ri := mustRunWith(t, o)
	if ri.Transfers != ri.Minimum || ri.Minimum != r.Minimum {
		t.Errorf("instant: transfers %d, minimum %d; want %d", ri.Transfers, ri.Minimum, r.Minimum)
	}
	if want := ceilDiv(ri.Minimum, 5); ri.Ticks != want {
		t.Errorf("instant: converged in %d ticks, want ⌈%d / 5⌉ = %d", ri.Ticks, ri.Minimum, want)
	}
	got := chartNodes(t, filepath.Join(dir, "add-empty-node.svg"))
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}
	if !slices.Equal(got, want) {
		t.Errorf("chart has node polylines %q, want one per node %q", got, want)
	}
	// No stats, no byte chart.
	if len(r.Charts) != 1 {
		t.Errorf("charts %q, want the count chart only", r.Charts)
	}
}

func TestDrainEmptiesTheNode(t *testing.T) {
	r := mustRun(t, "drain-node", "")
	if n := countOf(r.Final, drainedNode); n != 0 {
		t.Errorf("node %d ends with %d shards, want 0", drainedNode, n)
	}
	if r.Transfers == 0 {
		t.Error("no transfers")
	}
}

func TestHotRange(t *testing.T) { mustRun(t, "hot-range", "") }

// TestWindows: an empty node joins nodes holding shards of 640 MiB
// (median) that copy at 100 MiB/s, several ticks each. In every tick the
// moves in flight into and out of every node stay within
// MaxInflightPerNode, and their bytes within MaxInflightBytesPerNode
// unless a single move; the windows do bind; every move completes; the
// run settles with the byte spread within the stop band. The chart is the
// in-flight chart, and the count chart moves to windows-counts.svg.
func TestWindows(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "windows", dir)
	pol := placement.DefaultPolicy()
	moves, window := pol.MaxInflightPerNode, pol.MaxInflightBytesPerNode
	if len(r.Samples) != r.Ticks+1 {
		t.Fatalf("%d samples for %d ticks", len(r.Samples), r.Ticks)
	}
	peakIn, peakBytesIn := 0, uint64(0)
	for _, smp := range r.Samples {
		for i, n := range smp.nodes {
			for _, d := range []struct {
				dir   string
				moves int
				bytes uint64
			}{{"into", smp.movesIn[i], smp.bytesIn[i]}, {"out of", smp.movesOut[i], smp.bytesOut[i]}} {
				if d.moves > moves {
					t.Errorf("tick %d: %d moves in flight %s node %d, window %d", smp.tick, d.moves, d.dir, n.ID, moves)
				}
				if d.bytes > window && d.moves > 1 {
					t.Errorf("tick %d: %d bytes in %d moves in flight %s node %d, window %d",
						smp.tick, d.bytes, d.moves, d.dir, n.ID, window)
				}
			}
			if n.ID == wnNode {
				peakIn, peakBytesIn = max(peakIn, smp.movesIn[i]), max(peakBytesIn, smp.bytesIn[i])
			}
		}
	}
	// The windows bind: node 9 fills its count window, and its bytes in
	// flight come within 10% of the byte window.
	if peakIn != moves || float64(peakBytesIn) < 0.9*float64(window) || r.WindowPlans == 0 {
		t.Errorf("node %d: at most %d moves, %d bytes in flight; %d plans held back by a window; want the windows reached",
			wnNode, peakIn, peakBytesIn, r.WindowPlans)
	}
	if r.Ticks <= 0 || r.Ticks >= maxTicks {
		t.Errorf("settled after %d ticks", r.Ticks)
	}
	if r.Transfers == 0 || r.Completed != r.Transfers || r.Aborted != 0 || r.InFlight != 0 {
		t.Errorf("moves: %d begun, %d completed, %d aborted, %d in flight; want every one completed",
			r.Transfers, r.Completed, r.Aborted, r.InFlight)
	}
	last := r.FinalSample
	if last.byteSpread > pol.StopBand {
		t.Errorf("byte spread %.3f, want ≤ StopBand %.2f", last.byteSpread, pol.StopBand)
	}
	if i := nodeIndex(last, wnNode); last.bytes[i] == 0 {
		t.Errorf("node %d ends empty", wnNode)
	}

	classes := chartClasses(t, filepath.Join(dir, "windows.svg"))
	for _, c := range []string{"inflight-moves", "inflight-moves-any", "inflight-bytes", "inflight-bytes-any", "node-bytes", "limit"} {
		if classes[c] == 0 {
			t.Errorf("windows.svg has no %q element", c)
		}
	}
	got := chartNodes(t, filepath.Join(dir, "windows-counts.svg"))
	if want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}; !slices.Equal(got, want) {
		t.Errorf("windows-counts.svg has node polylines %q, want %q", got, want)
	}

	// With instant moves nothing is ever in flight and no window applies.
	o := testOptions("windows", "")
	o.Instant = true
	ri := mustRunWith(t, o)
	if ri.PeakMoves != 0 || ri.WindowPlans != 0 || ri.Completed != ri.Transfers {
		t.Errorf("instant: %d moves in flight at most, %d plans held back by a window, %d of %d completed",
			ri.PeakMoves, ri.WindowPlans, ri.Completed, ri.Transfers)
	}
}

func TestPacedTicks(t *testing.T) {
	for _, tc := range []struct {
		name                            string
		moves, perPlan, window, d, want int
	}{
		{name: "instant", moves: 43, perPlan: 5, window: 5, d: 1, want: 9},
		{name: "window under the plan cap", moves: 43, perPlan: 5, window: 4, d: 2, want: 22},
		// 2 a plan, 4 in flight, 3 ticks each: ticks 1 and 2 begin 2
		// each, tick 3 none (4 in flight), ticks 4 and 5 two each (the
		// pairs of ticks 1 and 2 ended at the end of ticks 3 and 4); the
		// last pair ends at the end of tick 7.
		{name: "plan cap under the window", moves: 8, perPlan: 2, window: 4, d: 3, want: 7},
		{name: "one", moves: 1, perPlan: 5, window: 4, d: 3, want: 3},
		{name: "none", moves: 0, perPlan: 5, window: 4, d: 3, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pacedTicks(tc.moves, tc.perPlan, tc.window, tc.d); got != tc.want {
				t.Errorf("pacedTicks(%d, %d, %d, %d) = %d, want %d", tc.moves, tc.perPlan, tc.window, tc.d, got, tc.want)
			}
		})
	}
}

// TestChurn: the churn scenario passes its checks, and its summary
// reports bytes moved against the lower bound accumulated tick by tick,
// which is at least the bound at tick 0 and, the churn changing sizes,
// above it; and its moves per shard per hour.
func TestChurn(t *testing.T) {
	var out bytes.Buffer
	res, err := run(testOptions("churn", ""), &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	r := res[0]
	if r.LowerBound <= 0 || r.AccBound <= r.LowerBound {
		t.Errorf("accumulated lower bound %.0f, at tick 0 %.0f: want above it", r.AccBound, r.LowerBound)
	}
	for _, want := range []string{
		fmt.Sprintf("moved %s against an accumulated lower bound of %s (×%.2f)",
			gib(float64(r.BytesMoved)), gib(r.AccBound), float64(r.BytesMoved)/r.AccBound),
		"per shard per hour of simulated time",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the churn summary does not say %q:\n%s", want, out.String())
		}
	}
}

// TestAccBoundStatic: where the workload does not change, the accumulated
// lower bound is the bound at tick 0.
func TestAccBoundStatic(t *testing.T) {
	r := mustRun(t, "bytes-new-node", "")
	if r.AccBound != r.LowerBound {
		t.Errorf("accumulated lower bound %.0f, at tick 0 %.0f: want equal", r.AccBound, r.LowerBound)
	}
}

// TestBytesNewNode: issue 10's first target. The scenario's check holds
// the targets (byte spread, bytes moved against the lower bound, counts,
// fixed point); here they are asserted again from the result, and the
// byte chart is checked.
func TestBytesNewNode(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "bytes-new-node", dir)
	last := r.FinalSample
	if last.byteSpread > targetByteSpread {
		t.Errorf("byte spread %.3f, want ≤ %.2f", last.byteSpread, targetByteSpread)
	}
	if r.LowerBound <= 0 || float64(r.BytesMoved) > targetMoved*r.LowerBound {
		t.Errorf("bytes moved %d, lower bound %.0f: want ≤ %.2f × the bound", r.BytesMoved, r.LowerBound, targetMoved)
	}
	if r.MinBytesTick < 0 || !closeBytes(float64(r.MinBytes), r.NaiveMinBytes, len(last.nodes)) {
		t.Errorf("first rebalancing plan (tick %d): Plan.MinBytes %d, naive %.0f", r.MinBytesTick, r.MinBytes, r.NaiveMinBytes)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	for _, name := range []string{"bytes-new-node.svg", "bytes-new-node-bytes.svg"} {
		if got := chartNodes(t, filepath.Join(dir, name)); !slices.Equal(got, want) {
			t.Errorf("%s has node polylines %q, want one per node %q", name, got, want)
		}
	}
}

// TestCapacity: issue 10's second target, on the 1/16 instance. Its count
// chart plots what the planner holds counts to with bytes known, each
// node's distance from its capacity share of the count, against the count
// band, and the run ends inside it (the raw count imbalance, which capacities
// of 1:1:2:4 put far above the trigger by design, is not drawn).
func TestCapacity(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "capacity", dir)
	last := r.FinalSample
	total := sum(float64s(last.bytes))
	for i, n := range last.nodes {
		if d := float64(last.bytes[i])/(total*last.share[i]) - 1; math.Abs(d) > targetCapacity {
			t.Errorf("node %d: bytes %+.1f%% off its capacity share, want within ±%.0f%%", n.ID, 100*d, 100*targetCapacity)
		}
	}
	tol := placement.DefaultPolicy().CountTolerance
	if d := countDeviation(shardCounts(last), last.share); d > tol {
		t.Errorf("counts end %.3f off their capacity targets, want within the band %.2f", d, tol)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "capacity.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"shards per node and count band", "count band ±0.25", "count off target", `class="target"`} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("capacity.svg has no %q", want)
		}
	}
	if bytes.Contains(svg, []byte("imbalance")) || bytes.Contains(svg, []byte("stop band")) {
		t.Error("capacity.svg draws the count imbalance or a stop band the count band does not have")
	}
}

// TestHotLoad: issue 10's third target; the load chart is written.
func TestHotLoad(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "hot-load", dir)
	if s := r.FinalSample.loadSpread; s > targetLoadSpread {
		t.Errorf("load spread %.3f, want ≤ %.2f", s, targetLoadSpread)
	}
	if r.Splits == 0 {
		t.Error("no hot shard was split")
	}
	got := chartNodes(t, filepath.Join(dir, "hot-load-load.svg"))
	if want := []string{"1", "2", "3", "4", "5", "6", "7", "8"}; !slices.Equal(got, want) {
		t.Errorf("load chart has node polylines %q, want %q", got, want)
	}
}

// TestSameFlagsSameOutput runs every scenario twice and compares stdout
// and the charts byte for byte. A missed target does not matter here.
func TestSameFlagsSameOutput(t *testing.T) {
	runAll := func() (string, map[string][]byte) {
		dir := t.TempDir()
		var out bytes.Buffer
		o := testOptions("all", dir)
		o.Seed, o.Quiet = 7, false
		if _, err := run(o, &out); err != nil && !errors.Is(err, errCheck) {
			t.Fatal(err)
		}
		charts := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			charts[e.Name()] = b
		}
		// The output names the directory; blank it to compare runs.
		return string(bytes.ReplaceAll(out.Bytes(), []byte(dir), []byte("DIR"))), charts
	}
	out1, charts1 := runAll()
	out2, charts2 := runAll()
	for _, name := range []string{"windows", "noise", "few-shards", "few-shards-bimodal", "throttled"} {
		if !strings.Contains(out1, "summary "+name+":") {
			t.Errorf("the %s scenario did not run", name)
		}
	}
	if !strings.Contains(out1, "  measure: 300 noisy ticks") {
		t.Error("the noise scenario printed no measure of its noisy phase")
	}
	if !strings.Contains(out1, "moves per shard per hour of simulated time in the noisy phase") {
		t.Error("the noise scenario printed no moves per shard per hour")
	}
	if out1 != out2 {
		t.Errorf("stdout differs between runs:\n%s\n---\n%s", out1, out2)
	}
	// Every scenario writes its count chart, and one with stats its byte
	// chart too.
	for _, sc := range testScenarios {
		if _, ok := charts1[sc.name+".svg"]; !ok {
			t.Errorf("no chart %s.svg", sc.name)
		}
	}
	if len(charts1) != len(charts2) {
		t.Errorf("%d charts, then %d", len(charts1), len(charts2))
	}
	for name, b := range charts1 {
		if !bytes.Equal(b, charts2[name]) {
			t.Errorf("%s differs between runs", name)
		}
	}
}

func TestUnknownScenario(t *testing.T) {
	if _, err := run(options{Scenario: "nope", MaxActions: 5}, io.Discard); err == nil {
		t.Error("unknown scenario accepted")
	}
}

func TestNaiveMinMoves(t *testing.T) {
	for _, tc := range []struct {
		name     string
		counts   []int
		stopBand float64
		want     int
	}{
		{name: "already even", counts: []int{5, 5, 5}, stopBand: 0, want: 0},
		{name: "one empty node", counts: []int{10, 10, 0}, stopBand: 0, want: 6},
		// S = 400, n = 9: w = ⌊0.05 × 400 / 9⌋ = 2; the band [43, 45]
		// costs max(8 × (50 − 45), 43 − 0) = 43 moves.
		{name: "band", counts: []int{50, 50, 50, 50, 50, 50, 50, 50, 0}, stopBand: 0.05, want: 43},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := naiveMinMoves(tc.counts, tc.stopBand); got != tc.want {
				t.Errorf("naiveMinMoves(%v, %v) = %d, want %d", tc.counts, tc.stopBand, got, tc.want)
			}
		})
	}
}

// chartNodes decodes an SVG file as XML, failing the test if it is not
// well formed, and returns the data-node attribute of each node polyline.
func chartNodes(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var nodes []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = el.Name.Local
		}
		if el.Name.Local == "polyline" && attr(el, "class") == "node" {
			nodes = append(nodes, attr(el, "data-node"))
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", path, root)
	}
	return nodes
}

// chartClasses decodes an SVG file as XML, failing the test if it is not
// well formed, and counts its elements by class attribute.
func chartClasses(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	out := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			if c := attr(el, "class"); c != "" {
				out[c]++
			}
		}
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// TestNoise: the noise scenario settles (or gives up at its bound), then
// runs 300 noisy ticks, reports them and charts the bytes moved per tick.
// Its figures are measures, not targets: the run never fails on them.
func TestNoise(t *testing.T) {
	dir := t.TempDir()
	o := testOptions("noise", dir)
	o.NoiseBytes, o.NoiseLoad = 0.01, 0.01
	r := mustRunWith(t, o)
	if got := r.Ticks - r.SettleTicks; got != nsNoisy {
		t.Errorf("%d noisy ticks, want %d", got, nsNoisy)
	}
	if r.NoisyTransfers > r.Transfers || r.BackMoves > r.NoisyTransfers || r.NoisyBytes > r.BytesMoved {
		t.Errorf("noisy phase %d transfers (%d back), %d bytes; whole run %d transfers, %d bytes",
			r.NoisyTransfers, r.BackMoves, r.NoisyBytes, r.Transfers, r.BytesMoved)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "measure: 300 noisy ticks (±1% bytes, ±1% load)") }) {
		t.Errorf("no measure of the noisy phase:\n  %s", strings.Join(r.Notes, "\n  "))
	}
	b, err := os.ReadFile(filepath.Join(dir, "noise-moved.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Errorf("noise-moved.svg: %v", err)
	}
	if !bytes.Contains(b, []byte(`class="moved"`)) {
		t.Error("noise-moved.svg draws no bytes moved")
	}
}

// TestFewShards: both few-shards scenarios settle and report the byte
// spread at rest; with Timing they report the plan time, the only figure
// that differs between runs, and every other note is the same.
func TestFewShards(t *testing.T) {
	for _, name := range []string{"few-shards", "few-shards-bimodal"} {
		t.Run(name, func(t *testing.T) {
			o := testOptions(name, "")
			o.Timing = true
			r := mustRunWith(t, o)
			if !r.Settled {
				t.Errorf("not settled after %d ticks", r.Ticks)
			}
			var timed int
			figures := slices.DeleteFunc(slices.Clone(r.Notes), func(n string) bool {
				if strings.HasPrefix(n, "measure: plan time") {
					timed++
					return true
				}
				return false
			})
			if timed != 1 {
				t.Errorf("%d plan time notes, want 1", timed)
			}
			if !slices.ContainsFunc(figures, func(n string) bool { return strings.HasPrefix(n, "measure: byte spread at rest") }) {
				t.Errorf("no byte spread at rest:\n  %s", strings.Join(r.Notes, "\n  "))
			}
			o.Timing = false
			again := mustRunWith(t, o)
			if !slices.Equal(figures, again.Notes) {
				t.Errorf("notes differ between runs:\n  %s\n---\n  %s",
					strings.Join(figures, "\n  "), strings.Join(again.Notes, "\n  "))
			}
		})
	}
}

// TestThrottled: the impact limits hold in the throttled scenario,
// recounted here from the run's transfers and samples, and each of them
// held the planner back. No transfer begins in the quiet hours
// (01:00–03:00 UTC), and transfers resume at 03:00. In every tick the
// bytes of the transfers that count in the churn budget (each from its
// start to an hour after it completed) are within a tenth of all bytes,
// equal to Coordinator.Churn's, and come within a small shard of it; the
// bytes in flight into and out of every node in two or more moves are
// within 10 MiB/s × MoveTimeout, and come within a small shard of it. The
// 64 GiB shard moves into the slow node 5 and completes, never aborted,
// in flight longer than MoveTimeout plus its bytes at MinCopyRate: only
// its progress reports kept it. The run settles within the stop band, and
// both charts draw what they say.
func TestThrottled(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "throttled", dir)
	pol := placement.DefaultPolicy()
	quiet := func(at time.Time) bool {
		m := at.UTC().Hour()*60 + at.UTC().Minute()
		return m >= 60 && m < 180
	}
	const small = thSmallHi

	resumed := false
	var big []transferRec
	for _, m := range r.Moves {
		if quiet(m.began) {
			t.Errorf("shard %d: transfer begun at %s, in the quiet hours", m.shard, m.began.Format("15:04"))
		}
		resumed = resumed || m.began.UTC().Hour() >= 3
		if m.bytes == thBig {
			big = append(big, m)
		}
	}
	if !resumed {
		t.Error("no transfer begun after the quiet hours")
	}

	total := sum(float64s(r.Samples[0].bytes))
	allowed := uint64(0.1 * total)
	window := uint64(10 * mib * pol.MoveTimeout.Seconds())
	var peakHour, peakMulti uint64
	heldBudget, heldRate, heldQuiet := 0, 0, 0
	for _, smp := range r.Samples[1:] {
		at := clockStart.Add(time.Duration(smp.tick) * thInterval)
		var hour uint64
		for _, m := range r.Moves {
			if !m.began.After(at) && (m.ended.IsZero() || at.Before(m.ended.Add(time.Hour))) {
				hour += m.bytes
			}
		}
		if hour > allowed {
			t.Errorf("%s: %d bytes count in the churn budget's hour, budget %d", at.Format("15:04"), hour, allowed)
		}
		if smp.churn.Bytes != hour || smp.churn.AllowedBytes != allowed {
			t.Errorf("%s: Coordinator.Churn %d of %d bytes, recount %d of %d", at.Format("15:04"),
				smp.churn.Bytes, smp.churn.AllowedBytes, hour, allowed)
		}
		peakHour = max(peakHour, hour)
		for i, n := range smp.nodes {
			for _, d := range [][2]uint64{{uint64(smp.movesIn[i]), smp.bytesIn[i]}, {uint64(smp.movesOut[i]), smp.bytesOut[i]}} {
				if d[0] > 1 {
					peakMulti = max(peakMulti, d[1])
					if d[1] > window {
						t.Errorf("%s: node %d has %d bytes in flight in %d moves, window %d", at.Format("15:04"), n.ID, d[1], d[0], window)
					}
				}
			}
		}
		if smp.held.budget {
			heldBudget++
		}
		if smp.held.rate {
			heldRate++
		}
		if smp.held.quiet && smp.byteSpread > pol.StopBand {
			heldQuiet++
		}
	}
	if peakHour+small <= allowed || heldBudget == 0 {
		t.Errorf("the churn budget bound nothing: at most %d of %d bytes in an hour, %d plans held", peakHour, allowed, heldBudget)
	}
	if peakMulti+small <= window || heldRate == 0 {
		t.Errorf("the rates bound nothing: at most %d bytes in flight in two or more moves, window %d, %d plans held", peakMulti, window, heldRate)
	}
	if heldQuiet == 0 {
		t.Error("no plan held by quiet hours while the bytes were out of the stop band")
	}

	if len(big) != 1 {
		t.Fatalf("the 64 GiB shard moved %d times, want once", len(big))
	}
	b := big[0]
	limit := pol.MoveTimeout + time.Duration(float64(thBig)/float64(pol.MinCopyRate)*float64(time.Second))
	if b.to != thSlow || b.aborted || b.ended.IsZero() || b.ended.Sub(b.began) <= limit {
		t.Errorf("64 GiB shard: to node %d, %s to %s, aborted %v; want into node %d, completed, in flight over %v",
			b.to, b.began.Format("15:04"), b.ended.Format("15:04"), b.aborted, thSlow, limit)
	}
	if !r.Settled || r.Aborted != 0 || r.Completed != r.Transfers || r.FinalSample.byteSpread > pol.StopBand {
		t.Errorf("settled %v, %d of %d moves completed, %d aborted, byte spread %.3f",
			r.Settled, r.Completed, r.Transfers, r.Aborted, r.FinalSample.byteSpread)
	}

	for name, want := range map[string][]string{
		"throttled.svg":       {"inflight-in", "inflight-out", "limit", "quiet", "big-copied", "move-timeout", "deadline"},
		"throttled-churn.svg": {"churn", "churn-reported", "churn-big", "limit", "quiet", "begun", "held-budget", "held-quiet", "held-rate"},
	} {
		classes := chartClasses(t, filepath.Join(dir, name))
		for _, c := range want {
			if classes[c] == 0 {
				t.Errorf("%s has no %q element", name, c)
			}
		}
	}
	if got, want := chartNodes(t, filepath.Join(dir, "throttled-counts.svg")), []string{"1", "2", "3", "4", "5", "6"}; !slices.Equal(got, want) {
		t.Errorf("throttled-counts.svg has node polylines %q, want %q", got, want)
	}
}
