package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func runScenario(t *testing.T, name, out string) result {
	t.Helper()
	res, err := run(options{Scenario: name, MaxActions: 5, Seed: 1, Quiet: true, Out: out}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("run %s returned %d results, want 1", name, len(res))
	}
	return res[0]
}

func TestAddEmptyNodeTransfersTheMinimum(t *testing.T) {
	dir := t.TempDir()
	r := runScenario(t, "add-empty-node", dir)
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
}

func TestDrainEmptiesTheNode(t *testing.T) {
	r := runScenario(t, "drain-node", "")
	if n := countOf(r.Final, drainedNode); n != 0 {
		t.Errorf("node %d ends with %d shards, want 0", drainedNode, n)
	}
	if r.Transfers == 0 {
		t.Error("no transfers")
	}
}

// TestSameFlagsSameOutput runs every scenario twice and compares stdout
// and the charts byte for byte.
func TestSameFlagsSameOutput(t *testing.T) {
	runAll := func() (string, [][]byte) {
		dir := t.TempDir()
		var out bytes.Buffer
		o := options{Scenario: "all", MaxActions: 5, Seed: 7, Out: dir}
		if _, err := run(o, &out); err != nil {
			t.Fatal(err)
		}
		var charts [][]byte
		for _, sc := range scenarios {
			b, err := os.ReadFile(filepath.Join(dir, sc.name+".svg"))
			if err != nil {
				t.Fatal(err)
			}
			charts = append(charts, b)
		}
		// The output names the directory; blank it to compare runs.
		return string(bytes.ReplaceAll(out.Bytes(), []byte(dir), []byte("DIR"))), charts
	}
	out1, charts1 := runAll()
	out2, charts2 := runAll()
	if out1 != out2 {
		t.Errorf("stdout differs between runs:\n%s\n---\n%s", out1, out2)
	}
	for i, sc := range scenarios {
		if !bytes.Equal(charts1[i], charts2[i]) {
			t.Errorf("%s.svg differs between runs", sc.name)
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
