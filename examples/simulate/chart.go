package main

// The chart is plain SVG written with fmt and strings: two panels of
// polylines, axes, tick labels and a legend are a page of code. A plotting
// library such as gonum.org/v1/plot would put its dependency tree into the
// module's go.mod (which every user of the library downloads) for the sake
// of one example, and byte-identical output across its versions would be
// harder to promise.

import (
	"encoding/xml"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ukehi/placement"
)

const (
	chartW, chartH   = 900, 600
	plotL, plotR     = 72, 700
	countsT, countsB = 84, 364  // the per-node panel, top and bottom
	imbT, imbB       = 412, 532 // the spread panel
	legendX          = 724
)

// palette is Tableau 10: distinct hues that stay apart for colour-blind
// readers. Nodes beyond ten reuse it, dashed.
var palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
}

// chartFile is one SVG the run writes, named after the scenario plus
// suffix.
type chartFile struct {
	suffix string
	svg    []byte
}

// metric is what one chart draws: an amount per node over ticks, and, in
// the lower panel, the figure the planner balances that amount by, against
// that figure's own trigger and stop band in the policy.
type metric struct {
	what string // in the title: "shards per node"
	axis string // the upper panel's axis title
	// value is node i's amount in a sample, in the axis's unit.
	value func(smp sample, i int) float64
	// integer makes the upper panel's y step at least 1.
	integer bool
	// spreadName, spread, threshold and stopBand draw the lower panel;
	// thresholdName labels the threshold's line ("threshold N" when
	// empty). With noStop the threshold is the whole band (the planner
	// acts above it and stops at it) and no stop band is drawn.
	spreadName          string
	spread              func(smp sample) float64
	threshold, stopBand float64
	thresholdName       string
	noStop              bool
	// target, when set, is node i's target in a sample (total × capacity
	// share), drawn dashed at its last value.
	target func(smp sample, i int) float64
	// sub is the subtitle.
	sub string
}

// charts returns the run's charts: shard counts per node always, bytes per
// node when the host reports stats, load per node when it reports load.
func (s *sim) charts(sc scenario) []chartFile {
	r := s.res
	sub := fmt.Sprintf("MaxActionsPerTick %d · ticks %d · transfers %d", s.limit, r.Ticks, r.Transfers)
	if r.Rebalances == 1 && r.Splits == 0 && r.Merges == 0 && s.countOnly {
		// One rebalance on a fixed shard count: its first plan's
		// minimum is the whole run's.
		sub += fmt.Sprintf(" (minimum %d)", r.Minimum)
	}
	sub += fmt.Sprintf(" · splits %d · merges %d · shards %d → %d", r.Splits, r.Merges, r.ShardsStart, r.ShardsEnd)
	var out []chartFile
	counts := ""
	if sc.noisy > 0 {
		out = append(out, chartFile{suffix: "-moved", svg: s.movedChart(sc)})
	}
	if sc.flightChart {
		out = append(out, chartFile{suffix: "", svg: s.flightChart(sc)})
		counts = "-counts"
	}
	if sc.charts != nil {
		out = append(out, sc.charts(s, sc)...)
		counts = "-counts"
	}
	target := func(amount func(smp sample) []float64) func(sample, int) float64 {
		return func(smp sample, i int) float64 {
			total := 0.0
			for k, a := range amount(smp) {
				if smp.share[k] > 0 {
					total += a
				}
			}
			return total * smp.share[i]
		}
	}
	out = append(out, chartFile{suffix: counts, svg: s.chart(sc, s.countMetric(sub, target(shardCounts)))})
	if s.countOnly {
		return out
	}
	gibs := func(smp sample) []float64 {
		out := float64s(smp.bytes)
		for i := range out {
			out[i] /= 1 << 30
		}
		return out
	}
	bsub := fmt.Sprintf("MaxActionsPerTick %d · ticks %d · transfers %d · bytes moved %s", s.limit, r.Ticks, r.Transfers, gib(float64(r.BytesMoved)))
	if r.LowerBound > 0 {
		bsub += fmt.Sprintf(" · lower bound %s (×%.3f)", gib(r.LowerBound), float64(r.BytesMoved)/r.LowerBound)
	}
	if r.AccBound > r.LowerBound {
		bsub += fmt.Sprintf(" · accumulated %s (×%.3f)", gib(r.AccBound), float64(r.BytesMoved)/r.AccBound)
	}
	out = append(out, chartFile{suffix: "-bytes", svg: s.chart(sc, metric{
		what:       "bytes per node and byte spread",
		axis:       "GiB per node",
		value:      func(smp sample, i int) float64 { return float64(smp.bytes[i]) / (1 << 30) },
		spreadName: "byte spread",
		spread:     func(smp sample) float64 { return smp.byteSpread },
		threshold:  s.policy.ImbalanceThreshold,
		stopBand:   s.policy.StopBand,
		target:     target(gibs),
		sub:        bsub,
	})})
	if !s.load {
		return out
	}
	lsub := fmt.Sprintf("MaxActionsPerTick %d · ticks %d · transfers %d · load moved %.0f · lower bound %.0f · splits %d",
		s.limit, r.Ticks, r.Transfers, r.LoadMoved, r.LoadBound, r.Splits)
	return append(out, chartFile{suffix: "-load", svg: s.chart(sc, metric{
		what:       "load per node and load spread",
		axis:       "load per node (requests/s)",
		value:      func(smp sample, i int) float64 { return smp.load[i] },
		spreadName: "load spread",
		spread:     func(smp sample) float64 { return smp.loadSpread },
		threshold:  s.policy.LoadThreshold,
		stopBand:   s.policy.LoadStopBand,
		target:     target(func(smp sample) []float64 { return smp.load }),
		sub:        lsub,
	})})
}

