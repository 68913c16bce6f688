package placement_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// bigMoveHarness is one shard of the given bytes on draining node 1 and
// an empty node 2, at the newest format, with entries carrying the clock's
// time; its schedulers copy at least MinCopyRateFloor (1 MiB/s), never
// split the shard, and tick on the fake clock.
func bigMoveHarness(t *testing.T, clock *fakeClock, bytes uint64) (*placement.ShardRegistry, *placementtest.FakeRaft, func() *placement.Scheduler) {
	t.Helper()
	reg := placement.NewShardRegistry()
	for _, c := range []placement.Command{
		placement.SetFormatVersion{Version: placement.FormatVersion},
		placement.AddNode{Node: 1}, placement.AddNode{Node: 2},
		placement.CreateShard{ID: 1, Range: placement.KeyRange{Start: []byte{}}, Node: 1},
		placement.SetNodeState{Node: 1, State: placement.NodeDraining},
	} {
		require.NoError(t, reg.Apply(c))
	}
	require.NoError(t, reg.ReportStats(1, placement.Stats{Keys: 10, Bytes: bytes}))
	fsm := placement.NewFSM(reg)
	fake := placementtest.NewFakeRaft(func(index uint64, entry []byte) any { return fsm.ApplyEntryAt(index, clock.Now(), entry) })
	fake.SetLeader(true)
	return reg, fake, func() *placement.Scheduler {
		cfg := placement.DefaultConfig()
		cfg.Policy.SplitBytes = 1 << 50
		cfg.Policy.MinCopyRate = placement.MinCopyRateFloor
		cfg.TickInterval = time.Hour
		cfg.Clock = clock.Now
		s, err := placement.New(fake, reg, cfg)
		require.NoError(t, err)
		return s
	}
}

// onlyMove returns the move in flight.
func onlyMove(t *testing.T, reg *placement.ShardRegistry) placement.Move {
	t.Helper()
	for m := range reg.View().Moves() {
		return m
	}
	t.Fatal("no move in flight")
	return placement.Move{}
}

// A 64 GiB shard copied at the least rate (1 MiB/s, over 18 hours, far
// past the 10-minute base timeout) completes, never aborted: with its
// progress reported every minute, and without any report (its deadline
// then grows with its bytes). A leader change halfway, with the new
// leader's clock ahead by less than MoveTimeout, changes nothing.
func TestBigMoveCompletesAtTheLeastRate(t *testing.T) {
	const size = 64 << 30
	for _, report := range []bool{true, false} {
		clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
		reg, fake, newSched := bigMoveHarness(t, clock, size)
		s := newSched()
		require.Len(t, tick(t, s).Commands, 1)
		m := onlyMove(t, reg)
		var copied uint64
		for minute := 1; copied < size; minute++ {
			clock.Advance(time.Minute)
			copied = min(copied+60*placement.MinCopyRateFloor, size)
			if report {
				require.NoError(t, reg.ReportProgress(m, copied))
			}
			if minute == 600 {
				fake.SetLeader(false)
				fake.SetLeader(true)
				clock.Advance(9 * time.Minute) // the new leader's clock runs ahead
				s = newSched()
			}
			require.Empty(t, tick(t, s).Aborted, "minute %d, report %v", minute, report)
		}
		_, err := fake.Apply(context.Background(), placement.Encode(placement.CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch, To: m.To}))
		require.NoError(t, err)
		sh, _ := reg.View().Shard(1)
		require.Equal(t, placement.NodeID(2), sh.Node)
	}
}

// A copy whose progress stops growing is aborted MoveTimeout after it last
// grew, not at its size's deadline hours later; a report of no more bytes
// refreshes nothing.
func TestStalledMoveAborted(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, _, newSched := bigMoveHarness(t, clock, 64<<30)
	s := newSched()
	require.Len(t, tick(t, s).Commands, 1)
	m := onlyMove(t, reg)
	for i := 1; i <= 30; i++ {
		clock.Advance(time.Minute)
		require.NoError(t, reg.ReportProgress(m, uint64(i)<<30))
		require.Empty(t, tick(t, s).Aborted)
	}
	lastGrowth := clock.Now()
	for clock.Now().Sub(lastGrowth) < placement.DefaultPolicy().MoveTimeout {
		require.Empty(t, tick(t, s).Aborted, "%v after the last growth", clock.Now().Sub(lastGrowth))
		clock.Advance(time.Minute)
		require.NoError(t, reg.ReportProgress(m, 30<<30), "the same figure again")
	}
	rep := tick(t, s)
	require.Equal(t, []placement.AbortTransfer{{Shard: m.Shard, Epoch: m.Epoch}}, rep.Aborted, "MoveTimeout after the last growth")
	require.ErrorIs(t, reg.ReportProgress(m, 31<<30), placement.ErrNotMoving, "the move has ended")
}

// A new leader whose clock runs ahead of its predecessor's by less than
// MoveTimeout aborts no move before its deadline on the old clock (the
// true time), and gives a move with no reports yet one MoveTimeout from
// its election; the move is still aborted within MoveTimeout past its
// deadline.
func TestMoveDeadlineSafeFromClockSkew(t *testing.T) {
	const size = 1 << 30 // at 1 MiB/s: 1,024 s on top of MoveTimeout
	timeout := placement.DefaultPolicy().MoveTimeout
	allowance := timeout + size/placement.MinCopyRateFloor*time.Second
	for _, tc := range []struct {
		name         string
		handover     time.Duration // after the move began, on the old clock
		skew         time.Duration // how far the new clock runs ahead
		wantByTrue   time.Duration // the latest abort, in true time after the start
		wantNotEarly time.Duration // the earliest allowed abort, the same way
	}{
		{name: "handover early, 9m ahead", handover: time.Minute, skew: 9 * time.Minute, wantByTrue: allowance + timeout, wantNotEarly: allowance},
		{name: "handover late, 9m ahead", handover: allowance - time.Minute, skew: 9*time.Minute + 59*time.Second, wantByTrue: allowance + timeout, wantNotEarly: allowance},
		{name: "handover after the deadline, 5m ahead", handover: allowance + time.Minute, skew: 5 * time.Minute, wantByTrue: allowance + time.Minute + timeout, wantNotEarly: allowance + time.Minute + timeout - 5*time.Minute},
		{name: "no skew", handover: 2 * time.Minute, wantByTrue: allowance + timeout, wantNotEarly: allowance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			_, fake, newSched := bigMoveHarness(t, clock, size)
			require.Len(t, tick(t, newSched()).Commands, 1)
			began := clock.Now()
			clock.Advance(tc.handover)
			fake.SetLeader(false)
			fake.SetLeader(true)
			clock.Advance(tc.skew)
			next := newSched()
			for {
				rep := tick(t, next)
				trueAge := clock.Now().Add(-tc.skew).Sub(began)
				if len(rep.Aborted) > 0 {
					require.GreaterOrEqual(t, trueAge, tc.wantNotEarly, "aborted early")
					require.LessOrEqual(t, trueAge, tc.wantByTrue, "aborted late")
					return
				}
				require.Less(t, trueAge, tc.wantByTrue, "not aborted in time")
				clock.Advance(time.Second)
			}
		})
	}
}
