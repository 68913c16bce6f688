package placement_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
)

// forecastT0 is the test clock's start: the first plan's time.
var forecastT0 = time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)

// skewedRegistry builds a map at this build's format version: nodes 1 to
// len(counts), node i owning counts[i−1] contiguous shards of 64 to 448
// MiB (seeded), each reported once. No shard is over a split threshold or
// cold, so the planner only moves shards.
func skewedRegistry(t *testing.T, counts []int) *placement.ShardRegistry {
	t.Helper()
	reg := placement.NewShardRegistry()
	apply := func(c placement.Command) {
		t.Helper()
		require.NoError(t, reg.Apply(c))
	}
	apply(placement.SetFormatVersion{Version: placement.FormatVersion})
	total := 0
	for i, n := range counts {
		apply(placement.AddNode{Node: placement.NodeID(i + 1)})
		total += n
	}
	key := func(i int) []byte { return []byte{byte(i >> 8), byte(i)} }
	rng := rand.New(rand.NewPCG(1, 2))
	i := 0
	for node, n := range counts {
		for range n {
			r := placement.KeyRange{Start: key(i), End: key(i + 1)}
			if i == 0 {
				r.Start = nil
			}
			if i == total-1 {
				r.End = nil
			}
			apply(placement.CreateShard{Range: r, Node: placement.NodeID(node + 1)})
			i++
		}
	}
	for id := 1; id <= total; id++ {
		st := placement.Stats{Keys: 20_000 + rng.Uint64N(60_000), Bytes: 64<<20 + rng.Uint64N(384<<20)}
		require.NoError(t, reg.ReportStats(placement.ShardID(id), st))
	}
	return reg
}

// skewedCounts is eight nodes of uneven counts, and so of uneven bytes.
var skewedCounts = []int{70, 62, 55, 50, 46, 42, 38, 37}

// schedulerRun is what a real Scheduler did, tick by tick on a fake raft
// and a fake clock.
type schedulerRun struct {
	moves int
	bytes uint64
	ticks int
}

// runScheduler applies change at forecastT0 and ticks a Scheduler with
// cfg every cfg.TickInterval from then, until a tick plans nothing with
// no move in flight. Moves are instant (cfg.InstantMoves): the Scheduler
// proposes each completion with its move.
func runScheduler(t *testing.T, reg *placement.ShardRegistry, cfg placement.Config, change ...placement.Command) schedulerRun {
	t.Helper()
	now := forecastT0
	fsm := placement.NewFSM(reg)
	node := placementtest.NewFakeRaft(func(i uint64, e []byte) any { return fsm.ApplyEntryAt(i, now, e) })
	node.SetLeader(true)
	cfg.Clock = func() time.Time { return now }
	sched, err := placement.New(node, reg, cfg)
	require.NoError(t, err)
	for _, c := range change {
		require.NoError(t, reg.ApplyAt(c, now))
	}
	var run schedulerRun
	for tick := 1; tick < 10_000; tick++ {
		before := reg.View()
		rep, err := sched.Tick(context.Background())
		require.NoError(t, err)
		if len(rep.Commands) == 0 && reg.View().MoveCount() == 0 {
			run.ticks = tick - 1
			return run
		}
		for _, c := range rep.Commands {
			if tr, ok := c.(placement.PlaceTransfer); ok {
				run.moves++
				st, _ := before.Stats(tr.Shard)
				run.bytes += st.Bytes
			}
		}
		now = now.Add(cfg.TickInterval)
	}
	t.Fatal("the scheduler did not settle")
	return run
}

// within reports whether got is within frac of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= frac*math.Abs(want)
}

// TestForecastAddNodeAgreesWithScheduler: the forecast of adding an empty
// node to a skewed map predicts the moves and bytes of a real Scheduler's
// run within 5%, and its ticks within 10% (it is exact: the same planner,
// registry and clock).
func TestForecastAddNodeAgreesWithScheduler(t *testing.T) {
	cfg := placement.DefaultConfig()
	cfg.InstantMoves = true
	change := placement.AddNode{Node: placement.NodeID(len(skewedCounts) + 1)}

	reg := skewedRegistry(t, skewedCounts)
	f := placement.Forecaster{TickInterval: cfg.TickInterval, MaxActionsPerTick: cfg.MaxActionsPerTick, Now: forecastT0}
	fc, err := f.Forecast(reg.View(), cfg.Policy, change)
	require.NoError(t, err)
	require.True(t, fc.Converged)
	require.Positive(t, fc.Moves)

	run := runScheduler(t, skewedRegistry(t, skewedCounts), cfg, change)
	t.Logf("forecast: %v; scheduler: moves %d, bytes %d, ticks %d", fc, run.moves, run.bytes, run.ticks)
	require.True(t, within(float64(fc.Moves), float64(run.moves), 0.05), "moves: forecast %d, run %d", fc.Moves, run.moves)
	require.True(t, within(float64(fc.BytesMoved), float64(run.bytes), 0.05), "bytes: forecast %d, run %d", fc.BytesMoved, run.bytes)
	require.True(t, within(float64(fc.Ticks), float64(run.ticks), 0.10), "ticks: forecast %d, run %d", fc.Ticks, run.ticks)
	require.Equal(t, time.Duration(fc.Ticks)*cfg.TickInterval, fc.ETA)
	require.Less(t, fc.Balance.Bytes, fc.Initial.Bytes)
	require.LessOrEqual(t, fc.Balance.Bytes, cfg.ImbalanceThreshold)
}