// shardCounts is each node's shard count in a sample, parallel to its
// nodes.
func shardCounts(smp sample) []float64 {
	out := make([]float64, len(smp.nodes))
	for i, n := range smp.nodes {
		out[i] = float64(n.Shards)
	}
	return out
}

// countMetric is the count chart: shards per node against their capacity
// targets, above what the planner holds counts to.
//
// With no stats known the count phase balances counts: it starts when
// the spread of countᵢ / targetᵢ (Plan.Balance.Count, the imbalance when
// capacities are equal) exceeds ImbalanceThreshold and stops in
// StopBand, so that spread is drawn against them. With bytes known,
// counts are not balanced but bounded: each node within CountTolerance of
// its capacity share of the count (the count band; the count-repair phase
// brings back a node outside it, as far as the bytes band allows). The
// spread there is far above ImbalanceThreshold by design where
// capacities differ (shards of one size on nodes of 1:1:2:4 TiB), so
// what is drawn is the furthest node's distance from its count target,
// |countᵢ / targetᵢ − 1|, against the band.
func (s *sim) countMetric(sub string, target func(sample, int) float64) metric {
	m := metric{
		axis:    "shards per node",
		value:   func(smp sample, i int) float64 { return float64(smp.nodes[i].Shards) },
		integer: true,
		target:  target,
		sub:     sub,
	}
	if s.countOnly {
		m.what = "shards per node and count spread"
		m.spreadName = "count spread"
		m.spread = func(smp sample) float64 { return spread(shardCounts(smp), smp.share) }
		m.threshold, m.stopBand = s.policy.ImbalanceThreshold, s.policy.StopBand
		return m
	}
	tol := s.policy.CountTolerance
	m.what = "shards per node and count band"
	m.spreadName = "count off target"
	m.spread = func(smp sample) float64 { return countDeviation(shardCounts(smp), smp.share) }
	m.threshold, m.noStop = tol, true
	m.thresholdName = fmt.Sprintf("count band ±%s", strconv.FormatFloat(tol, 'f', -1, 64))
	return m
}

// countDeviation is max over the nodes with a share of |countᵢ / targetᵢ −
// 1|, targetᵢ = total × shareᵢ: how far the node furthest from its count
// target is, as a fraction of it; 0 with no shards.
func countDeviation(counts, share []float64) float64 {
	total := 0.0
	for i, c := range counts {
		if share[i] > 0 {
			total += c
		}
	}
	out := 0.0
	for i, c := range counts {
		if share[i] > 0 && total > 0 {
			out = math.Max(out, math.Abs(c/(total*share[i])-1))
		}
	}
	return out
}

