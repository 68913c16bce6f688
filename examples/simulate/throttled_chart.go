package main

// The throttled scenario's charts, over the UTC time of day: the bytes in
// flight into and out of each node against the rates' byte window, with
// the 64 GiB shard's copy; and the bytes that count in the churn budget's
// sliding hour against the budget, with what held each plan back. Quiet
// hours are shaded in every panel.

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func throttledCharts(s *sim, sc scenario) []chartFile {
	t := s.recountThrottled()
	return []chartFile{
		{suffix: "", svg: s.throttledFlight(sc, t)},
		{suffix: "-churn", svg: s.throttledChurn(sc, t)},
	}
}

// timeAxis is the x axis of a chart over the time of day: minutes since
// clockStart (midnight), its step (a round number of minutes, at most
// about ten labels) and its labels (hh:mm).
type timeAxis struct {
	x          func(float64) float64
	step, last float64
}

func (s *sim) timeAxis() timeAxis {
	last := s.minutes(s.samples[len(s.samples)-1].tick)
	last = math.Max(last, 1)
	step := 720.0
	for _, m := range []float64{5, 10, 15, 30, 60, 120, 180, 360} {
		if last/m <= 10 {
			step = m
			break
		}
	}
	return timeAxis{x: linear(0, last, plotL, plotR), step: step, last: last}
}

// minutes is a tick's time in minutes since clockStart.
func (s *sim) minutes(tick int) float64 { return (time.Duration(tick) * s.interval).Minutes() }

func (a timeAxis) label(m float64) string {
	return clockStart.Add(time.Duration(m * float64(time.Minute))).Format("15:04")
}

// panel draws a panel over the time axis from 0 to hi, a step of about
// four intervals, with the quiet hours shaded under its grid, and returns
// its y scale and top.
func (a timeAxis) panel(b *strings.Builder, s *sim, top, bottom, hi float64, label string) (func(float64) float64, float64) {
	step := niceStep(hi, 4)
	yTop := step * math.Ceil(math.Max(hi, step)/step)
	y := linear(0, yTop, bottom, top)
	a.shadeQuiet(b, s, top, bottom)
	panelWith(b, a.x, y, a.step, step, a.last, yTop, decimals(step), label, a.label)
	return y, yTop
}

// shadeQuiet shades the quiet hours between top and bottom.
func (a timeAxis) shadeQuiet(b *strings.Builder, s *sim, top, bottom float64) {
	for _, q := range quietRanges(s.policy, 0, int(math.Ceil(a.last))) {
		x0, x1 := a.x(float64(q[0])), a.x(math.Min(float64(q[1]), a.last))
		fmt.Fprintf(b, `<rect class="quiet" x="%s" y="%s" width="%s" height="%s" fill="#e9e9f2"/>`+"\n",
			num(x0), num(top), num(x1-x0), num(bottom-top))
	}
}

// steps draws values over the samples as a step line (each held until the
// next sample), clipped at clip: a stretch above it is drawn along the top
// and labelled with its largest value. The in-flight panels clip above
// what two or more moves ever held, so such a stretch is one move.
func (a timeAxis) steps(b *strings.Builder, s *sim, y func(float64) float64, clip float64, values []float64, attrs string) {
	var pts []string
	over, peak := -1, 0.0
	flush := func() {
		if over >= 0 {
			text(b, int(math.Round(a.x(s.minutes(s.samples[over].tick))))+4, int(math.Round(y(clip)))+13, "start",
				`font-size="11" fill="#333333"`, fmt.Sprintf("↑ %s, one move alone, off the scale", gib(peak*(1<<30))))
		}
		over, peak = -1, 0
	}
	for k, smp := range s.samples {
		v := values[k]
		if v > clip {
			if over < 0 {
				over = k
			}
			peak = math.Max(peak, v)
		} else {
			flush()
		}
		yv := y(math.Min(v, clip))
		pts = append(pts, point(a.x(s.minutes(smp.tick)), yv))
		if k+1 < len(s.samples) {
			pts = append(pts, point(a.x(s.minutes(s.samples[k+1].tick)), yv))
		}
	}
	flush()
	fmt.Fprintf(b, `<polyline fill="none"%s stroke-linejoin="round" points="%s"/>`+"\n", attrs, strings.Join(pts, " "))
}

