package placementtest

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestClusterKillRestartIsolateHeal(t *testing.T) {
	c, err := NewCluster(ClusterOptions{ManualTicks: true})
	require.NoError(t, err)
	defer c.Shutdown()
	leader, err := c.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	res, err := c.Apply(10*time.Second, placement.AddNode{Node: 1}, placement.CreateShard{Range: placement.KeyRange{}, Node: 1})
	require.NoError(t, err)
	require.Equal(t, []error{nil, nil}, res)
	require.NoError(t, c.WaitIdentical(30*time.Second))

	c.Kill(leader)
	require.False(t, c.Up(leader))
	next, err := c.WaitLeader(30 * time.Second)
	require.NoError(t, err)
	require.NotEqual(t, leader, next)
	require.NoError(t, c.Restart(leader))
	require.Error(t, c.Restart(leader), "restarting a running server")
	require.NoError(t, c.WaitIdentical(30*time.Second))
	require.Equal(t, 1, c.Servers[leader].Registry.View().ShardCount(), "restart rebuilt the map")

	follower := (next + 1) % 3
	c.Isolate(follower)
	res, err = c.Apply(10*time.Second, placement.AddNode{Node: 2})
	require.NoError(t, err)
	require.Equal(t, []error{nil}, res)
	_, ok := c.Servers[follower].Registry.View().Node(2)
	require.False(t, ok, "an isolated server sees no new entries")
	c.Heal(follower)
	require.NoError(t, c.WaitIdentical(30*time.Second))
	_, ok = c.Servers[follower].Registry.View().Node(2)
	require.True(t, ok)
	c.Shutdown()
	c.Shutdown() // idempotent
}

func TestFakeRaft(t *testing.T) {
	reg := placement.NewShardRegistry()
	f := NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	ctx := context.Background()
	_, err := f.Apply(ctx, placement.Encode(placement.AddNode{Node: 1}))
	require.ErrorIs(t, err, placement.ErrNotLeader, "a follower refuses")
	require.ErrorIs(t, f.Barrier(ctx), raft.ErrNotLeader)

	f.SetLeader(true)
	select {
	case <-f.LeadershipChanges():
	default:
		t.Fatal("SetLeader did not signal")
	}
	leader, term := f.Leader()
	require.True(t, leader)
	require.Equal(t, uint64(1), term)
	require.NoError(t, f.Barrier(ctx))

	f.FailApply(2, raft.ErrLeadershipLost, true)
	resp, err := f.Apply(ctx, placement.Encode(placement.AddNode{Node: 1}))
	require.NoError(t, err)
	require.Equal(t, []error{nil}, resp)
	_, err = f.Apply(ctx, placement.Encode(placement.AddNode{Node: 2}))
	require.ErrorIs(t, err, raft.ErrLeadershipLost)
	require.ErrorIs(t, err, placement.ErrNotLeader)
	_, ok := reg.View().Node(2)
	require.True(t, ok, "applied before failing, as raft may")
	require.Len(t, f.Entries(), 2)
	require.Equal(t, []uint64{1}, f.Barriers())
}
