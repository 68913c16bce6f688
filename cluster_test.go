package placement_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// Bounds for waits on a real cluster; CI shares 2 cores with -race.
const (
	settle   = 30 * time.Second
	proposal = 10 * time.Second
)

// transferLog counts the transfers each server's FSM applies.
type transferLog struct {
	mu    sync.Mutex
	moves map[int][]placement.PlaceTransfer
	all   map[int][]placement.Command
}

func (l *transferLog) record(server int, _ uint64, cmd placement.Command) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all[server] = append(l.all[server], cmd)
	if tr, ok := cmd.(placement.PlaceTransfer); ok {
		l.moves[server] = append(l.moves[server], tr)
	}
}

func (l *transferLog) transfers(server int) []placement.PlaceTransfer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]placement.PlaceTransfer(nil), l.moves[server]...)
}

// skewedBootstrap is one entry: nodes 1–4 up, 30 shards on nodes 1–3
// (16, 9, 5) and node 4 new and empty. The minimum number of moves to the
// stop band is computed by the planner from this map.
func skewedBootstrap() []placement.Command {
	cmds := []placement.Command{}
	for n := placement.NodeID(1); n <= 4; n++ {
		cmds = append(cmds, placement.AddNode{Node: n})
	}
	owners := map[placement.NodeID]int{1: 16, 2: 9, 3: 5}
	i := 0
	for _, n := range []placement.NodeID{1, 2, 3} {
		for k := 0; k < owners[n]; k++ {
			r := placement.KeyRange{Start: []byte(fmt.Sprintf("k%03d", i))}
			if i < 29 {
				r.End = []byte(fmt.Sprintf("k%03d", i+1))
			}
			cmds = append(cmds, placement.CreateShard{Range: r, Node: n})
			i++
		}
	}
	return cmds
}

// minimumMoves asks a fresh planner with an unlimited budget.
func minimumMoves(t *testing.T, cmds []placement.Command, pol placement.Policy) int {
	reg := placement.NewShardRegistry()
	for _, c := range cmds {
		require.NoError(t, reg.Apply(c))
	}
	pol.MaxMovesPerNode = 1 << 20
	return len(placement.NewCoordinator(pol).Plan(reg.View(), 1<<20).Commands)
}

func newCluster(t *testing.T, log *transferLog, mutate func(*placementtest.ClusterOptions)) *placementtest.Cluster {
	t.Helper()
	opts := placementtest.ClusterOptions{OnApply: log.record}
	opts.Config = placement.DefaultConfig()
	opts.Config.TickInterval = 20 * time.Millisecond
	opts.Config.MaxActionsPerTick = 2
	opts.Config.ApplyTimeout = 2 * time.Second
	if mutate != nil {
		mutate(&opts)
	}
	c, err := placementtest.NewCluster(opts)
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)
	_, err = c.WaitLeader(settle)
	require.NoError(t, err)
	return c
}

func newLog() *transferLog {
	return &transferLog{moves: map[int][]placement.PlaceTransfer{}, all: map[int][]placement.Command{}}
}

// balanced reports whether server i's map is within the stop band, i.e. the
// planner would start no transfer.
func balanced(c *placementtest.Cluster, i int, pol placement.Policy) bool {
	pol.ImbalanceThreshold = pol.StopBand // plan as if rebalancing were on
	p := placement.NewCoordinator(pol).Plan(c.Servers[i].Registry.View(), 1<<20)
	return len(p.Commands) == 0 && c.Servers[i].Registry.View().ShardCount() > 0
}

// ranges lists the key ranges of server i's map, in key order.
func ranges(c *placementtest.Cluster, i int) []string {
	var out []string
	for sh := range c.Servers[i].Registry.View().Shards() {
		out = append(out, sh.Range.String())
	}
	return out
}

func TestClusterConvergesWithMinimumTransfers(t *testing.T) {
	log := newLog()
	c := newCluster(t, log, nil)
	boot := skewedBootstrap()
	minimum := minimumMoves(t, boot, placement.DefaultPolicy())
	require.Positive(t, minimum)
	results, err := c.Apply(proposal, boot...)
	require.NoError(t, err)
	require.Equal(t, make([]error, len(boot)), results)

	require.NoError(t, placementtest.WaitFor(settle, func() bool { return balanced(c, 0, placement.DefaultPolicy()) }))
	require.NoError(t, c.WaitIdentical(settle))
	// Let the leader tick a while longer: nothing more may move.
	leader := c.Leader()
	for k := 0; k < 5; k++ {
		_, err := c.Servers[leader].Scheduler.Tick(t.Context())
		require.NoError(t, err)
	}
	require.NoError(t, c.WaitIdentical(settle))
	for i := range c.Servers {
		require.Len(t, log.transfers(i), minimum, "server %d applied transfers vs the minimum", i)
	}
	snaps := c.Snapshots()
	require.Equal(t, snaps[0], snaps[1])
	require.Equal(t, snaps[0], snaps[2])
}

