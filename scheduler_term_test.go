package placement

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// observe replaces the term's state whole on a new term, and keeps it when
// this server leads the same term again.
func TestObserveReplacesTheTermWhole(t *testing.T) {
	now := choresT0
	s := termScheduler(&now)

	require.True(t, s.observe(true, 1))
	first := s.lead
	require.Equal(t, &termState{term: 1, led: true, elected: now, coord: first.coord, needBarrier: true, needResume: true}, first)
	require.False(t, s.current.Load())

	// The term's chores and planner leave their marks.
	first.needBarrier, first.needResume = false, false
	first.moves = firstSeen[moveAttempt]{{shard: 1, epoch: 2}: now}
	first.down = firstSeen[NodeID]{3: now}

	// Leader again in the same term after a not-leader error: the same
	// state, with a barrier to come.
	s.lost(ErrNotLeader)
	require.False(t, s.leader)
	now = now.Add(time.Minute)
	require.True(t, s.observe(true, 1))
	require.Same(t, first, s.lead)
	require.True(t, first.needBarrier)
	require.Equal(t, choresT0, first.elected)
	require.True(t, s.current.Load(), "the planner has resumed in this term")

	// A follower keeps the last term's state until it leads a new one.
	require.False(t, s.observe(false, 2))
	require.Same(t, first, s.lead)
	require.False(t, s.current.Load())

	require.True(t, s.observe(true, 3))
	require.NotSame(t, first, s.lead)
	require.NotSame(t, first.coord, s.lead.coord)
	require.Equal(t, &termState{term: 3, led: true, elected: now, coord: s.lead.coord, needBarrier: true, needResume: true}, s.lead)
}

// A term a tick first sees as a candidate (raft raises the term before the
// election) and then leads is new: a fresh planner that resumes from the
// log, and an election time for the timers.
func TestObserveCandidateThenLeaderIsANewTerm(t *testing.T) {
	now := choresT0
	s := termScheduler(&now)
	require.True(t, s.observe(true, 1))
	first := s.lead
	first.needBarrier, first.needResume = false, false
	s.current.Store(true)

	now = now.Add(time.Hour)
	require.False(t, s.observe(false, 2), "a candidate in term 2")
	require.True(t, s.observe(true, 2), "elected in term 2")
	require.NotSame(t, first, s.lead)
	require.Equal(t, uint64(2), s.lead.term)
	require.Equal(t, now, s.lead.elected)
	require.True(t, s.lead.needBarrier)
	require.True(t, s.lead.needResume)
	require.False(t, s.current.Load())
}

// inDoubt asks for a barrier, and from format version 2 for a resume from
// the log, within the term.
func TestInDoubtWithinTheTerm(t *testing.T) {
	s := &Scheduler{reg: NewShardRegistry(), cfg: DefaultConfig(), log: zap.NewNop(),
		lead: &termState{coord: NewCoordinator(DefaultPolicy())}}
	s.observe(true, 1)
	lead := s.lead
	lead.needBarrier, lead.needResume = false, false
	s.current.Store(true)

	s.inDoubt(errors.New("timeout"))
	require.Same(t, lead, s.lead)
	require.True(t, lead.needBarrier)
	require.False(t, lead.needResume, "version 1: the log holds no hysteresis")
	require.True(t, s.current.Load())
	require.True(t, s.leader)

	require.NoError(t, s.reg.Apply(SetFormatVersion{Version: versionFlags}))
	s.inDoubt(ErrNotLeader)
	require.True(t, lead.needResume)
	require.False(t, s.current.Load())
	require.False(t, s.leader, "a not-leader error ends the leadership")
}

// termScheduler is a Scheduler with only what observe reads, whose clock
// reads *now.
func termScheduler(now *time.Time) *Scheduler {
	cfg := DefaultConfig()
	cfg.Clock = func() time.Time { return *now }
	return &Scheduler{reg: NewShardRegistry(), cfg: cfg, log: zap.NewNop(),
		lead: &termState{coord: NewCoordinator(cfg.Policy)}}
}