// chart renders one metric of the run's samples: the amount per node over
// ticks (one polyline per node, class "node"; its target dashed, class
// "target") above the spread (class "spread") with the policy's trigger
// and stop band.
func (s *sim) chart(sc scenario, m metric) []byte {
	var b strings.Builder
	chartHeader(&b, fmt.Sprintf("%s: %s, by tick", sc.name, m.what), sc.about)
	text(&b, plotL, 70, "start", `fill="#555555"`, m.sub)

	last := s.samples[len(s.samples)-1].tick
	x := linear(0, float64(max(last, 1)), plotL, plotR)
	xStep := niceStep(float64(max(last, 1)), 10)

	// The amount per node.
	ids, index := s.nodeIDs()
	targets := s.targetLines(m, ids, index)
	most := 0.0
	for _, smp := range s.samples {
		for i := range smp.nodes {
			most = math.Max(most, m.value(smp, i))
		}
	}
	for _, t := range targets {
		most = math.Max(most, t.value)
	}
	step := niceStep(most, 7)
	if m.integer {
		step = math.Max(1, step)
	}
	top := step * math.Ceil(math.Max(most, step)/step)
	y := linear(0, top, countsB, countsT)
	panel(&b, x, y, xStep, step, float64(last), top, decimals(step), m.axis)
	for k, id := range ids {
		var pts []string
		for _, smp := range s.samples {
			if i, ok := index(smp, id); ok {
				pts = append(pts, point(x(float64(smp.tick)), y(m.value(smp, i))))
			}
		}
		fmt.Fprintf(&b, `<polyline class="node" data-node="%d" fill="none" stroke="%s" stroke-width="%s"%s stroke-linejoin="round" points="%s"/>`+"\n",
			id, palette[k%len(palette)], width(id == sc.focus), dash(k), strings.Join(pts, " "))
	}
	for _, t := range targets {
		fmt.Fprintf(&b, `<line class="target" x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s" stroke-width="1" stroke-dasharray="3 3"/>`+"\n",
			plotL, num(y(t.value)), plotR, num(y(t.value)), t.color)
	}
	legendTitle(&b, countsT+4, "nodes")
	row := 0
	for k, id := range ids {
		label := fmt.Sprintf("node %d", id)
		if c := s.capacity[id]; c > 0 {
			label += ", " + capacityLabel(c)
		}
		if id == sc.focus {
			label += ", " + sc.focusNote
		}
		legendRow(&b, countsT+24+18*row, palette[k%len(palette)], width(id == sc.focus), dash(k), label)
		row++
	}
	if len(targets) > 0 {
		label := "target (mean)"
		if len(targets) > 1 {
			label = "capacity targets"
		}
		legendRow(&b, countsT+24+18*row, targets[0].color, "1", ` stroke-dasharray="3 3"`, label)
	}

	// The spread, with the trigger and the stop band.
	maxSpread := m.threshold
	for _, smp := range s.samples {
		maxSpread = math.Max(maxSpread, m.spread(smp))
	}
	sStep := niceStep(maxSpread, 4)
	sTop := sStep * math.Ceil(maxSpread/sStep)
	ys := linear(0, sTop, imbB, imbT)
	panel(&b, x, ys, xStep, sStep, float64(last), sTop, decimals(sStep), m.spreadName)
	hline := func(v float64, pattern string) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e15759" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
			plotL, num(ys(v)), plotR, num(ys(v)), pattern)
	}
	hline(m.threshold, "7 4")
	if !m.noStop {
		hline(m.stopBand, "2 3")
	}
	var pts []string
	for _, smp := range s.samples {
		pts = append(pts, point(x(float64(smp.tick)), ys(m.spread(smp))))
	}
	fmt.Fprintf(&b, `<polyline class="spread" fill="none" stroke="#222222" stroke-width="1.8" stroke-linejoin="round" points="%s"/>`+"\n",
		strings.Join(pts, " "))
	legendRow(&b, imbT+8, "#222222", "1.8", "", m.spreadName)
	thresholdName := m.thresholdName
	if thresholdName == "" {
		thresholdName = "threshold " + strconv.FormatFloat(m.threshold, 'f', -1, 64)
	}
	legendRow(&b, imbT+26, "#e15759", "1.2", ` stroke-dasharray="7 4"`, thresholdName)
	if !m.noStop {
		legendRow(&b, imbT+44, "#e15759", "1.2", ` stroke-dasharray="2 3"`,
			"stop band "+strconv.FormatFloat(m.stopBand, 'f', -1, 64))
	}

	text(&b, (plotL+plotR)/2, imbB+40, "middle", `font-size="13"`, s.xTitle())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// xTitle is the x axis title: the tick, and what a tick is in simulated
