package main

import (
	"fmt"
	"math"
	"time"

	"github.com/ukehi/placement"
)

// The copies of the moves in flight: how long each takes, which complete
// in a tick, which the Scheduler's deadlines abort, and the progress the
// host reports.

// flight is a move in flight: its bytes (the shard's when it began, which
// the planner saw as its stats), when it began, the rate it copies at and
// when its copy ends; the bytes its copy last reported copied
// (ShardRegistry.ReportProgress) and when that figure last grew (zero:
// never reported); and its record in sim.transfers.
type flight struct {
	bytes  uint64
	began  time.Time
	rate   float64
	due    time.Time
	copied uint64
	grew   time.Time
	rec    int
}

// transferRec is a transfer the run began: its shard, nodes and bytes (the
// truth when it began), when it began, and when it ended (by a
// CompleteTransfer, or aborted; zero while in flight).
type transferRec struct {
	shard    placement.ShardID
	from, to placement.NodeID
	bytes    uint64
	began    time.Time
	ended    time.Time
	aborted  bool
}

// copyRate is the bytes a second at which a move from one node to another
// copies: the bandwidth, or the rate of a slow node among the two if
// lower.
func (s *sim) copyRate(from, to placement.NodeID) float64 {
	r := s.bandwidth
	for _, n := range []placement.NodeID{from, to} {
		if nr, ok := s.nodeRate[n]; ok {
			r = math.Min(r, nr)
		}
	}
	return r
}

// copyTime is how long copying a shard of b bytes at rate takes, or the
// fixed delay where the host reports no sizes.
func (s *sim) copyTime(b uint64, rate float64) time.Duration {
	if s.countOnly {
		return s.delay
	}
	return time.Duration(math.Ceil(float64(b) / rate * float64(time.Second)))
}

// completeDue completes, in shard order, the moves whose copy ends by the
// next tick, and forgets the moves the registry no longer holds in
// flight (it cancels those into a node that left NodeUp), counting them
// aborted. It returns how many it completed.
func (s *sim) completeDue() (int, error) {
	next := s.now().Add(s.interval)
	var done []placement.CompleteTransfer
	held := make(map[placement.ShardID]bool, len(s.flights))
	for m := range s.reg.View().Moves() {
		held[m.Shard] = true
		if f, ok := s.flights[m.Shard]; ok && !f.due.After(next) {
			done = append(done, placement.CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch})
		}
	}
	for id, f := range s.flights {
		if !held[id] {
			s.ended(f, s.now(), true)
			delete(s.flights, id)
			s.res.Aborted++
		}
	}
	for _, c := range done {
		f := s.flights[c.Shard]
		if err := s.reg.ApplyAt(c, f.due); err != nil {
			return 0, fmt.Errorf("bug: tick %d: %v rejected: %w", s.tick, c, err)
		}
		s.ended(f, f.due, false)
		delete(s.flights, c.Shard)
	}
	s.res.Completed += len(done)
	return len(done), nil
}

// ended records how a transfer in flight ended: at the time given, by a
// CompleteTransfer or aborted.
func (s *sim) ended(f flight, at time.Time, aborted bool) {
	s.transfers[f.rec].ended = at
	s.transfers[f.rec].aborted = aborted
}

// noProgressDeadline is how long a move of the given bytes may be in
// flight with no progress reported: MoveTimeout plus the bytes at
// MinCopyRate.
func noProgressDeadline(p placement.Policy, bytes uint64) time.Duration {
	return p.MoveTimeout + time.Duration(float64(bytes)/float64(p.MinCopyRate)*float64(time.Second))
}

// expire first reports, as the host copying them would, the bytes each
// copy in flight has copied by now (ShardRegistry.ReportProgress; a host
// that reports no sizes reports none), then aborts, as the leader's
// Scheduler does before it plans, at most MaxActionsPerTick of the moves
// past their deadline (Policy.MoveTimeout): a move whose copy reported
// progress once MoveTimeout has passed since its copied bytes last grew,
// any other once MoveTimeout plus its shard's reported bytes at
// Policy.MinCopyRate has passed since it began. The leader never changes
// here, so the rules for a move begun under another leader do not apply.
func (s *sim) expire() error {
	now := s.now()
	v := s.reg.View()
	for m := range v.Moves() {
		f, ok := s.flights[m.Shard]
		if !ok || s.countOnly {
			continue
		}
		copied := f.bytes
		if d := now.Sub(f.began); d < f.due.Sub(f.began) {
			copied = min(f.bytes, uint64(f.rate*d.Seconds()))
		}
		if copied > f.copied {
			if err := s.reg.ReportProgress(m, copied); err != nil {
				return fmt.Errorf("bug: tick %d: progress of shard %d: %w", s.tick, m.Shard, err)
			}
			f.copied, f.grew = copied, now
			s.flights[m.Shard] = f
		}
	}
	var aborts []placement.AbortTransfer
	for m := range v.Moves() {
		if len(aborts) == s.limit {
			break
		}
		f := s.flights[m.Shard]
		var late bool
		if !f.grew.IsZero() {
			late = now.Sub(f.grew) >= s.policy.MoveTimeout
		} else {
			var bytes uint64
			if st, ok := v.Stats(m.Shard); ok {
				bytes = st.Bytes
			}
			late = now.Sub(m.Began) >= noProgressDeadline(s.policy, bytes)
		}
		if late {
			aborts = append(aborts, placement.AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
		}
	}
	for _, c := range aborts {
		if err := s.reg.ApplyAt(c, now); err != nil {
			return fmt.Errorf("bug: tick %d: %v rejected: %w", s.tick, c, err)
		}
		if f, ok := s.flights[c.Shard]; ok {
			s.ended(f, now, true)
		}
		delete(s.flights, c.Shard)
		s.res.Aborted++
	}
	return nil
}

// inFlight is what is in flight into and out of each node.
type inFlight struct {
	movesIn, movesOut map[placement.NodeID]int
	bytesIn, bytesOut map[placement.NodeID]uint64
}

// inflight returns the moves in flight now, by node.
func (s *sim) inflight() inFlight {
	f := inFlight{
		movesIn: map[placement.NodeID]int{}, movesOut: map[placement.NodeID]int{},
		bytesIn: map[placement.NodeID]uint64{}, bytesOut: map[placement.NodeID]uint64{},
	}
	for m := range s.reg.View().Moves() {
		b := s.flights[m.Shard].bytes
		f.movesIn[m.To]++
		f.movesOut[m.From]++
		f.bytesIn[m.To] += b
		f.bytesOut[m.From] += b
	}
	return f
}
