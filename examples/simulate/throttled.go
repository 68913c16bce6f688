package main

// The throttled scenario: the impact limits at work on a map whose moves
// copy for hours. Node 1 holds a 64 GiB shard among its small ones, node 5
// copies at 6 MiB/s, and the policy sets a copy rate per node, a churn
// budget and quiet hours. The checks recount each limit from the
// transfers the run made, not from what the library reports.

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ukehi/placement"
)

const (
	thBigNode = 1        // holds the 64 GiB shard
	thSlow    = 5        // copies at thSlowRate
	thBig     = 64 << 30 // the shard that copies for hours
	// The small shards are drawn evenly from 1.5–2.5 GiB: narrow enough
	// that the nodes' sums keep the order their counts give them.
	thSmallLo = 3 << 29
	thSmallHi = 5 << 29
	// thSlowRate is node 5's copy rate, into it and out of it: below
	// Policy.MinCopyRate (10 MiB/s), so the 64 GiB shard copies into it
	// for longer than the deadline it would have without progress reports.
	thSlowRate = 6 * mib
	// thRate is Policy.SendBytesPerSecond and ReceiveBytesPerSecond: with
	// MoveTimeout 10 minutes, a window of 5.86 GiB a node each way.
	thRate = 10 * mib
	// thChurn is Policy.ChurnBytesPerHour: a tenth of all bytes an hour.
	thChurn    = 0.1
	thInterval = time.Minute
	// thValueSize is the bytes per key: large values, so that the 64 GiB
	// shard has 65,536 keys, under SplitKeys.
	thValueSize = 1 << 20
	// thSplitBytes is Policy.SplitBytes, raised over the 64 GiB shard:
	// a shard that size is what the scenario is about, not split here.
	thSplitBytes = 128 << 30
)

// thPerNode is the small shards each node starts with: nodes 2 and 3 at
// the top of the count band, 4, 5 and 6 near its bottom, and node 1 also
// holds the 64 GiB shard (its first, in key order).
var thPerNode = []int{112, 135, 135, 90, 82, 90}

// thWindows are the rebalancing windows, UTC: 00:00–01:00 and from
// 03:00, so 01:00–03:00 are quiet hours. The run starts at midnight.
var thWindows = [placement.MaxRebalanceWindows]placement.TimeOfDayRange{
	{Start: 0, End: 60},
	{Start: 3 * 60, End: placement.MinutesPerDay},
}

func throttledScenario() scenario {
	return scenario{
		name: "throttled",
		about: fmt.Sprintf("6 nodes, %d shards of %s–%s GiB and one of 64 GiB on node 1; node %d copies at %s MiB/s; copy rates, churn budget, quiet hours",
			sumInts(thPerNode), gibs(thSmallLo), gibs(thSmallHi), thSlow, mibs(thSlowRate)),
		setup:     setupThrottled,
		check:     checkThrottled,
		focus:     thSlow,
		focusNote: "slow",
		interval:  thInterval,
		tune: func(p *placement.Policy) {
			p.SplitBytes = thSplitBytes
			// No byte window besides the rates': they bound bytes in
			// flight alone.
			p.MaxInflightBytesPerNode = 0
			p.SendBytesPerSecond, p.ReceiveBytesPerSecond = thRate, thRate
			p.ChurnBytesPerHour = thChurn
			p.RebalanceWindows = thWindows
		},
		charts: throttledCharts,
	}
}

// setupThrottled puts the shards in key order over nodes 1–6, each a
// contiguous run, the 64 GiB shard first, and makes node 5 slow.
func setupThrottled(s *sim) error {
	counts := append([]int(nil), thPerNode...)
	counts[thBigNode-1]++
	if err := s.bootstrap(counts, func(i int) work {
		b := uint64(thBig)
		if i > 0 {
			b = thSmallLo + s.rng.Uint64N(thSmallHi-thSmallLo+1)
		}
		return work{keys: b / thValueSize, bytes: b}
	}); err != nil {
		return err
	}
	s.nodeRate[thSlow] = thSlowRate
	return nil
}

