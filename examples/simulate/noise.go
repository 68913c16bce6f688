package main

// The scenarios that measure the planner where users look: noise (a
// settled map, then stats reported with noise around an unchanging truth)
// and few-shards (many nodes with few shards each, and a bimodal mix of
// sizes). Their "measure:" lines are figures; noise also checks the
// stability contract's targets (at most 2% of all bytes moved under noise,
// and no back-move) once its map has settled, and few-shards the byte
// spread at rest against ImbalanceThreshold.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ukehi/placement"
)

// --- noise ---

const (
	nsNodes    = 12
	nsShards   = 1_200
	nsMedian   = 64 * mib
	nsSigma    = 1.2
	nsZipf     = 1.1
	nsLoad     = 100_000
	nsSettleBy = 600 // ticks to settle before the noise begins regardless
	nsNoisy    = 300 // noisy ticks
)

func noiseScenario() scenario {
	return scenario{
		name: "noise",
		about: fmt.Sprintf("%d nodes, %s shards of lognormal size (median 64 MiB, σ %.1f), Zipf(%.1f) load, the hottest with no split key; settle, then %d ticks of noisy stats (-noise)",
			nsNodes, thousands(nsShards), nsSigma, nsZipf, nsNoisy),
		setup:    setupNoise,
		settleBy: nsSettleBy,
		noisy:    nsNoisy,
		check:    checkNoise,
	}
}

// setupNoise spreads the shards evenly over the nodes in key order, with
// lognormal sizes and Zipf loads in random rank order. The hottest shard
// (rank 1, about 15% of the load: nearly twice a node's fair share) is
// reported with no split hint, so it cannot be split.
func setupNoise(s *sim) error {
	s.load = true
	rank := s.rng.Perm(nsShards)
	h := 0.0
	for k := 1; k <= nsShards; k++ {
		h += math.Pow(float64(k), -nsZipf)
	}
	if err := s.bootstrap(evenly(nsShards, nsNodes), func(i int) work {
		w := sized(s.lognormal(nsMedian, nsSigma))
		w.load = nsLoad * math.Pow(float64(rank[i]+1), -nsZipf) / h
		return w
	}); err != nil {
		return err
	}
	i := 0
	for sh := range s.reg.View().Shards() {
		if rank[i] == 0 {
			s.nosplit[sh.ID] = true
		}
		i++
	}
	return nil
}

// checkNoise reports the noisy phase: bytes moved against all bytes,
// transfers and back-moves.
func checkNoise(s *sim) error {
	r := &s.res
	last := r.FinalSample
	total := float64(sum(float64s(last.bytes)))
	settled := fmt.Sprintf("settled in %d ticks (plan empty, nothing in flight)", r.SettleTicks)
	if !r.Settled {
		settled = fmt.Sprintf("not settled after %d ticks; the noise began anyway", r.SettleTicks)
	}
	s.note("%s: %d transfers, %s moved, %d splits before the noise", settled,
		r.Transfers-r.NoisyTransfers, gib(float64(r.BytesMoved-r.NoisyBytes)), r.Splits-r.NoisySplits)
	s.note("measure: %d noisy ticks (±%g%% bytes, ±%g%% load): bytes moved %s = %.2f%% of all %s, in %d transfers; %d back-moves (to a node the shard had left in the noisy phase); %d splits, %d merges",
		r.Ticks-r.SettleTicks, 100*s.opts.NoiseBytes, 100*s.opts.NoiseLoad, gib(float64(r.NoisyBytes)),
		100*float64(r.NoisyBytes)/total, gib(total), r.NoisyTransfers, r.BackMoves, r.NoisySplits, r.NoisyMerges)
	s.note("measure: %.2f moves per shard per hour of simulated time in the noisy phase (%d transfers, %d ticks of %v); %.2f before it",
		s.movesPerShardHour(r.NoisyTransfers, r.SettleTicks, r.Ticks), r.NoisyTransfers, r.Ticks-r.SettleTicks, s.interval,
		s.movesPerShardHour(r.Transfers-r.NoisyTransfers, 0, r.SettleTicks))
	s.note("at the end: byte spread %.3f, load spread %.3f (the truth)", last.byteSpread, last.loadSpread)
	// The stability contract's targets (issue 19), for a map that settled.
	if r.Settled && total > 0 {
		s.target(float64(r.NoisyBytes) <= noiseMovedMax*total, "bytes moved under noise %.2f%% ≤ %g%%",
			100*float64(r.NoisyBytes)/total, 100*noiseMovedMax)
		s.target(r.BackMoves == 0, "%d back-moves under noise", r.BackMoves)
	}
	return nil
}

