package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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

// runScenario runs one scenario as the command would, with limit 5, and
// returns its result and error.
func runScenario(t *testing.T, name, out string) (result, error) {
	t.Helper()
	res, err := run(options{Scenario: name, MaxActions: 5, Seed: 1, Quiet: true, Out: out, list: testScenarios}, io.Discard)
	if err != nil && !errors.Is(err, errCheck) {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("run %s returned %d results, want 1", name, len(res))
	}
	return res[0], err
}

// mustRun runs a scenario and fails the test on any error, listing the
// scenario's notes (its figures and the targets met and missed).
func mustRun(t *testing.T, name, out string) result {
	t.Helper()
	r, err := runScenario(t, name, out)
	if err != nil {
		t.Errorf("%v\n  %s", err, strings.Join(r.Notes, "\n  "))
	}
	return r
}

func TestAddEmptyNodeTransfersTheMinimum(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, "add-empty-node", dir)
	if r.Minimum <= 0 || r.Transfers != r.Minimum || r.NaiveMinimum != r.Minimum {
		t.Errorf("transfers %d, minimum %d (Plan.MinMoves) and %d (naive); want all equal and > 0",
			r.Transfers, r.Minimum, r.NaiveMinimum)
	}
	if want := ceilDiv(r.Minimum, 5); r.Ticks != want {
		t.Errorf("converged in %d ticks, want ⌈%d / 5⌉ = %d", r.Ticks, r.Minimum, want)
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

func TestChurn(t *testing.T) { mustRun(t, "churn", "") }

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

// TestCapacity: issue 10's second target, on the 1/16 instance.
func TestCapacity(t *testing.T) {
	r := mustRun(t, "capacity", "")
	last := r.FinalSample
	total := sum(float64s(last.bytes))
	for i, n := range last.nodes {
		if d := float64(last.bytes[i])/(total*last.share[i]) - 1; math.Abs(d) > targetCapacity {
			t.Errorf("node %d: bytes %+.1f%% off its capacity share, want within ±%.0f%%", n.ID, 100*d, 100*targetCapacity)
		}
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
		o := options{Scenario: "all", MaxActions: 5, Seed: 7, Out: dir, list: testScenarios}
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

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