// throttled is what checkThrottled recounts from the run's transfers and
// samples, for the summary, the charts and the tests.
type throttled struct {
	// allowed is the churn budget recounted: ChurnBytesPerHour × all
	// bytes, rounded down.
	allowed uint64
	// hour is, per sample, the bytes of the transfers that count in the
	// budget's hour ending at the sample's time, once its plan is
	// applied: in flight then, or completed in the hour before; big is
	// the 64 GiB shard's part of it.
	hour, big []uint64
	// peakHour is the most of hour, at sample peakAt; churnOff counts the
	// samples where Coordinator.Churn's bytes differ from hour.
	peakHour uint64
	peakAt   int
	churnOff int
	// quietBegun counts the transfers begun outside the windows.
	quietBegun int
	// windowIn and windowOut are the rates' byte windows into and out of
	// a node (ReceiveBytesPerSecond and SendBytesPerSecond × MoveTimeout);
	// rateOver counts the samples, nodes and directions with more bytes
	// than the window in flight in more than one move, and peakMulti is
	// the most bytes in flight in more than one move. lone are the
	// transfers larger than a window, which the planner lets through
	// alone.
	windowIn, windowOut uint64
	rateOver            int
	peakMulti           uint64
	lone                []transferRec
	// bigMoves are the 64 GiB shard's transfers.
	bigMoves []transferRec
	// heldQuiet, heldBudget and heldRate count the plans held back by
	// each limit; workQuiet the quiet ones while the byte spread was
	// above StopBand (rebalancing had work to do).
	heldQuiet, heldBudget, heldRate, workQuiet int
}

// recountThrottled recounts the limits from the run.
func (s *sim) recountThrottled() throttled {
	var t throttled
	pol := s.policy
	first := s.samples[0]
	t.allowed = uint64(pol.ChurnBytesPerHour * sum(float64s(first.bytes)))
	for _, tr := range s.transfers {
		if tr.bytes == thBig {
			t.bigMoves = append(t.bigMoves, tr)
		}
		if !rebalanceOpen(pol, tr.began) {
			t.quietBegun++
		}
	}
	t.windowIn = uint64(float64(pol.ReceiveBytesPerSecond) * pol.MoveTimeout.Seconds())
	t.windowOut = uint64(float64(pol.SendBytesPerSecond) * pol.MoveTimeout.Seconds())
	for _, smp := range s.samples {
		at := s.timeOf(smp.tick)
		all, big := s.churnRecount(at)
		t.hour, t.big = append(t.hour, all), append(t.big, big)
		if all > t.peakHour {
			t.peakHour, t.peakAt = all, smp.tick
		}
		if smp.tick > 0 && smp.churn.Bytes != all {
			t.churnOff++
		}
		for i := range smp.nodes {
			for _, d := range []struct {
				moves         int
				bytes, window uint64
			}{{smp.movesIn[i], smp.bytesIn[i], t.windowIn}, {smp.movesOut[i], smp.bytesOut[i], t.windowOut}} {
				if d.moves > 1 {
					t.peakMulti = max(t.peakMulti, d.bytes)
					if d.bytes > d.window {
						t.rateOver++
					}
				}
			}
		}
		if smp.held.quiet {
			t.heldQuiet++
			if smp.byteSpread > pol.StopBand {
				t.workQuiet++
			}
		}
		if smp.held.budget {
			t.heldBudget++
		}
		if smp.held.rate {
			t.heldRate++
		}
	}
	for _, tr := range s.transfers {
		if tr.bytes > min(t.windowIn, t.windowOut) {
			t.lone = append(t.lone, tr)
		}
	}
	return t
}