// vline draws a vertical marker at minute m between top and bottom.
func (a timeAxis) vline(b *strings.Builder, class string, m, top, bottom float64, color, dash string) {
	fmt.Fprintf(b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
		class, num(a.x(m)), num(top), num(a.x(m)), num(bottom), color, dash)
}

// hlimit draws a horizontal limit across the plot at y.
func hlimit(b *strings.Builder, class string, y float64, color, dash string) {
	fmt.Fprintf(b, `<line class="%s" x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
		class, plotL, num(y), plotR, num(y), color, dash)
}

// legendSwatch is a legend row with a filled box, for a shaded area.
func legendSwatch(b *strings.Builder, y int, fill, label string) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="26" height="10" fill="%s" stroke="#bbbbcc"/>`+"\n", legendX, y-5, fill)
	text(b, legendX+34, y+4, "start", "", label)
}

// throttledXTitle is the x axis title of both charts.
func (s *sim) throttledXTitle() string {
	tick := s.interval.String()
	if s.interval%time.Minute == 0 {
		tick = fmt.Sprintf("%d-minute", s.interval/time.Minute)
	}
	return fmt.Sprintf("UTC time of day (%s ticks; moves copy at %s MiB/s, into and out of node %d at %s MiB/s)",
		tick, mibs(s.bandwidth), thSlow, mibs(s.nodeRate[thSlow]))
}