// noiseMovedMax is the most of all bytes the noisy phase may move.
const noiseMovedMax = 0.02

// movedChart renders the bytes moved each tick, and their running total as
// a fraction of all bytes, with the noisy phase's start marked.
func (s *sim) movedChart(sc scenario) []byte {
	r := s.res
	last := s.samples[len(s.samples)-1]
	total := sum(float64s(last.bytes))
	perTick := make([]float64, len(s.samples))
	running := make([]float64, len(s.samples))
	acc := 0.0
	for k, smp := range s.samples {
		perTick[k] = float64(smp.moved) / mib
		if s.noiseFrom > 0 && smp.tick >= s.noiseFrom {
			acc += float64(smp.moved)
		}
		if total > 0 {
			running[k] = 100 * acc / total
		}
	}
	var b strings.Builder
	chartHeader(&b, fmt.Sprintf("%s: bytes moved per tick", sc.name), sc.about)
	text(&b, plotL, 70, "start", `fill="#555555"`, fmt.Sprintf(
		"noise ±%g%% bytes, ±%g%% load from tick %d · noisy phase: %s moved (%.2f%% of all bytes), %d transfers, %d back-moves",
		100*s.opts.NoiseBytes, 100*s.opts.NoiseLoad, s.noiseFrom, gib(float64(r.NoisyBytes)),
		100*float64(r.NoisyBytes)/max(total, 1), r.NoisyTransfers, r.BackMoves))
	lastTick := float64(max(last.tick, 1))
	x := linear(0, lastTick, plotL, plotR)
	xStep := niceStep(lastTick, 10)
	panels := []struct {
		top, bottom float64
		axis, class string
		values      []float64
		step        bool
		label       string
	}{
		{84, 300, "MiB moved in the tick", "moved", perTick, true, "bytes moved (MiB)"},
		{340, 532, "% of all bytes moved since the noise began", "moved-total", running, false, "running total (%)"},
	}
	for _, p := range panels {
		hi := slices.Max(p.values)
		step := niceStep(hi, 4)
		yTop := step * math.Ceil(math.Max(hi*1.05, step)/step)
		y := linear(0, yTop, p.bottom, p.top)
		panel(&b, x, y, xStep, step, float64(last.tick), yTop, decimals(step), p.axis)
		if s.noiseFrom > 0 {
			fmt.Fprintf(&b, `<line class="noise-start" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e15759" stroke-width="1.2" stroke-dasharray="7 4"/>`+"\n",
				num(x(float64(s.noiseFrom))), num(p.top), num(x(float64(s.noiseFrom))), num(p.bottom))
		}
		var pts []string
		for k, smp := range s.samples {
			pts = append(pts, point(x(float64(smp.tick)), y(p.values[k])))
			if p.step && k+1 < len(s.samples) {
				pts = append(pts, point(x(float64(s.samples[k+1].tick)), y(p.values[k])))
			}
		}
		fmt.Fprintf(&b, `<polyline class="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round" points="%s"/>`+"\n",
			p.class, palette[0], strings.Join(pts, " "))
		legendRow(&b, int(p.top)+8, palette[0], "1.6", "", p.label)
		legendRow(&b, int(p.top)+26, "#e15759", "1.2", ` stroke-dasharray="7 4"`, "noise begins")
	}
	text(&b, (plotL+plotR)/2, imbB+40, "middle", `font-size="13"`, s.xTitle())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// --- few-shards ---

const (
	fsPerNode  = 10
	fsMin      = 16 * mib
	fsMax      = 400 * mib
	fsSettleBy = 900
)

func fewShards() scenario {
	return scenario{
		name:     "few-shards",
		about:    "-few-nodes nodes (default 2,000) with 10 shards each of 16–400 MiB (uniform); one more node joins empty",
		setup:    setupFewShards,
		settleBy: fsSettleBy,
		check:    checkFewShards,
	}
}

// setupFewShards gives every node 10 shards of sizes drawn evenly from
// 16–400 MiB, in key order, then adds one empty node.
func setupFewShards(s *sim) error {
	n := s.opts.FewNodes
	if n < 1 {
		return fmt.Errorf("few-nodes %d: want at least 1", n)
	}
	if err := s.bootstrap(evenly(n*fsPerNode, n), func(int) work {
		return sized(fsMin + s.rng.Uint64N(fsMax-fsMin+1))
	}); err != nil {
		return err
	}
	return s.apply(placement.AddNode{Node: placement.NodeID(n + 1)})
}

const (
	bmNodes       = 4
	bmLarge       = 40
	bmLargeSize   = 400 * mib
	bmSmall       = 2_000
	bmSmallSize   = 24 * mib
	bmShardsTotal = bmLarge + bmSmall
)

func fewShardsBimodal() scenario {
	return scenario{
		name: "few-shards-bimodal",
		about: fmt.Sprintf("%d nodes share %d shards of 400 MiB and %s of 24 MiB, in random order",
			bmNodes, bmLarge, thousands(bmSmall)),
		setup:    setupBimodal,
		settleBy: fsSettleBy,
		check:    checkFewShards,
	}
}

// setupBimodal spreads the two sizes in random key order evenly over the
// nodes by count, so the nodes start with different bytes.
func setupBimodal(s *sim) error {
	large := s.rng.Perm(bmShardsTotal)
	return s.bootstrap(evenly(bmShardsTotal, bmNodes), func(i int) work {
		if large[i] < bmLarge {
			return sized(bmLargeSize)
		}
		return sized(bmSmallSize)
	})
}

// checkFewShards reports the byte spread at rest against the policy's
// ImbalanceThreshold, the ticks, the bytes moved against the lower bound
// and, with -timing, the plan time per tick.
func checkFewShards(s *sim) error {
	r := &s.res
	last := r.FinalSample
	settled := fmt.Sprintf("settled in %d ticks (plan empty, nothing in flight)", r.Ticks)
	if !r.Settled {
		settled = fmt.Sprintf("not settled after %d ticks (%d moves still in flight)", r.Ticks, r.InFlight)
	}
	s.note("%d nodes, %s shards: %s", len(last.nodes), thousands(last.shards), settled)
	s.boundNotes()
	s.note("measure: byte spread at rest %.3f (max − min of bytes / target); ImbalanceThreshold %.2f, StopBand %.2f; start %.3f",
		last.byteSpread, s.policy.ImbalanceThreshold, s.policy.StopBand, s.samples[0].byteSpread)
	if r.Settled {
		s.target(last.byteSpread <= s.policy.ImbalanceThreshold, "byte spread at rest %.3f ≤ ImbalanceThreshold %.2f",
			last.byteSpread, s.policy.ImbalanceThreshold)
	}
	if s.opts.Timing && r.Plans > 0 {
		s.note("measure: plan time (wall clock, varies between runs): mean %v a tick, longest %v, over %d plans",
			(s.planTime / time.Duration(r.Plans)).Round(time.Microsecond), s.planMax.Round(time.Microsecond), r.Plans)
	}
	return nil
}