// churnRecount returns the bytes of the transfers that count in the churn
// budget's hour ending at t, as Policy.ChurnBytesPerHour defines it: those
// in flight at t (begun by then, not ended) and those completed in the
// hour before t; and the 64 GiB shard's part of them.
func (s *sim) churnRecount(t time.Time) (all, big uint64) {
	from := t.Add(-placement.ChurnWindow)
	for _, tr := range s.transfers {
		if tr.began.After(t) {
			continue
		}
		flying := tr.ended.IsZero() || tr.ended.After(t)
		done := !tr.aborted && !tr.ended.IsZero() && !tr.ended.After(t) && tr.ended.After(from)
		if flying || done {
			all += tr.bytes
			if tr.bytes == thBig {
				big += tr.bytes
			}
		}
	}
	return all, big
}

// rebalanceOpen reports whether t's UTC time of day is within p's
// rebalancing windows (always, with none): recomputed here from the
// windows' definition.
func rebalanceOpen(p placement.Policy, t time.Time) bool {
	u := t.UTC()
	m := uint16(u.Hour()*60 + u.Minute())
	none := true
	for _, w := range p.RebalanceWindows {
		if w == (placement.TimeOfDayRange{}) {
			continue
		}
		none = false
		if (w.Start < w.End && m >= w.Start && m < w.End) || (w.Start > w.End && (m >= w.Start || m < w.End)) {
			return true
		}
	}
	return none
}

// timeOf is the simulated time of a tick.
func (s *sim) timeOf(tick int) time.Time { return clockStart.Add(time.Duration(tick) * s.interval) }

// checkThrottled checks each limit against the recount: no transfer begun
// in quiet hours (no node drains or is lost here, so every transfer is
// rebalancing's); the bytes that count in the churn budget within it in
// every hour (and Coordinator.Churn saying the same); the bytes in flight
// into and out of every node within the rate's window unless one move
// alone; the 64 GiB shard moved, in flight longer than MoveTimeout, and
// completed, never aborted; and the run settled (plan empty and not held,
// nothing in flight) with the byte spread within the stop band. And that
// each limit did hold the planner back, or the scenario shows nothing.
func checkThrottled(s *sim) error {
	r := &s.res
	pol := s.policy
	t := s.recountThrottled()
	last := r.FinalSample
	clock := func(tick int) string { return s.timeOf(tick).Format("15:04") }

	s.note("settled at %s (tick %d): byte spread %.3f -> %.3f; %d transfers, %s moved, %d completed, %d aborted",
		clock(r.Ticks), r.Ticks, s.samples[0].byteSpread, last.byteSpread, r.Transfers, gib(float64(r.BytesMoved)), r.Completed, r.Aborted)
	for _, b := range t.bigMoves {
		in := b.ended.Sub(b.began)
		if b.ended.IsZero() {
			in = s.timeOf(r.Ticks).Sub(b.began)
		}
		deadline := noProgressDeadline(pol, b.bytes)
		past := "within"
		if in > deadline {
			past = "past"
		}
		s.note("64 GiB shard: node %d -> node %d at %s MiB/s, %s to %s, %v in flight: %s the deadline it would have without progress reports (MoveTimeout %v + 64 GiB at MinCopyRate %s MiB/s = %v, %s); the host reported progress every tick",
			b.from, b.to, mibs(s.copyRate(b.from, b.to)), b.began.Format("15:04"), endClock(b), in.Round(time.Second),
			past, pol.MoveTimeout, mibs(float64(pol.MinCopyRate)), deadline.Round(time.Second), b.began.Add(deadline).Format("15:04"))
	}
	s.note("churn budget: %g × %s = %s an hour; most in any hour (recounted from the transfers) %s at %s; %d plans held by it (SkipChurnBudget)",
		pol.ChurnBytesPerHour, gib(sum(float64s(s.samples[0].bytes))), gib(float64(t.allowed)), gib(float64(t.peakHour)), clock(t.peakAt), t.heldBudget)
	s.note("quiet hours %s: %d plans held (SkipQuietHours), %d of them with the byte spread above StopBand %.2f",
		quietLabel(pol), t.heldQuiet, t.workQuiet, pol.StopBand)
	var lone []string
	for _, l := range t.lone {
		lone = append(lone, fmt.Sprintf("%s out of node %d and into node %d", gib(float64(l.bytes)), l.from, l.to))
	}
	s.note("rate windows (Receive/SendBytesPerSecond %s/%s MiB/s × MoveTimeout %v): %s into a node, %s out of it; most in flight in more than one move %s; alone above them: %s; %d plans held by a rate (SkipRateLimit)",
		mibs(float64(pol.ReceiveBytesPerSecond)), mibs(float64(pol.SendBytesPerSecond)), pol.MoveTimeout,
		gib(float64(t.windowIn)), gib(float64(t.windowOut)), gib(float64(t.peakMulti)), orNone(lone), t.heldRate)

	s.target(t.quietBegun == 0, "no transfer begun outside the rebalancing windows: %d of %d", t.quietBegun, r.Transfers)
	s.target(t.peakHour <= t.allowed, "bytes counted in the churn budget ≤ %s in every hour: most %s", gib(float64(t.allowed)), gib(float64(t.peakHour)))
	s.target(t.churnOff == 0, "Coordinator.Churn's bytes = the recount in every tick: %d differ", t.churnOff)
	s.target(t.rateOver == 0 && r.MovesOver == 0,
		"bytes in flight into and out of every node ≤ its rate window unless one move alone, moves ≤ MaxInflightPerNode %d, every tick: %d and %d over",
		pol.MaxInflightPerNode, t.rateOver, r.MovesOver)
	bigOK := len(t.bigMoves) > 0
	for _, b := range t.bigMoves {
		bigOK = bigOK && !b.aborted && !b.ended.IsZero() && b.ended.Sub(b.began) > pol.MoveTimeout
	}
	s.target(bigOK, "the 64 GiB shard moved, in flight past MoveTimeout, completed and never aborted: %d transfers", len(t.bigMoves))
	s.target(r.Settled && r.InFlight == 0 && r.Aborted == 0 && r.Completed == r.Transfers,
		"settled with every move completed: %d begun, %d completed, %d aborted", r.Transfers, r.Completed, r.Aborted)
	s.target(last.byteSpread <= pol.StopBand, "byte spread %.3f ≤ StopBand %.2f", last.byteSpread, pol.StopBand)
	s.target(t.heldBudget > 0 && t.peakHour+thSmallHi > t.allowed,
		"the churn budget held the planner back: reached within one small shard (%s of %s), %d plans held", gib(float64(t.peakHour)), gib(float64(t.allowed)), t.heldBudget)
	s.target(t.workQuiet > 0 && t.heldRate > 0, "quiet hours and the rates held the planner back: %d and %d plans", t.workQuiet, t.heldRate)
	s.minBytesTarget(true)
	return s.verdict()
}