// throttledFlight renders the bytes in flight into and out of each node,
// each tick once its plan is applied, against the rates' byte window, and
// below them the 64 GiB shard's copy as its progress reports had it,
// against MoveTimeout and the deadline it would have without them.
func (s *sim) throttledFlight(sc scenario, t throttled) []byte {
	pol := s.policy
	a := s.timeAxis()
	ids, index := s.nodeIDs()
	var b strings.Builder
	chartHeader(&b, fmt.Sprintf("%s: bytes in flight per node against the rates' window, by time of day", sc.name), sc.about)
	text(&b, plotL, 70, "start", `fill="#555555"`, fmt.Sprintf(
		"windows: rate × MoveTimeout %v = %s in, %s out · most in two or more moves %s · %d plans held by a rate",
		pol.MoveTimeout, gib(float64(t.windowIn)), gib(float64(t.windowOut)), gib(float64(t.peakMulti)), t.heldRate))

	// The y scale of both in-flight panels: the window and what was in
	// flight in more than one move, with room; a lone move above it is
	// drawn along the top.
	hi := 1.25 * float64(max(t.windowIn, t.windowOut, t.peakMulti)) / (1 << 30)
	dirs := []struct {
		axis, class string
		window      uint64
		bytes       func(smp sample, i int) uint64
	}{
		{"GiB in flight in", "inflight-in", t.windowIn,
			func(smp sample, i int) uint64 { return smp.bytesIn[i] }},
		{"GiB in flight out", "inflight-out", t.windowOut,
			func(smp sample, i int) uint64 { return smp.bytesOut[i] }},
	}
	for p, d := range dirs {
		top, bottom := flightPanels[p][0], flightPanels[p][1]
		y, yTop := a.panel(&b, s, top, bottom, hi, d.axis)
		hlimit(&b, "limit", y(float64(d.window)/(1<<30)), "#e15759", "7 4")
		for k, id := range ids {
			values := make([]float64, len(s.samples))
			for j, smp := range s.samples {
				if i, ok := index(smp, id); ok {
					values[j] = float64(d.bytes(smp, i)) / (1 << 30)
				}
			}
			a.steps(&b, s, y, yTop, values, fmt.Sprintf(` class="%s" data-node="%d" stroke="%s" stroke-width="%s"%s`,
				d.class, id, palette[k%len(palette)], width(id == sc.focus), dash(k)))
		}
	}
	// The legend: the nodes beside the first panel, the limits beside the
	// second.
	for k, id := range ids {
		label := fmt.Sprintf("node %d", id)
		if r, ok := s.nodeRate[id]; ok {
			label += fmt.Sprintf(", %s, %s MiB/s", sc.focusNote, mibs(r))
		}
		legendRow(&b, int(flightPanels[0][0])+8+18*k, palette[k%len(palette)], width(id == sc.focus), dash(k), label)
	}
	row := int(flightPanels[1][0]) + 8
	windows := gib(float64(t.windowIn))
	if t.windowOut != t.windowIn {
		windows += " in, " + gib(float64(t.windowOut)) + " out"
	}
	legendRow(&b, row, "#e15759", "1.2", ` stroke-dasharray="7 4"`, "rate window "+windows)
	for k, line := range []string{"ReceiveBytesPerSecond (in),", "SendBytesPerSecond (out)", "× MoveTimeout"} {
		text(&b, legendX, row+18+14*k, "start", `font-size="11" fill="#555555"`, line)
	}
	legendSwatch(&b, row+74, "#e9e9f2", "quiet hours")

	// The 64 GiB shard's copy.
	top, bottom := flightPanels[2][0], flightPanels[2][1]
	y, _ := a.panel(&b, s, top, bottom, thBig/(1<<30), "GiB copied")
	row = int(top) + 8
	for _, m := range t.bigMoves {
		rate := s.copyRate(m.from, m.to)
		var pts []string
		for _, smp := range s.samples {
			at := s.timeOf(smp.tick)
			if at.Before(m.began) || (!m.ended.IsZero() && at.After(m.ended.Add(s.interval))) {
				continue
			}
			copied := math.Min(float64(m.bytes), rate*at.Sub(m.began).Seconds())
			pts = append(pts, point(a.x(s.minutes(smp.tick)), y(copied/(1<<30))))
		}
		fmt.Fprintf(&b, `<polyline class="big-copied" fill="none" stroke="%s" stroke-width="2.4" stroke-linejoin="round" points="%s"/>`+"\n",
			palette[(thSlow-1)%len(palette)], strings.Join(pts, " "))
		began := m.began.Sub(clockStart).Minutes()
		deadline := noProgressDeadline(pol, m.bytes)
		a.vline(&b, "move-timeout", began+pol.MoveTimeout.Minutes(), top, bottom, "#555555", "2 3")
		a.vline(&b, "deadline", began+deadline.Minutes(), top, bottom, "#e15759", "7 4")
		legendRow(&b, row, palette[(thSlow-1)%len(palette)], "2.4", "", fmt.Sprintf("64 GiB, node %d → %d", m.from, m.to))
		legendRow(&b, row+18, "#555555", "1.2", ` stroke-dasharray="2 3"`, fmt.Sprintf("MoveTimeout (%v)", pol.MoveTimeout))
		legendRow(&b, row+36, "#e15759", "1.2", ` stroke-dasharray="7 4"`, "deadline without")
		text(&b, legendX+34, row+54, "start", "", "progress reports")
		break // the scenario moves it once; the notes list any other
	}
	text(&b, (plotL+plotR)/2, imbB+40, "middle", `font-size="13"`, s.throttledXTitle())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// The churn chart's two panels, top and bottom: the hour's bytes, and
// what held the plans back.
var churnPanels = [2][2]float64{{84, 330}, {380, 532}}

// throttledChurn renders the bytes that count in the churn budget's hour
// at each tick (recounted from the transfers; Coordinator.Churn's figure
// over it; the 64 GiB shard's part) against the budget, above a strip of
// when transfers began and what held each plan back.
func (s *sim) throttledChurn(sc scenario, t throttled) []byte {
	pol := s.policy
	a := s.timeAxis()
	allowed := float64(t.allowed) / (1 << 30)
	var b strings.Builder
	chartHeader(&b, fmt.Sprintf("%s: bytes rebalancing moved in the last hour, against the budget", sc.name), sc.about)
	text(&b, plotL, 70, "start", `fill="#555555"`, fmt.Sprintf(
		"ChurnBytesPerHour %g × %s = %s · most in any hour %s · %d plans held by the budget",
		pol.ChurnBytesPerHour, gib(sum(float64s(s.samples[0].bytes))), gib(float64(t.allowed)), gib(float64(t.peakHour)),
		t.heldBudget))

	top, bottom := churnPanels[0][0], churnPanels[0][1]
	y, yTop := a.panel(&b, s, top, bottom, 1.1*math.Max(allowed, float64(t.peakHour)/(1<<30)), "GiB in the last hour")
	hlimit(&b, "limit", y(allowed), "#e15759", "7 4")
	gibs := func(f func(k int, smp sample) uint64) []float64 {
		out := make([]float64, len(s.samples))
		for k, smp := range s.samples {
			out[k] = float64(f(k, smp)) / (1 << 30)
		}
		return out
	}
	a.steps(&b, s, y, yTop, gibs(func(k int, _ sample) uint64 { return t.big[k] }),
		` class="churn-big" stroke="#bab0ac" stroke-width="1.6"`)
	a.steps(&b, s, y, yTop, gibs(func(k int, _ sample) uint64 { return t.hour[k] }),
		` class="churn" stroke="#4e79a7" stroke-width="2.4"`)
	a.steps(&b, s, y, yTop, gibs(func(_ int, smp sample) uint64 { return smp.churn.Bytes }),
		` class="churn-reported" stroke="#222222" stroke-width="1" stroke-dasharray="3 3"`)
	row := int(top) + 8
	legendRow(&b, row, "#4e79a7", "2.4", "", "moved in the last hour")
	text(&b, legendX+34, row+16, "start", `font-size="11" fill="#555555"`, "(in flight, or completed")
	text(&b, legendX+34, row+30, "start", `font-size="11" fill="#555555"`, "within it; recounted)")
	legendRow(&b, row+50, "#222222", "1", ` stroke-dasharray="3 3"`, "Coordinator.Churn")
	legendRow(&b, row+68, "#bab0ac", "1.6", "", "of it the 64 GiB shard")
	legendRow(&b, row+86, "#e15759", "1.2", ` stroke-dasharray="7 4"`, "budget "+gib(float64(t.allowed)))
	legendSwatch(&b, row+104, "#e9e9f2", "quiet hours")

	// The strip: a row each for the transfers begun and for each limit
	// that held a plan back.
	top, bottom = churnPanels[1][0], churnPanels[1][1]
	a.shadeQuiet(&b, s, top, bottom)
	for v := 0.0; v <= a.last+a.step/2 && v <= a.last; v += a.step {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e6e6e6"/>`+"\n", num(a.x(v)), num(top), num(a.x(v)), num(bottom))
		text(&b, int(math.Round(a.x(v))), int(bottom)+16, "middle", `fill="#444444"`, a.label(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%s" width="%d" height="%s" fill="none" stroke="#888888"/>`+"\n",
		plotL, num(top), plotR-plotL, num(bottom-top))
	mid := int(math.Round((top + bottom) / 2))
	fmt.Fprintf(&b, `<text x="22" y="%d" text-anchor="middle" font-size="13" transform="rotate(-90 22 %d)">%s</text>`+"\n",
		mid, mid, esc("transfers, plans held"))
	rows := []struct {
		class, label, color string
		on                  func(smp sample) bool
	}{
		{"held-budget", "held: churn budget", "#e15759", func(smp sample) bool { return smp.held.budget }},
		{"held-quiet", "held: quiet hours", "#76b7b2", func(smp sample) bool { return smp.held.quiet }},
		{"held-rate", "held: a node's rate", "#f28e2b", func(smp sample) bool { return smp.held.rate }},
	}
	rowH := (bottom - top) / float64(len(rows)+1)
	tickW := a.x(s.minutes(1)) - a.x(0)
	// Transfers begun: a mark per transfer, taller for more bytes.
	begun := top + rowH/2
	for _, tr := range s.transfers {
		m := tr.began.Sub(clockStart).Minutes()
		h := math.Max(3, rowH*0.8*math.Min(1, float64(tr.bytes)/float64(thSmallHi)))
		fmt.Fprintf(&b, `<line class="begun" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#4e79a7" stroke-width="1.2"/>`+"\n",
			num(a.x(m)), num(begun+rowH*0.4), num(a.x(m)), num(begun+rowH*0.4-h))
	}
	text(&b, legendX, int(begun)-2, "start", "", "transfers begun")
	text(&b, legendX, int(begun)+12, "start", `font-size="11" fill="#555555"`, "(taller: more bytes)")
	for r, row := range rows {
		yc := top + rowH*(float64(r)+1.5)
		for _, smp := range s.samples {
			if smp.tick > 0 && row.on(smp) {
				fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n",
					row.class, num(a.x(s.minutes(smp.tick))), num(yc-rowH*0.3), num(math.Max(tickW, 0.5)), num(rowH*0.6), row.color)
			}
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="26" height="10" fill="%s"/>`+"\n", legendX, int(yc)-5, row.color)
		text(&b, legendX+34, int(yc)+4, "start", "", row.label)
	}
	text(&b, (plotL+plotR)/2, imbB+40, "middle", `font-size="13"`, s.throttledXTitle())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
