package placement_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The journal holds the decisions applied on this server, oldest first,
// each with its reason and term, across its terms; the Info line of an
// applied plan lists the reasons in words.
func TestJournalKeepsAppliedDecisions(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := newHarness(t, func(c *placement.Config) { c.Logger = zap.New(core) })
	require.Empty(t, h.sched.Journal())
	h.fake.SetLeader(true)
	rep, err := h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.Len(t, rep.Reasons, len(rep.Commands))

	j := h.sched.Journal()
	require.Len(t, j, 3)
	for i, e := range j {
		require.Equal(t, rep.Commands[i], e.Reason.Command)
		require.Equal(t, placement.PhaseCounts, e.Reason.Phase)
		require.Equal(t, uint64(1), e.Term)
		require.False(t, e.Time.IsZero())
	}

	applied := logs.FilterMessage("plan applied").All()
	require.Len(t, applied, 1)
	words, ok := applied[0].ContextMap()["reasons"].([]any)
	require.True(t, ok, "reasons: %v", applied[0].ContextMap())
	require.Len(t, words, 3)
	require.Equal(t, j[0].Reason.String(), words[0])
	require.Contains(t, words[0], "move shard ")

	// A new term on this server: the journal goes on.
	h.fake.SetLeader(false)
	h.fake.SetLeader(true)
	rep, err = h.sched.Tick(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, rep.Commands)
	j2 := h.sched.Journal()
	require.Len(t, j2, 3+len(rep.Commands))
	require.Equal(t, j, j2[:3], "oldest first, unchanged")
	for _, e := range j2[3:] {
		require.Equal(t, uint64(2), e.Term)
	}
}