// TestForecastDrainMovesTheNodesBytes: the forecast of draining a node
// moves exactly that node's shards, and its bytes.
func TestForecastDrainMovesTheNodesBytes(t *testing.T) {
	reg := skewedRegistry(t, []int{40, 40, 40, 40, 40, 40})
	v := reg.View()
	const drained = 3
	usage, ok := v.Usage(drained)
	require.True(t, ok)
	fc, err := placement.Forecast(v, placement.DefaultPolicy(), placement.SetNodeState{Node: drained, State: placement.NodeDraining})
	require.NoError(t, err)
	require.True(t, fc.Converged)
	require.Equal(t, usage.Bytes, fc.BytesMoved)
	require.Equal(t, v.Count(drained), fc.Moves)
	require.Zero(t, fc.Splits+fc.Merges+fc.Aborted)
}

// TestForecastBadChange: a change that does not apply to the view is an
// error that names it and wraps the rejection, and neither the view nor
// the registry changes.
func TestForecastBadChange(t *testing.T) {
	reg := skewedRegistry(t, []int{3, 2})
	v := reg.View()
	digest := v.Digest()
	for _, tc := range []struct {
		name   string
		change []placement.Command
		names  string
		reason error
	}{
		{name: "existing node", change: []placement.Command{placement.AddNode{Node: 1}}, names: "change 1: add-node 1: ", reason: placement.ErrNodeExists},
		{name: "unknown node's drain", change: []placement.Command{
			placement.AddNode{Node: 3},
			placement.SetNodeState{Node: 9, State: placement.NodeDraining},
		}, names: "change 2: set-node-state 9 draining: ", reason: placement.ErrUnknownNode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := placement.Forecast(v, placement.DefaultPolicy(), tc.change...)
			require.ErrorIs(t, err, placement.ErrRejected)
			require.ErrorIs(t, err, tc.reason)
			require.ErrorContains(t, err, tc.names)
			require.Equal(t, digest, v.Digest())
			require.Equal(t, digest, reg.View().Digest())
		})
	}
}

// TestForecastLeavesViewUntouched: a forecast that moves, splits and
// merges changes neither the view, its stats, nor the registry.
func TestForecastLeavesViewUntouched(t *testing.T) {
	reg := skewedRegistry(t, skewedCounts)
	// One shard over the split threshold, so the forecast splits too.
	require.NoError(t, reg.ReportStats(1, placement.Stats{Keys: 50_000, Bytes: 2 << 30}))
	v := reg.View()
	digest := v.Digest()
	stats, _ := v.Stats(1)
	fc, err := placement.Forecast(v, placement.DefaultPolicy(), placement.AddNode{Node: 9})
	require.NoError(t, err)
	require.Positive(t, fc.Splits)
	require.Equal(t, digest, v.Digest())
	require.Equal(t, digest, reg.View().Digest())
	after, _ := v.Stats(1)
	require.Equal(t, stats, after)
	_, ok := v.Node(9)
	require.False(t, ok)
}

// TestForecastWhileRegistryWrites: forecasts on a View while the registry
// applies and takes stats (run with -race): the copy is the forecast's.
func TestForecastWhileRegistryWrites(t *testing.T) {
	reg := skewedRegistry(t, []int{20, 10})
	v := reg.View()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			_ = reg.ReportStats(placement.ShardID(1+i%30), placement.Stats{Keys: 30_000, Bytes: 100 << 20})
			_ = reg.View()
		}
	}()
	for range 4 {
		_, err := placement.Forecast(v, placement.DefaultPolicy(), placement.AddNode{Node: 3})
		require.NoError(t, err)
	}
	wg.Wait()
}

// TestForecastCopyRate: moves that take time keep to the windows and take
// more ticks than instant ones, for the same moves; the ETA is the ticks'
// time.
func TestForecastCopyRate(t *testing.T) {
	v := skewedRegistry(t, skewedCounts).View()
	pol := placement.DefaultPolicy()
	instant, err := placement.Forecast(v, pol, placement.AddNode{Node: 9})
	require.NoError(t, err)
	slow := placement.Forecaster{CopyRate: 2 << 20, TickInterval: 10 * time.Second} // 64–448 MiB at 2 MiB/s: 32–224 s a move
	timed, err := slow.Forecast(v, pol, placement.AddNode{Node: 9})
	require.NoError(t, err)
	require.True(t, timed.Converged)
	require.Greater(t, timed.Ticks, instant.Ticks)
	require.True(t, within(float64(timed.BytesMoved), float64(instant.BytesMoved), 0.05))
	require.Equal(t, time.Duration(timed.Ticks)*10*time.Second, timed.ETA)
	require.Zero(t, timed.Aborted)
}

// TestForecastCap: a forecast stopped by MaxTicks says it did not
// converge.
func TestForecastCap(t *testing.T) {
	v := skewedRegistry(t, skewedCounts).View()
	fc, err := placement.Forecaster{MaxTicks: 2}.Forecast(v, placement.DefaultPolicy(), placement.AddNode{Node: 9})
	require.NoError(t, err)
	require.False(t, fc.Converged)
	require.Equal(t, 2, fc.Ticks)
	require.Contains(t, fc.String(), "not converged")
}

// TestForecastInvalid: an invalid Forecaster field or policy is
// ErrInvalidConfig.
func TestForecastInvalid(t *testing.T) {
	v := placement.NewShardRegistry().View()
	for _, f := range []placement.Forecaster{
		{CopyRate: -1}, {CopyRate: math.NaN()}, {CopyRate: math.Inf(1)},
		{MoveSetup: -1}, {TickInterval: -1}, {MaxActionsPerTick: -1}, {MaxTicks: -1},
	} {
		_, err := f.Forecast(v, placement.DefaultPolicy())
		require.ErrorIs(t, err, placement.ErrInvalidConfig, "%+v", f)
	}
	_, err := placement.Forecast(v, placement.Policy{})
	require.True(t, errors.Is(err, placement.ErrInvalidConfig))
}
