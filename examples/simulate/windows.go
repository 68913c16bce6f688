package main

// The windows scenario: moves take time, and the planner keeps the moves in
// flight into and out of each node within Policy.MaxInflightPerNode and
// their bytes within Policy.MaxInflightBytesPerNode.

import (
	"fmt"
	"time"

	"github.com/ukehi/placement"
)

const (
	wnNode   = 9 // the node that joins empty
	wnShards = 480
	wnMedian = 640 * mib
	wnSigma  = 0.5
	// wnSplitBytes is this host's Policy.SplitBytes. Under the default
	// (512 MiB) four shards never exceed the default byte window of
	// 2 GiB, so only the count window would ever bind; with larger shards
	// both do, in turn.
	wnSplitBytes = 2 << 30
	// wnValueSize is the bytes per key: large values, so that SplitBytes,
	// not SplitKeys (100,000 keys = 6.25 GiB), is the split threshold that
	// bites.
	wnValueSize = 64 << 10
)

func windowsScenario() scenario {
	return scenario{
		name: "windows",
		about: fmt.Sprintf("8 nodes share %d shards of lognormal size (median 640 MiB, σ %.1f; SplitBytes %s); node %d joins empty",
			wnShards, wnSigma, capacityLabel(wnSplitBytes), wnNode),
		setup:       setupWindows,
		check:       checkWindows,
		focus:       wnNode,
		focusNote:   "new",
		tune:        func(p *placement.Policy) { p.SplitBytes = wnSplitBytes },
		flightChart: true,
	}
}

// setupWindows puts the shards in key order over nodes 1–8, each a
// contiguous run, then adds node 9. About 1% of the shards are over
// SplitBytes and are split first.
func setupWindows(s *sim) error {
	if err := s.bootstrap(evenly(wnShards, wnNode-1), func(int) work {
		b := s.lognormal(wnMedian, wnSigma)
		return work{keys: max(1, b/wnValueSize), bytes: b}
	}); err != nil {
		return err
	}
	return s.apply(placement.AddNode{Node: wnNode})
}

// checkWindows checks that the windows held in every tick (moves in flight
// into and out of every node at most MaxInflightPerNode; their bytes at
// most MaxInflightBytesPerNode, unless a single move), that they did pace
// the moves (the count window was reached, and plans reported
// SkipInflightWindow), and that the run settled: every move completed, the
// byte spread within the stop band, the next plans empty.
func checkWindows(s *sim) error {
	r := &s.res
	last := r.FinalSample
	i := nodeIndex(last, wnNode)
	s.note("node %d: 0 -> %d shards, %s (mean %s a node) in %d ticks (%v of simulated time)",
		wnNode, last.nodes[i].Shards, gib(float64(last.bytes[i])), gib(mean(float64s(last.bytes))),
		r.Ticks, time.Duration(r.Ticks)*s.interval)
	if !s.policy.InstantMoves {
		s.note("in flight into node %d: at most %d moves, %s; into or out of any node: at most %d moves, %s",
			wnNode, r.PeakMovesIn, gib(float64(r.PeakBytesIn)), r.PeakMoves, gib(float64(r.PeakBytes)))
	}
	s.boundNotes()
	s.balanceNote()
	pol := s.policy
	s.target(r.MovesOver == 0, "moves in flight into and out of every node ≤ MaxInflightPerNode %d every tick: %d over",
		pol.MaxInflightPerNode, r.MovesOver)
	s.target(r.BytesOver == 0, "bytes in flight into and out of every node ≤ MaxInflightBytesPerNode %s every tick, unless a single move: %d over",
		gib(float64(pol.MaxInflightBytesPerNode)), r.BytesOver)
	if !pol.InstantMoves {
		s.target(r.PeakMovesIn == pol.MaxInflightPerNode && r.WindowPlans > 0,
			"the windows paced the moves: node %d reached %d moves in flight, %d plans reported SkipInflightWindow",
			wnNode, r.PeakMovesIn, r.WindowPlans)
	}
	s.target(r.Completed == r.Transfers && r.Aborted == 0 && r.InFlight == 0,
		"every move completed: %d begun, %d completed, %d aborted", r.Transfers, r.Completed, r.Aborted)
	s.target(last.byteSpread <= pol.StopBand, "byte spread %.3f ≤ StopBand %.2f", last.byteSpread, pol.StopBand)
	s.countTarget(targetCount)
	s.minBytesTarget(true)
	s.fixedPointTarget()
	return s.verdict()
}