// time when moves take time.
func (s *sim) xTitle() string {
	if s.policy.InstantMoves {
		return "tick"
	}
	copies := fmt.Sprintf("moves copy at %s MiB/s", strconv.FormatFloat(s.bandwidth/mib, 'f', -1, 64))
	if s.countOnly {
		copies = fmt.Sprintf("moves take %v", s.delay)
	}
	return fmt.Sprintf("tick (%v of simulated time; %s)", s.interval, copies)
}

// flightPanel is one panel of the in-flight chart: lines over ticks, and
// the policy limits they are held to (red, dashed).
type flightPanel struct {
	axis    string
	integer bool
	lines   []flightLine
	limits  []flightLimit
}

// flightLine is one line: a value per sample. A step line holds each
// sample's value until the next tick (what is in flight over the tick).
type flightLine struct {
	class, label       string
	color, strokeWidth string
	dashAttr           string
	step               bool
	values             []float64
}

type flightLimit struct {
	value       float64
	label       string
	color, dash string
}

// The in-flight chart's three panels, top and bottom.
var flightPanels = [3][2]float64{{84, 209}, {245, 370}, {406, 532}}

// flightChart renders the moves and bytes in flight into the focus node,
// and the most into or out of any node, each tick against the windows
// (Policy.MaxInflightPerNode and MaxInflightBytesPerNode), above the
// focus node's bytes growing towards its target.
func (s *sim) flightChart(sc scenario) []byte {
	r := s.res
	ids, index := s.nodeIDs()
	color := "#222222"
	if k := slices.Index(ids, sc.focus); k >= 0 {
		color = palette[k%len(palette)]
	}
	per := func(f func(smp sample, i int) float64) []float64 {
		out := make([]float64, len(s.samples))
		for k, smp := range s.samples {
			if i, ok := index(smp, sc.focus); ok {
				out[k] = f(smp, i)
			}
		}
		return out
	}
	most := func(f func(smp sample, i int) float64) []float64 {
		out := make([]float64, len(s.samples))
		for k, smp := range s.samples {
			for i := range smp.nodes {
				out[k] = math.Max(out[k], f(smp, i))
			}
		}
		return out
	}
	movesAny := func(smp sample, i int) float64 { return float64(max(smp.movesIn[i], smp.movesOut[i])) }
	bytesAny := func(smp sample, i int) float64 { return float64(max(smp.bytesIn[i], smp.bytesOut[i])) / (1 << 30) }
	into := fmt.Sprintf("into node %d (%s)", sc.focus, sc.focusNote)
	const anyLabel = "any node, in or out"
	last := s.samples[len(s.samples)-1]
	total, up := 0.0, 0
	for i, b := range last.bytes {
		if last.share[i] > 0 {
			total += float64(b)
			up++
		}
	}
	target := 0.0
	if i, ok := index(last, sc.focus); ok {
		target = total * last.share[i] / (1 << 30)
	}
	window := s.policy.MaxInflightBytesPerNode
	panels := []flightPanel{
		{
			axis:    "moves in flight",
			integer: true,
			lines: []flightLine{
				{class: "inflight-moves", label: into, color: color, strokeWidth: "3.2", step: true,
					values: per(func(smp sample, i int) float64 { return float64(smp.movesIn[i]) })},
				{class: "inflight-moves-any", label: anyLabel, color: "#555555", strokeWidth: "1.2",
					dashAttr: ` stroke-dasharray="4 3"`, step: true, values: most(movesAny)},
			},
			limits: []flightLimit{{value: float64(s.policy.MaxInflightPerNode), color: "#e15759", dash: "7 4",
				label: fmt.Sprintf("window: %d moves\nMaxInflightPerNode", s.policy.MaxInflightPerNode)}},
		},
		{
			axis: "GiB in flight",
			lines: []flightLine{
				{class: "inflight-bytes", label: into, color: color, strokeWidth: "3.2", step: true,
					values: per(func(smp sample, i int) float64 { return float64(smp.bytesIn[i]) / (1 << 30) })},
				{class: "inflight-bytes-any", label: anyLabel, color: "#555555", strokeWidth: "1.2",
					dashAttr: ` stroke-dasharray="4 3"`, step: true, values: most(bytesAny)},
			},
		},
		{
			axis: fmt.Sprintf("GiB on node %d", sc.focus),
			lines: []flightLine{
				{class: "node-bytes", label: fmt.Sprintf("node %d owns", sc.focus), color: color, strokeWidth: "2.4",
					values: per(func(smp sample, i int) float64 { return float64(smp.bytes[i]) / (1 << 30) })},
			},
			limits: []flightLimit{{value: target, color: "#333333", dash: "3 3", label: "target (mean)"}},
		},
	}
	if window > 0 {
		panels[1].limits = []flightLimit{{value: float64(window) / (1 << 30), color: "#e15759", dash: "7 4",
			label: "window: " + capacityLabel(window) + "\nMaxInflightBytesPerNode"}}
	}

	var b strings.Builder
	chartHeader(&b, fmt.Sprintf("%s: moves and bytes in flight into node %d, by tick", sc.name, sc.focus), sc.about)
	text(&b, plotL, 70, "start", `fill="#555555"`, fmt.Sprintf(
		"ticks %d · transfers %d, all completed · most in flight into node %d: %d moves, %s · %d plans held back by a window",
		r.Ticks, r.Transfers, sc.focus, r.PeakMovesIn, gib(float64(r.PeakBytesIn)), r.WindowPlans))

	lastTick := last.tick
	x := linear(0, float64(max(lastTick, 1)), plotL, plotR)
	xStep := niceStep(float64(max(lastTick, 1)), 10)
	for k, p := range panels {
		top, bottom := flightPanels[k][0], flightPanels[k][1]
		hi := 0.0
		for _, l := range p.lines {
			for _, v := range l.values {
				hi = math.Max(hi, v)
			}
		}
		for _, l := range p.limits {
			hi = math.Max(hi, l.value)
		}
		step := niceStep(hi, 4)
		if p.integer {
			step = math.Max(1, math.Round(step))
		}
		yTop := step * math.Ceil(math.Max(hi*1.05, step)/step)
		y := linear(0, yTop, bottom, top)
		panel(&b, x, y, xStep, step, float64(lastTick), yTop, decimals(step), p.axis)
		for _, l := range p.limits {
			fmt.Fprintf(&b, `<line class="limit" x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
				plotL, num(y(l.value)), plotR, num(y(l.value)), l.color, l.dash)
		}
		for _, l := range p.lines {
			var pts []string
			for k, smp := range s.samples {
				pts = append(pts, point(x(float64(smp.tick)), y(l.values[k])))
				if l.step && k+1 < len(s.samples) {
					pts = append(pts, point(x(float64(s.samples[k+1].tick)), y(l.values[k])))
				}
			}
			fmt.Fprintf(&b, `<polyline class="%s" fill="none" stroke="%s" stroke-width="%s"%s stroke-linejoin="round" points="%s"/>`+"\n",
				l.class, l.color, l.strokeWidth, l.dashAttr, strings.Join(pts, " "))
		}
		row := int(top) + 8
		for _, l := range p.lines {
			legendRow(&b, row, l.color, l.strokeWidth, l.dashAttr, l.label)
			row += 18
		}
		for _, l := range p.limits {
			first, more, _ := strings.Cut(l.label, "\n")
			legendRow(&b, row, l.color, "1.2", fmt.Sprintf(` stroke-dasharray="%s"`, l.dash), first)
			row += 18
			if more != "" {
				text(&b, legendX, row, "start", `font-size="11" fill="#555555"`, more)
				row += 18
			}
		}
	}
	text(&b, (plotL+plotR)/2, imbB+40, "middle", `font-size="13"`, s.xTitle())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

type targetLine struct {
	value float64
	color string
}

// targetLines returns the dashed target lines of the last sample: one grey
// line when every up node has the same target, else one per up node in
// its colour. None without a target.
func (s *sim) targetLines(m metric, ids []placement.NodeID, index func(sample, placement.NodeID) (int, bool)) []targetLine {
	if m.target == nil {
		return nil
	}
	last := s.samples[len(s.samples)-1]
	var out []targetLine
	same := true
	for k, id := range ids {
		i, ok := index(last, id)
		if !ok || last.share[i] == 0 {
			continue
		}
		t := targetLine{value: m.target(last, i), color: palette[k%len(palette)]}
		if len(out) > 0 && math.Abs(t.value-out[0].value) > 1e-9*math.Max(1, t.value) {
			same = false
		}
		out = append(out, t)
	}
	if same && len(out) > 0 {
		return []targetLine{{value: out[0].value, color: "#333333"}}
	}
	return out
}

// capacityLabel formats a node capacity: whole TiB or GiB where it can.
func capacityLabel(c uint64) string {
	switch {
	case c%(1<<40) == 0:
		return fmt.Sprintf("%d TiB", c>>40)
	case c%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", c>>30)
	}
	return fmt.Sprintf("%.1f GiB", float64(c)/(1<<30))
}

// nodeIDs returns every node that appears in a sample, in ID order, and a
// lookup of a node's index in a sample.
func (s *sim) nodeIDs() ([]placement.NodeID, func(sample, placement.NodeID) (int, bool)) {
	var ids []placement.NodeID
	for _, smp := range s.samples {
		for _, n := range smp.nodes {
			if !slices.Contains(ids, n.ID) {
				ids = append(ids, n.ID)
			}
		}
	}
	slices.Sort(ids)
	index := func(smp sample, id placement.NodeID) (int, bool) {
		for i, n := range smp.nodes {
			if n.ID == id {
				return i, true
			}
		}
		return 0, false
	}
	return ids, index
}

// panel draws a panel's grid, frame, tick labels and axis title. The x tick
// labels go under every panel; yDecimals is the y labels' precision.
func panel(b *strings.Builder, x, y func(float64) float64, xStep, yStep, xMax, yMax float64, yDecimals int, label string) {
	panelWith(b, x, y, xStep, yStep, xMax, yMax, yDecimals, label, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
}

// panelWith is panel with the x tick labels that xLabel makes.
func panelWith(b *strings.Builder, x, y func(float64) float64, xStep, yStep, xMax, yMax float64, yDecimals int, label string,
	xLabel func(float64) string) {
	top, bottom := y(yMax), y(0)
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		fmt.Fprintf(b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e6e6e6"/>`+"\n", plotL, num(y(v)), plotR, num(y(v)))
		text(b, plotL-8, int(math.Round(y(v)))+4, "end", `fill="#444444"`, strconv.FormatFloat(v, 'f', yDecimals, 64))
	}
	for v := 0.0; v <= xMax+xStep/2; v += xStep {
		if v > xMax {
			break
		}
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6"/>`+"\n", num(x(v)), num(top), num(x(v)), num(bottom))
		text(b, int(math.Round(x(v))), int(bottom)+16, "middle", `fill="#444444"`, xLabel(v))
	}
	fmt.Fprintf(b, `<rect x="%d" y="%s" width="%d" height="%s" fill="none" stroke="#888888"/>`+"\n",
		plotL, num(top), plotR-plotL, num(bottom-top))
	mid := int(math.Round((top + bottom) / 2))
	fmt.Fprintf(b, `<text x="22" y="%d" text-anchor="middle" font-size="13" transform="rotate(-90 22 %d)">%s</text>`+"\n",
		mid, mid, esc(label))
}

func legendTitle(b *strings.Builder, y int, label string) {
	text(b, legendX, y+4, "start", `font-weight="bold"`, label)
}

func legendRow(b *strings.Builder, y int, color, strokeWidth, dashAttr, label string) {
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%s"%s/>`+"\n",
		legendX, y, legendX+26, y, color, strokeWidth, dashAttr)
	text(b, legendX+34, y+4, "start", "", label)
}