func TestClusterLeaderKilledMidRebalance(t *testing.T) {
	log := newLog()
	c := newCluster(t, log, func(o *placementtest.ClusterOptions) { o.Config.MaxActionsPerTick = 1 })
	boot := skewedBootstrap()
	minimum := minimumMoves(t, boot, placement.DefaultPolicy())
	_, err := c.Apply(proposal, boot...)
	require.NoError(t, err)
	before := ranges(c, c.Leader())

	old := c.Leader()
	require.NoError(t, placementtest.WaitFor(settle, func() bool { return len(log.transfers(old)) >= 3 }))
	c.Kill(old)
	survivor := (old + 1) % 3
	require.NoError(t, placementtest.WaitFor(settle, func() bool { return balanced(c, survivor, placement.DefaultPolicy()) }))
	require.NoError(t, c.WaitIdentical(settle))
	require.NoError(t, c.Restart(old))
	require.NoError(t, c.WaitIdentical(settle))

	for i := range c.Servers {
		require.Equal(t, before, ranges(c, i), "server %d: shards lost, duplicated or reshaped", i)
	}
	moves := log.transfers(survivor)
	inDoubt := 1 // MaxActionsPerTick: the entry in flight at the failover
	require.GreaterOrEqual(t, len(moves), minimum)
	require.LessOrEqual(t, len(moves), minimum+inDoubt)
	require.True(t, balanced(c, old, placement.DefaultPolicy()), "the restarted server rebuilt the balanced map")
}

func TestClusterIsolatedLeaderStopsProposing(t *testing.T) {
	log := newLog()
	c := newCluster(t, log, func(o *placementtest.ClusterOptions) { o.Config.MaxActionsPerTick = 1 })
	boot := skewedBootstrap()
	_, err := c.Apply(proposal, boot...)
	require.NoError(t, err)
	old := c.Leader()
	require.NoError(t, placementtest.WaitFor(settle, func() bool { return len(log.transfers(old)) >= 2 }))
	c.Isolate(old)
	// The old leader steps down once it cannot reach a quorum.
	require.NoError(t, placementtest.WaitFor(settle, func() bool { ok, _ := c.Servers[old].Node.Leader(); return !ok }))
	// Entries committed before the cut may still be on their way to its
	// FSM; once they are in, its commit index cannot move while it is cut
	// off.
	require.NoError(t, placementtest.WaitFor(settle, c.Servers[old].FSMCaughtUp))
	stepped := len(log.transfers(old))
	survivor := (old + 1) % 3
	require.NoError(t, placementtest.WaitFor(settle, func() bool { return balanced(c, survivor, placement.DefaultPolicy()) }))
	require.Equal(t, stepped, len(log.transfers(old)), "the isolated server applied nothing more")
	c.Heal(old)
	require.NoError(t, c.WaitIdentical(settle))
	seen := map[placement.ShardID]int{}
	for _, tr := range log.transfers(survivor) {
		seen[tr.Shard]++
	}
	for id, n := range seen {
		require.Equal(t, 1, n, "shard %d applied %d transfers", id, n)
	}
	require.True(t, c.Identical())
}

func TestClusterRejectsReplayedCommands(t *testing.T) {
	log := newLog()
	c := newCluster(t, log, nil)
	boot := skewedBootstrap()
	_, err := c.Apply(proposal, boot...)
	require.NoError(t, err)
	require.NoError(t, placementtest.WaitFor(settle, func() bool { return balanced(c, 0, placement.DefaultPolicy()) }))
	require.NoError(t, c.WaitIdentical(settle))
	for i := range c.Servers {
		c.Servers[i].Scheduler.PauseLocal()
	}
	before := c.Snapshots()[0]
	log.mu.Lock()
	// Every placement command, replayed, is rejected; SetRebalancing
	// records a flag and always applies (replayed in order, it ends where
	// the log did), so it is left out.
	var replay []placement.Command
	for _, cmd := range log.all[0] {
		if _, ok := cmd.(placement.SetRebalancing); !ok {
			replay = append(replay, cmd)
		}
	}
	log.mu.Unlock()
	results, err := c.Apply(proposal, replay...)
	require.NoError(t, err)
	require.Len(t, results, len(replay))
	for i, res := range results {
		require.ErrorIs(t, res, placement.ErrRejected, "replayed %v", replay[i])
	}
	require.NoError(t, c.WaitIdentical(settle))
	require.True(t, bytes.Equal(before, c.Snapshots()[0]), "replayed commands changed the map")
}

func TestClusterSnapshotInstallAndRestart(t *testing.T) {
	log := newLog()
	c := newCluster(t, log, func(o *placementtest.ClusterOptions) {
		o.SnapshotThreshold = 8
		o.TrailingLogs = 2
	})
	_, err := c.Apply(proposal, placement.AddNode{Node: 1}, placement.AddNode{Node: 2})
	require.NoError(t, err)
	leader := c.Leader()
	behind := (leader + 1) % 3
	c.Kill(behind)
	for i := 0; i < 60; i++ {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		res, err := c.Apply(proposal, placement.CreateShard{Range: r, Node: placement.NodeID(1 + i%2)})
		require.NoError(t, err)
		require.NoError(t, res[0])
	}
	// Wait for the leader to compact its log past what the follower has.
	require.NoError(t, placementtest.WaitFor(settle, func() bool {
		ids, err := c.SnapshotIDs(leader)
		return err == nil && len(ids) > 0
	}))
	require.Zero(t, c.Restores(behind), "nothing to restore before the restart")
	require.NoError(t, c.Restart(behind))
	require.NoError(t, c.WaitIdentical(settle))
	require.Positive(t, c.Restores(behind), "the lagging follower caught up through a snapshot install")
	require.Equal(t, 60, c.Servers[behind].Registry.View().ShardCount())

	for i := range c.Servers {
		c.Kill(i)
	}
	for i := range c.Servers {
		require.NoError(t, c.Restart(i))
	}
	_, err = c.WaitLeader(settle)
	require.NoError(t, err)
	require.NoError(t, c.WaitIdentical(settle))
	require.Equal(t, 60, c.Servers[0].Registry.View().ShardCount(), "restarted servers rebuilt the map from their stores")
}
