package placement_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// A rolling upgrade on real raft: server 2 still runs a release that reads
// only format version 2 while the other two run this one. Every Scheduler
// method is called on the leader and the schedulers tick; nothing reaches
// the log that server 2 could not read, so it stays up and holds the same
// map. Once it is upgraded and the format raised, two-phase moves work.
func TestRollingUpgradeOnRealRaft(t *testing.T) {
	old := &oldRelease{max: 2}
	pol := placement.DefaultPolicy()
	c := newCluster(t, newLog(), func(o *placementtest.ClusterOptions) {
		o.WrapFSM = func(server int, fsm raft.FSM) raft.FSM {
			if server != 2 {
				return fsm
			}
			old.FSM = fsm
			return old
		}
		o.Config.Policy.DownTimeout = time.Second
		o.Mover = &placementtest.MoverOptions{}
	})
	boot := append([]placement.Command{placement.SetFormatVersion{Version: 2}}, skewedBootstrap()...)
	results, err := c.Apply(proposal, boot...)
	require.NoError(t, err)
	require.Equal(t, make([]error, len(boot)), results)
	require.NoError(t, placementtest.WaitFor(settle, func() bool {
		i := c.Leader()
		return i >= 0 && balanced(c, i, pol)
	}), "one-phase transfers at format version 2")

	leader, err := c.WaitLeader(settle)
	require.NoError(t, err)
	s := c.Servers[leader].Scheduler
	ctx, cancel := context.WithTimeout(context.Background(), proposal)
	defer cancel()
	require.ErrorIs(t, s.Pause(ctx, time.Minute), placement.ErrFormatVersion)
	require.ErrorIs(t, s.Resume(ctx), placement.ErrFormatVersion)
	require.ErrorIs(t, s.SetPolicy(ctx, pol, 3), placement.ErrFormatVersion)
	m := placement.Move{Shard: 1, From: 1, To: 4, Epoch: 2}
	require.ErrorIs(t, s.CompleteTransfer(ctx, m), placement.ErrFormatVersion)
	require.ErrorIs(t, s.AbortTransfer(ctx, m), placement.ErrFormatVersion)
	// A node down past DownTimeout is declared lost (version 2) and its
	// shards re-homed, by the ticks of whichever server leads.
	res, err := c.Apply(proposal, placement.SetNodeState{Node: 3, State: placement.NodeDown})
	require.NoError(t, err)
	require.NoError(t, res[0])
	require.NoError(t, placementtest.WaitFor(settle, func() bool {
		i := c.Leader()
		if i < 0 {
			return false
		}
		n, _ := c.Servers[i].Registry.View().Node(3)
		return n.State == placement.NodeLost && c.Servers[i].Registry.View().Count(3) == 0
	}), "node 3 not re-homed")
	require.NoError(t, c.WaitIdentical(settle))
	require.Empty(t, old.seen(), "entries the old release cannot read")

	// Server 2 is upgraded; the operator raises the format.
	old.upgrade(placement.FormatVersion)
	res, err = c.Apply(proposal, placement.SetFormatVersion{Version: placement.FormatVersion}, placement.AddNode{Node: 5})
	require.NoError(t, err)
	require.Equal(t, []error{nil, nil}, res)
	require.NoError(t, placementtest.WaitFor(settle, func() bool {
		i := c.Leader()
		return i >= 0 && c.Servers[i].Registry.View().MoveCount() == 0 && balanced(c, i, pol) &&
			c.Servers[i].Registry.View().Count(5) > 0
	}), "two-phase moves onto node 5")
	require.Positive(t, c.MovesEnded(), "moves completed by the mover")
	leader, err = c.WaitLeader(settle)
	require.NoError(t, err)
	require.NoError(t, c.Servers[leader].Scheduler.Pause(ctx, time.Minute))
	require.NoError(t, c.WaitIdentical(settle))
	require.Empty(t, old.seen())
}