// endClock is when a transfer ended, or "still in flight".
func endClock(tr transferRec) string {
	if tr.ended.IsZero() {
		return "still in flight"
	}
	return tr.ended.Format("15:04")
}

// quietLabel lists the quiet hours: the gaps between p's windows.
func quietLabel(p placement.Policy) string {
	var gaps []string
	for _, g := range quietRanges(p, 0, placement.MinutesPerDay) {
		gaps = append(gaps, fmt.Sprintf("%02d:%02d–%02d:%02d", g[0]/60, g[0]%60, g[1]/60%24, g[1]%60))
	}
	return orNone(gaps)
}

// quietRanges returns the quiet stretches of minutes after midnight of
// the first day in [from, to): [start, end) pairs.
func quietRanges(p placement.Policy, from, to int) [][2]int {
	var out [][2]int
	for m := from; m < to; m++ {
		if rebalanceOpen(p, clockStart.Add(time.Duration(m)*time.Minute)) {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == m {
			out[n-1][1] = m + 1
		} else {
			out = append(out, [2]int{m, m + 1})
		}
	}
	return out
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// gibs formats bytes in GiB, as a bare number.
func gibs(b float64) string { return fmt.Sprintf("%g", math.Round(b/(1<<30)*100)/100) }

// mibs formats bytes a second in MiB/s, as a bare number.
func mibs(b float64) string { return fmt.Sprintf("%g", math.Round(b/mib*100)/100) }

func sumInts(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
