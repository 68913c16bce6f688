package placement_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// ApplyCommands answers one result per command: nil where it applied, the
// rejection where it did not.
func TestApplyCommandsResults(t *testing.T) {
	reg := placement.NewShardRegistry()
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	fake.SetLeader(true)

	results, err := placement.ApplyCommands(context.Background(), fake,
		placement.AddNode{Node: 1}, placement.AddNode{Node: 1}, placement.CreateShard{Node: 1})
	require.NoError(t, err)
	require.Len(t, results, 3)
	require.NoError(t, results[0])
	require.ErrorIs(t, results[1], placement.ErrNodeExists)
	require.NoError(t, results[2])
	require.Equal(t, 1, reg.View().ShardCount())
	require.Len(t, fake.Entries(), 1, "one entry for the batch")
}

// Raft's errors come back as the error, the not-leader family wrapping
// ErrNotLeader; nothing is proposed for a command Encode cannot carry.
func TestApplyCommandsErrors(t *testing.T) {
	reg := placement.NewShardRegistry()
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)

	_, err := placement.ApplyCommands(context.Background(), fake, placement.AddNode{Node: 1})
	require.ErrorIs(t, err, placement.ErrNotLeader, "a follower")

	fake.SetLeader(true)
	fake.FailApply(1, raft.ErrLeadershipLost, true)
	_, err = placement.ApplyCommands(context.Background(), fake, placement.AddNode{Node: 1})
	require.ErrorIs(t, err, placement.ErrNotLeader)
	require.ErrorIs(t, err, raft.ErrLeadershipLost, "in doubt: raft's own error too")

	_, err = placement.ApplyCommands(context.Background(), fake, placement.AddNode{Node: 2}, nil)
	require.ErrorIs(t, err, placement.ErrInvalidCommand)
	require.Len(t, fake.Entries(), 1, "only the entry that failed after applying")
}

// A response that is not the FSM's answer to the entry is an error, not an
// empty result.
func TestApplyCommandsForeignResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp any
		want string
	}{
		{name: "nil", resp: nil, want: "<nil>"},
		{name: "other type", resp: "ok", want: "string"},
		{name: "wrong count", resp: []error{nil, nil}, want: "2 results for 1 commands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := placementtest.NewFakeRaft(func(uint64, []byte) any { return tc.resp })
			fake.SetLeader(true)
			_, err := placement.ApplyCommands(context.Background(), fake, placement.AddNode{Node: 1})
			require.ErrorContains(t, err, tc.want)
		})
	}
	corrupt := errors.Join(placement.ErrCorruptCommand)
	fake := placementtest.NewFakeRaft(func(uint64, []byte) any { return corrupt })
	fake.SetLeader(true)
	_, err := placement.ApplyCommands(context.Background(), fake, placement.AddNode{Node: 1})
	require.ErrorIs(t, err, placement.ErrCorruptCommand, "the FSM's error")
}