func text(b *strings.Builder, x, y int, anchor, attrs, s string) {
	if attrs != "" {
		attrs = " " + attrs
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s"%s>%s</text>`+"\n", x, y, anchor, attrs, esc(s))
}

// linear maps [d0, d1] onto [r0, r1].
func linear(d0, d1, r0, r1 float64) func(float64) float64 {
	return func(v float64) float64 { return r0 + (v-d0)/(d1-d0)*(r1-r0) }
}

// niceStep returns a step of 1, 2 or 5 × 10ᵏ that cuts [0, span] into at
// most about target intervals.
func niceStep(span float64, target int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(target)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// decimals returns the digits after the point that a step needs.
func decimals(step float64) int {
	d := 0
	for step < 1-1e-9 && d < 6 {
		step *= 10
		d++
	}
	return d
}

func width(focus bool) string {
	if focus {
		return "3.2"
	}
	return "1.6"
}

// dash returns the dash attribute for the k-th series: solid for the first
// len(palette), dashed after that.
func dash(k int) string {
	if k < len(palette) {
		return ""
	}
	return ` stroke-dasharray="5 3"`
}

func point(x, y float64) string { return num(x) + "," + num(y) }

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// chartHeader opens an SVG chart of the common size on b: its element, a
// title (also the bold first line), a white ground, and the scenario's
// description as the second line.
func chartHeader(b *strings.Builder, title, about string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, chartH)
	text(b, plotL, 30, "start", `font-size="18" font-weight="bold"`, title)
	text(b, plotL, 52, "start", `fill="#555555"`, about)
}
