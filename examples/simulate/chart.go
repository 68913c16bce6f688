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
	countsT, countsB = 84, 364  // the shard-count panel, top and bottom
	imbT, imbB       = 412, 532 // the imbalance panel
	legendX          = 724
)

// palette is Tableau 10: distinct hues that stay apart for colour-blind
// readers. Nodes beyond ten reuse it, dashed.
var palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
}

// chart renders the run's samples: shard counts per node over ticks (one
// polyline per node, class "node") above the imbalance (class
// "imbalance") with the policy's trigger and stop band.
func (s *sim) chart(sc scenario) []byte {
	var b strings.Builder
	r := s.res
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	title := fmt.Sprintf("%s: shards per node and imbalance, by tick", sc.name)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, chartH)
	text(&b, plotL, 30, "start", `font-size="18" font-weight="bold"`, title)
	text(&b, plotL, 52, "start", `fill="#555555"`, sc.about)
	sub := fmt.Sprintf("MaxActionsPerTick %d · ticks %d · transfers %d", s.limit, r.Ticks, r.Transfers)
	if r.Rebalances == 1 && r.Splits == 0 && r.Merges == 0 {
		// One rebalance on a fixed shard count: its first plan's
		// minimum is the whole run's.
		sub += fmt.Sprintf(" (minimum %d)", r.Minimum)
	}
	sub += fmt.Sprintf(" · splits %d · merges %d · shards %d → %d", r.Splits, r.Merges, r.ShardsStart, r.ShardsEnd)
	text(&b, plotL, 70, "start", `fill="#555555"`, sub)

	last := s.samples[len(s.samples)-1].tick
	x := linear(0, float64(max(last, 1)), plotL, plotR)
	xStep := niceStep(float64(max(last, 1)), 10)

	// Shard counts per node.
	ids, maxCount := s.nodeIDs()
	countStep := math.Max(1, niceStep(float64(maxCount), 7))
	countTop := countStep * math.Ceil(float64(max(maxCount, 1))/countStep)
	yc := linear(0, countTop, countsB, countsT)
	panel(&b, x, yc, xStep, countStep, float64(last), countTop, 0, "shards per node")
	for k, id := range ids {
		var pts []string
		for _, smp := range s.samples {
			for _, n := range smp.nodes {
				if n.ID == id {
					pts = append(pts, point(x(float64(smp.tick)), yc(float64(n.Shards))))
				}
			}
		}
		fmt.Fprintf(&b, `<polyline class="node" data-node="%d" fill="none" stroke="%s" stroke-width="%s"%s stroke-linejoin="round" points="%s"/>`+"\n",
			id, palette[k%len(palette)], width(id == sc.focus), dash(k), strings.Join(pts, " "))
	}
	legendTitle(&b, countsT+4, "nodes")
	for k, id := range ids {
		label := fmt.Sprintf("node %d", id)
		if id == sc.focus {
			label += ", " + sc.focusNote
		}
		legendRow(&b, countsT+24+18*k, palette[k%len(palette)], width(id == sc.focus), dash(k), label)
	}

	// Imbalance, with the trigger and the stop band.
	maxImb := s.policy.ImbalanceThreshold
	for _, smp := range s.samples {
		maxImb = math.Max(maxImb, smp.imbalance)
	}
	imbStep := niceStep(maxImb, 4)
	imbTop := imbStep * math.Ceil(maxImb/imbStep)
	yi := linear(0, imbTop, imbB, imbT)
	panel(&b, x, yi, xStep, imbStep, float64(last), imbTop, decimals(imbStep), "imbalance")
	hline := func(v float64, pattern string) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e15759" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
			plotL, num(yi(v)), plotR, num(yi(v)), pattern)
	}
	hline(s.policy.ImbalanceThreshold, "7 4")
	hline(s.policy.StopBand, "2 3")
	var pts []string
	for _, smp := range s.samples {
		pts = append(pts, point(x(float64(smp.tick)), yi(smp.imbalance)))
	}
	fmt.Fprintf(&b, `<polyline class="imbalance" fill="none" stroke="#222222" stroke-width="1.8" stroke-linejoin="round" points="%s"/>`+"\n",
		strings.Join(pts, " "))
	legendRow(&b, imbT+8, "#222222", "1.8", "", "imbalance")
	legendRow(&b, imbT+26, "#e15759", "1.2", ` stroke-dasharray="7 4"`,
		"threshold "+strconv.FormatFloat(s.policy.ImbalanceThreshold, 'f', -1, 64))
	legendRow(&b, imbT+44, "#e15759", "1.2", ` stroke-dasharray="2 3"`,
		"stop band "+strconv.FormatFloat(s.policy.StopBand, 'f', -1, 64))

	text(&b, (plotL+plotR)/2, imbB+40, "middle", `font-size="13"`, "tick")
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// nodeIDs returns every node that appears in a sample, in ID order, and
// the largest shard count any node had.
func (s *sim) nodeIDs() ([]placement.NodeID, int) {
	var ids []placement.NodeID
	most := 0
	for _, smp := range s.samples {
		for _, n := range smp.nodes {
			if !slices.Contains(ids, n.ID) {
				ids = append(ids, n.ID)
			}
			most = max(most, n.Shards)
		}
	}
	slices.Sort(ids)
	return ids, most
}

// panel draws a panel's grid, frame, tick labels and axis title. The x tick
// labels go under every panel; yDecimals is the y labels' precision.
func panel(b *strings.Builder, x, y func(float64) float64, xStep, yStep, xMax, yMax float64, yDecimals int, label string) {
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
		text(b, int(math.Round(x(v))), int(bottom)+16, "middle", `fill="#444444"`, strconv.FormatFloat(v, 'f', 0, 64))
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
