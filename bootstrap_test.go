package placement_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// bootstrapCmds is a small first map: two nodes, the whole key space on
// node 1.
func bootstrapCmds() []placement.Command {
	return []placement.Command{
		placement.AddNode{Node: 1}, placement.AddNode{Node: 2},
		placement.CreateShard{Range: placement.KeyRange{}, Node: 1},
	}
}

// requireBootstrapped checks that v is the map bootstrapCmds makes, at the
// newest format.
func requireBootstrapped(t *testing.T, v placement.View) {
	t.Helper()
	require.Equal(t, uint64(placement.FormatVersion), v.FormatVersion())
	require.Len(t, v.Nodes(), 2)
	require.Equal(t, 1, v.ShardCount())
}

// bootstrapAsync runs Bootstrap on its own goroutine and returns its answer
// on a channel.
func bootstrapAsync(ctx context.Context, node placement.RaftNode, reg *placement.ShardRegistry) <-chan error {
	done := make(chan error, 1)
	go func() { done <- placement.Bootstrap(ctx, node, reg, bootstrapCmds()...) }()
	return done
}

// A follower waits; once it leads it issues a barrier and proposes the
// format version and the commands as one entry. A second call proposes
// nothing.
func TestBootstrapWaitsForLeadership(t *testing.T) {
	reg := placement.NewShardRegistry()
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	done := bootstrapAsync(ctx, fake, reg)
	fake.SetLeader(true)
	require.NoError(t, <-done)
	requireBootstrapped(t, reg.View())
	entries := fake.Entries()
	require.Len(t, entries, 1)
	cmds, err := placement.Decode(entries[0])
	require.NoError(t, err)
	want := append([]placement.Command{placement.SetFormatVersion{Version: placement.FormatVersion}}, bootstrapCmds()...)
	require.Equal(t, want, cmds)
	require.Len(t, fake.Barriers(), 1, "a barrier before proposing")

	require.NoError(t, placement.Bootstrap(ctx, fake, reg, bootstrapCmds()...))
	require.Len(t, fake.Entries(), 1, "idempotent: nothing proposed on a bootstrapped map")
}

// A follower whose map is bootstrapped by another server's entry returns
// nil without proposing.
func TestBootstrapByAnotherServer(t *testing.T) {
	reg := placement.NewShardRegistry()
	fsm := placement.NewFSM(reg)
	fake := placementtest.NewFakeRaft(fsm.ApplyEntry)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	done := bootstrapAsync(ctx, fake, reg)
	other := append([]placement.Command{placement.SetFormatVersion{Version: placement.FormatVersion}}, bootstrapCmds()...)
	results, ok := fsm.ApplyEntry(1, placement.Encode(other...)).([]error)
	require.True(t, ok)
	require.Equal(t, make([]error, len(other)), results)
	require.NoError(t, <-done)
	require.Empty(t, fake.Entries())
}

// A proposal left in doubt is followed by a barrier; the entry is proposed
// again only if it did not apply.
func TestBootstrapInDoubt(t *testing.T) {
	for _, tc := range []struct {
		name             string
		applied          bool
		entries, barrier int
	}{
		{name: "lost", applied: false, entries: 1, barrier: 2},
		{name: "applied", applied: true, entries: 1, barrier: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := placement.NewShardRegistry()
			fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
			// Leadership lost during the first proposal: the fake's signal
			// of becoming leader is still pending, standing for the next
			// change.
			fake.SetLeader(true)
			fake.FailApply(1, raft.ErrLeadershipLost, tc.applied)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			require.NoError(t, placement.Bootstrap(ctx, fake, reg, bootstrapCmds()...))
			requireBootstrapped(t, reg.View())
			require.Len(t, fake.Entries(), tc.entries)
			require.Len(t, fake.Barriers(), tc.barrier)
		})
	}
}

// Commands an empty map refuses fail at once, before anything is proposed;
// ctx bounds the wait.
func TestBootstrapErrors(t *testing.T) {
	reg := placement.NewShardRegistry()
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	fake.SetLeader(true)
	ctx := context.Background()

	err := placement.Bootstrap(ctx, fake, reg, placement.CreateShard{Node: 1})
	require.ErrorIs(t, err, placement.ErrUnknownNode)
	require.ErrorContains(t, err, "command 0")
	err = placement.Bootstrap(ctx, fake, reg, placement.AddNode{Node: 1}, nil)
	require.ErrorIs(t, err, placement.ErrInvalidCommand)
	require.Empty(t, fake.Entries())
	require.Empty(t, fake.Barriers())
	require.ErrorIs(t, placement.Bootstrap(ctx, nil, reg), placement.ErrInvalidConfig)

	fake.SetLeader(false)
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, placement.Bootstrap(ctx, fake, reg, bootstrapCmds()...), context.Canceled)
	require.Empty(t, fake.Entries())
}

// On a real 3-server raft cluster, every server calls Bootstrap at once:
// exactly one entry bootstraps the map, every server returns nil and holds
// it, and calls after a restart propose nothing.
func TestBootstrapCluster(t *testing.T) {
	var mu sync.Mutex
	formats := map[int]int{} // SetFormatVersion commands applied, by server
	c, err := placementtest.NewCluster(placementtest.ClusterOptions{
		ManualTicks: true,
		OnApply: func(server int, _ uint64, cmd placement.Command) {
			if _, ok := cmd.(placement.SetFormatVersion); ok {
				mu.Lock()
				formats[server]++
				mu.Unlock()
			}
		},
	})
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)

	bootstrapAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), settle)
		defer cancel()
		var done []<-chan error
		for _, s := range c.Servers {
			done = append(done, bootstrapAsync(ctx, s.Node, s.Registry))
		}
		for i, d := range done {
			require.NoError(t, <-d, "server %d", i)
			requireBootstrapped(t, c.Servers[i].Registry.View())
		}
	}
	bootstrapAll()
	require.NoError(t, c.WaitIdentical(settle))
	digest := c.Servers[0].Registry.View().Digest()
	for i, s := range c.Servers {
		require.Equal(t, digest, s.Registry.View().Digest(), "server %d", i)
	}

	c.Kill(0)
	require.NoError(t, c.Restart(0))
	bootstrapAll()
	require.NoError(t, c.WaitIdentical(settle))
	mu.Lock()
	defer mu.Unlock()
	for i := range c.Servers {
		require.LessOrEqual(t, formats[i], 2, "server %d: the bootstrap entry, once (twice for the restarted server's replay)", i)
	}
	require.Equal(t, 1, formats[1])
	require.Equal(t, 1, formats[2])
}

// silentRaft is a RaftNode whose leadership signals all go to another
// receiver (a Scheduler started first): Bootstrap never gets one.
type silentRaft struct{ *placementtest.FakeRaft }

func (silentRaft) LeadershipChanges() <-chan struct{} { return nil }

// Started alongside a Scheduler that takes the election's signal,
// Bootstrap still notices that this server leads.
func TestBootstrapWithoutLeadershipSignals(t *testing.T) {
	reg := placement.NewShardRegistry()
	fake := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := bootstrapAsync(ctx, silentRaft{fake}, reg)
	fake.SetLeader(true)
	require.NoError(t, <-done)
	requireBootstrapped(t, reg.View())
}
