package placement_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/placementtest"
	"pgregory.net/rapid"
)

// oldRelease stands in for a server of an older release: it reads entries
// up to format version max. The real one stops (panics) at a newer entry,
// then again at every restart; this one records the entry as a violation
// and applies nothing, so a test can report it.
type oldRelease struct {
	raft.FSM
	mu         sync.Mutex
	max        byte
	violations []string
}

func (o *oldRelease) Apply(l *raft.Log) any {
	o.mu.Lock()
	if placement.IsEntry(l.Data) && l.Data[1] > o.max {
		cmds, _ := placement.Decode(l.Data)
		o.violations = append(o.violations, fmt.Sprintf("entry %d at format %d: %v", l.Index, l.Data[1], cmds))
		o.mu.Unlock()
		return nil
	}
	o.mu.Unlock()
	return o.FSM.Apply(l)
}

// upgrade makes the server read format version v: its new release.
func (o *oldRelease) upgrade(v byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.max = v
}

func (o *oldRelease) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.violations...)
}

// gateHarness is the skewed map at format version v on a fake raft whose
// FSM is an older release that reads only v, with a scheduler of 3
// actions a tick, instant moves off, and a DownTimeout.
func gateHarness(t *testing.T, v uint64, clock *fakeClock) (*placement.ShardRegistry, *placementtest.FakeRaft, *oldRelease, *placement.Scheduler) {
	t.Helper()
	reg := placement.NewShardRegistry()
	if v > 1 {
		require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: v}))
	}
	for n := placement.NodeID(1); n <= 3; n++ {
		require.NoError(t, reg.Apply(placement.AddNode{Node: n}))
	}
	for i := 0; i < 12; i++ {
		r := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		require.NoError(t, reg.Apply(placement.CreateShard{Range: r, Node: 1}))
	}
	old := &oldRelease{FSM: placement.NewFSM(reg), max: byte(v)}
	var index uint64
	fake := placementtest.NewFakeRaft(func(_ uint64, entry []byte) any {
		index++
		return old.Apply(&raft.Log{Index: index, Data: entry, AppendedAt: clock.Now()})
	})
	fake.SetLeader(true)
	cfg := placement.DefaultConfig()
	cfg.MaxActionsPerTick = 3
	cfg.Clock = clock.Now
	cfg.Policy.DownTimeout = time.Minute
	s, err := placement.New(fake, reg, cfg)
	require.NoError(t, err)
	return reg, fake, old, s
}

// At every cluster format version, no proposal path hands raft an entry
// newer than the cluster's format: the Scheduler's methods refuse what the
// version does not enable with ErrFormatVersion before proposing, and its
// ticks (plans, hysteresis records, aborts, lost nodes, pause expiry)
// propose nothing newer.
func TestNoEntryNewerThanTheClusterFormat(t *testing.T) {
	for v := uint64(1); v <= placement.FormatVersion; v++ {
		t.Run(fmt.Sprintf("format %d", v), func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			reg, fake, old, s := gateHarness(t, v, clock)
			ctx := context.Background()
			want := func(err error, need uint64) {
				t.Helper()
				if v < need {
					require.ErrorIs(t, err, placement.ErrFormatVersion)
				} else {
					require.NoError(t, err)
				}
			}
			rep := tick(t, s)
			require.NotEmpty(t, rep.Commands)
			entries := len(fake.Entries())
			want(s.Pause(ctx, time.Hour), 3)
			want(s.Resume(ctx), 3)
			pol, _, _ := s.Settings()
			want(s.SetPolicy(ctx, pol, 3), 3)
			if v < 3 {
				require.Len(t, fake.Entries(), entries, "refused before raft saw them")
			}
			var moves []placement.Move
			for m := range reg.View().Moves() {
				moves = append(moves, m)
			}
			if v < 3 {
				require.Empty(t, moves, "one-phase transfers before version 3")
				fabricated := placement.Move{Shard: 1, From: 1, To: 2, Epoch: 2}
				want(s.CompleteTransfer(ctx, fabricated), 3)
				want(s.AbortTransfer(ctx, fabricated), 3)
			} else {
				require.Len(t, moves, 3)
				require.NoError(t, s.CompleteTransfer(ctx, moves[0]))
				require.NoError(t, s.CompleteTransfer(ctx, moves[0]), "a retry")
				require.NoError(t, s.AbortTransfer(ctx, moves[1]))
			}
			// The tick's own chores: a node down past DownTimeout, moves
			// past MoveTimeout, a pause that expires.
			_, err := fake.Apply(ctx, placement.Encode(placement.SetNodeState{Node: 3, State: placement.NodeDown}))
			require.NoError(t, err)
			for range 4 {
				tick(t, s)
				clock.Advance(20 * time.Minute)
			}
			require.Empty(t, old.seen(), "entries an older server cannot read")
			if v >= 2 {
				n, _ := reg.View().Node(3)
				require.Equal(t, placement.NodeLost, n.State)
			}
		})
	}
}

// CheckProposal names what a version enables, and refuses what the wire
// cannot carry as it is, whatever the version.
func TestCheckProposal(t *testing.T) {
	reg := placement.NewShardRegistry()
	v1 := reg.View()
	require.NoError(t, reg.Apply(placement.SetFormatVersion{Version: placement.FormatVersion}))
	newest := reg.View()
	bad := placement.DefaultPolicy()
	bad.DownTimeout = -time.Second
	gapped := placement.DefaultPolicy()
	gapped.RebalanceWindows[1] = placement.TimeOfDayRange{Start: 60, End: 120}
	slowCopy := placement.DefaultPolicy()
	slowCopy.MinCopyRate = placement.MinCopyRateFloor - 1
	tests := []struct {
		name string
		cmd  placement.Command
		need uint64 // 0: invalid at every version
	}{
		{name: "transfer", cmd: placement.PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, need: 1},
		{name: "raise the version", cmd: placement.SetFormatVersion{Version: placement.FormatVersion}, need: 1},
		{name: "rebalancing", cmd: placement.SetRebalancing{Bytes: true}, need: 2},
		{name: "lost", cmd: placement.SetNodeState{Node: 1, State: placement.NodeLost}, need: 2},
		{name: "complete", cmd: placement.CompleteTransfer{Shard: 1, Epoch: 2}, need: 3},
		{name: "abort", cmd: placement.AbortTransfer{Shard: 1, Epoch: 2}, need: 3},
		{name: "pause", cmd: placement.SetPause{Paused: true}, need: 3},
		{name: "policy", cmd: placement.SetPolicy{Policy: placement.DefaultPolicy(), MaxActionsPerTick: 1}, need: 3},
		{name: "complete to", cmd: placement.CompleteTransfer{Shard: 1, Epoch: 2, To: 2}, need: 4},
		{name: "policy with its own stability", cmd: placement.SetPolicy{Policy: stableGatePolicy(), MaxActionsPerTick: 1}, need: 5},
		{name: "policy with its own copy rate", cmd: placement.SetPolicy{Policy: copyRatePolicy(), MaxActionsPerTick: 1}, need: 6},
		{name: "policy with a churn budget", cmd: placement.SetPolicy{Policy: impactPolicy(), MaxActionsPerTick: 1}, need: 6},
		{name: "policy with rebalancing windows", cmd: placement.SetPolicy{Policy: windowsPolicy(), MaxActionsPerTick: 1}, need: 6},
		{name: "windows with a gap", cmd: placement.SetPolicy{Policy: gapped, MaxActionsPerTick: 1}},
		{name: "copy rate below the floor", cmd: placement.SetPolicy{Policy: slowCopy, MaxActionsPerTick: 1}},
		{name: "pause past 2262", cmd: placement.SetPause{Paused: true, Until: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "pause before 1970", cmd: placement.SetPause{Paused: true, Until: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "negative down timeout", cmd: placement.SetPolicy{Policy: bad, MaxActionsPerTick: 1}},
		{name: "no actions", cmd: placement.SetPolicy{Policy: placement.DefaultPolicy()}},
		{name: "bad state", cmd: placement.SetNodeState{Node: 1, State: 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.need == 0 {
				require.ErrorIs(t, placement.CheckProposal(newest, tc.cmd), placement.ErrInvalidCommand)
				return
			}
			require.NoError(t, placement.CheckProposal(newest, tc.cmd))
			if tc.need > 1 {
				require.ErrorIs(t, placement.CheckProposal(v1, tc.cmd), placement.ErrFormatVersion)
			} else {
				require.NoError(t, placement.CheckProposal(v1, tc.cmd))
			}
		})
	}
}

// Encode refuses, rather than rewrites, what the wire cannot carry: a
// pause past 2262 used to encode as "no expiry" (paused for ever), a
// negative duration as 0.
func TestEncodeRefusesWhatItWouldRewrite(t *testing.T) {
	far := placement.SetPause{Paused: true, Until: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}
	require.Panics(t, func() { placement.Encode(far) })
	neg := placement.DefaultPolicy()
	neg.DownTimeout = -time.Nanosecond
	require.Panics(t, func() { placement.Encode(placement.SetPolicy{Policy: neg, MaxActionsPerTick: 1}) })
	neg = placement.DefaultPolicy()
	neg.MaxMovesPerNode = -1
	require.Panics(t, func() { placement.Encode(placement.SetPolicy{Policy: neg, MaxActionsPerTick: 1}) })
	gapped := placement.DefaultPolicy() // the packed windows would drop the gap
	gapped.RebalanceWindows[2] = placement.TimeOfDayRange{Start: 60, End: 120}
	require.Panics(t, func() { placement.Encode(placement.SetPolicy{Policy: gapped, MaxActionsPerTick: 1}) })

	// The Scheduler refuses them first, with an error.
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	_, fake, newSched := movesHarness(t, clock, true)
	s := newSched()
	entries := len(fake.Entries())
	require.ErrorIs(t, s.Pause(context.Background(), 250*365*24*time.Hour), placement.ErrInvalidCommand)
	neg.MaxMovesPerNode = 1
	neg.DownTimeout = -time.Second
	require.ErrorIs(t, s.SetPolicy(context.Background(), neg, 3), placement.ErrInvalidCommand)
	require.Len(t, fake.Entries(), entries)
}

// Every value of a SetPolicy within the wire's ranges round-trips through
// Encode and Decode unchanged, durations well past int32's 2.1 seconds
// among them; on a 32-bit server (CI runs this test with GOARCH=386) too.
func TestPolicyWireFixedWidth(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := placement.DefaultPolicy()
		p.MoveTimeout = time.Duration(rapid.Int64Range(0, 1<<62).Draw(t, "move"))
		p.DownTimeout = time.Duration(rapid.Int64Range(0, 1<<62).Draw(t, "down"))
		p.MaxMovesPerNode = rapid.IntRange(0, 1<<31-1).Draw(t, "moves")
		p.MaxInflightPerNode = rapid.IntRange(0, 1<<31-1).Draw(t, "inflight")
		p.MinGain = rapid.Float64Range(0, 1).Draw(t, "gain")
		p.MoveCooldown = time.Duration(rapid.Int64Range(0, 1<<62).Draw(t, "cooldown"))
		p.LoadHalfLife = rapid.Uint32().Draw(t, "half-life")
		p.MinCopyRate = rapid.Uint64().Draw(t, "copy rate")
		c := placement.SetPolicy{Policy: p, MaxActionsPerTick: rapid.IntRange(0, 1<<31-1).Draw(t, "actions")}
		got, err := placement.Decode(placement.Encode(c))
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != placement.Command(c) {
			t.Fatalf("decoded %+v, encoded %+v", got[0], c)
		}
	})
	// The ten-minute default and a five-second timeout, as a 32-bit
	// server once mangled them (705ms, and 0).
	for _, d := range []time.Duration{5 * time.Second, 10 * time.Minute} {
		p := placement.DefaultPolicy()
		p.MoveTimeout = d
		got, err := placement.Decode(placement.Encode(placement.SetPolicy{Policy: p, MaxActionsPerTick: 5}))
		require.NoError(t, err)
		require.Equal(t, d, got[0].(placement.SetPolicy).Policy.MoveTimeout)
	}
}

// A SetPolicy committed before the minimum timeouts (500ms) replays as it
// applied then, so replicas that replay an old log agree with those that
// applied it; it can no longer be proposed, and the leader times nothing
// out faster than the minimum.
func TestPolicyBelowTheMinimumsReplays(t *testing.T) {
	old := placement.DefaultPolicy()
	old.MoveTimeout = 500 * time.Millisecond
	cmd := placement.SetPolicy{Policy: old, MaxActionsPerTick: 3}
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	reg, fake, newSched := movesHarness(t, clock, true)
	require.ErrorIs(t, placement.CheckProposal(reg.View(), cmd), placement.ErrInvalidCommand)
	_, err := fake.Apply(context.Background(), placement.Encode(cmd)) // as an older build proposed it
	require.NoError(t, err)
	got, ok := reg.View().Policy()
	require.True(t, ok, "applied, as when it was committed")
	require.Equal(t, cmd, got)

	var buf bytes.Buffer
	require.NoError(t, reg.View().WriteSnapshot(&buf))
	restored := placement.NewShardRegistry()
	require.NoError(t, restored.ReadSnapshot(&buf), "and restores from a snapshot")

	s := newSched()
	pol, _, replicated := s.Settings()
	require.True(t, replicated)
	require.Equal(t, placement.MinMoveTimeout, pol.MoveTimeout)
	require.Len(t, tick(t, s).Commands, 3)
	clock.Advance(time.Second - time.Millisecond)
	require.Empty(t, tick(t, s).Aborted, "not before the minimum")
	clock.Advance(time.Millisecond)
	require.NotEmpty(t, tick(t, s).Aborted)
}

// stableGatePolicy has stability fields other than the defaults.
func stableGatePolicy() placement.Policy {
	p := placement.DefaultPolicy()
	p.MinGain = 0.5
	return p
}

// A SetPolicy with the default stability fields keeps wire type 13, which
// a release of format version 3 reads (with those fields at their
// defaults); other values take type 15 at format version 5, and a type 15
// entry carrying the defaults is refused, so every policy has one encoding.
func TestPolicyStabilityWire(t *testing.T) {
	def := placement.Encode(placement.SetPolicy{Policy: placement.DefaultPolicy(), MaxActionsPerTick: 5})
	require.Equal(t, []byte{0xB7, 3, 1, byte(placement.TypeSetPolicy)}, def[:4])
	ext := placement.Encode(placement.SetPolicy{Policy: stableGatePolicy(), MaxActionsPerTick: 5})
	require.Equal(t, []byte{0xB7, 5, 1, byte(placement.TypeSetPolicyExt)}, ext[:4])
	got, err := placement.Decode(ext)
	require.NoError(t, err)
	require.Equal(t, stableGatePolicy(), got[0].(placement.SetPolicy).Policy)

	// Type 15 with the default fields: the type 13 body, then 0.25, 30
	// minutes and 8 as the stability fields.
	forged := append([]byte{0xB7, 5, 1, byte(placement.TypeSetPolicyExt)}, def[4:]...)
	forged = binary.AppendUvarint(forged, math.Float64bits(0.25))
	forged = binary.AppendUvarint(forged, uint64(30*time.Minute))
	forged = binary.AppendUvarint(forged, 8)
	_, err = placement.Decode(forged)
	require.ErrorIs(t, err, placement.ErrCorruptCommand)
	require.ErrorContains(t, err, "default stability fields")
}

// copyRatePolicy has a MinCopyRate other than the default.
func copyRatePolicy() placement.Policy {
	p := placement.DefaultPolicy()
	p.MinCopyRate = 50 << 20
	return p
}

// A SetPolicy whose MinCopyRate differs from the default takes type 16 at
// format version 6, whatever its stability fields; the field is carried by
// tag, and an entry that carries it at its default, an unknown tag, tags
// out of order or none at all is refused, so every policy has one
// encoding. Types 13 and 15 decode with the default rate.
func TestPolicyFieldsWire(t *testing.T) {
	for _, p := range []placement.Policy{copyRatePolicy(), func() placement.Policy {
		p := copyRatePolicy()
		p.MinGain = 0.5
		return p
	}()} {
		entry := placement.Encode(placement.SetPolicy{Policy: p, MaxActionsPerTick: 5})
		require.Equal(t, []byte{0xB7, 6, 1, byte(placement.TypeSetPolicyFields)}, entry[:4])
		got, err := placement.Decode(entry)
		require.NoError(t, err)
		require.Equal(t, p, got[0].(placement.SetPolicy).Policy)
		require.Equal(t, placement.TypeSetPolicy, got[0].Type())
	}
	ext, err := placement.Decode(placement.Encode(placement.SetPolicy{Policy: stableGatePolicy(), MaxActionsPerTick: 5}))
	require.NoError(t, err)
	require.Equal(t, placement.DefaultPolicy().MinCopyRate, ext[0].(placement.SetPolicy).Policy.MinCopyRate)

	// The type 13 body of the default policy, then its stability fields:
	// what every forged type 16 below starts with.
	def := placement.Encode(placement.SetPolicy{Policy: placement.DefaultPolicy(), MaxActionsPerTick: 5})
	body := append([]byte{0xB7, 6, 1, byte(placement.TypeSetPolicyFields)}, def[4:]...)
	body = binary.AppendUvarint(body, math.Float64bits(0.25))
	body = binary.AppendUvarint(body, uint64(30*time.Minute))
	body = binary.AppendUvarint(body, 8)
	forge := func(fields ...uint64) []byte {
		b := append([]byte{}, body...)
		for _, f := range fields {
			b = binary.AppendUvarint(b, f)
		}
		return b
	}
	good := forge(1, 1, 50<<20)
	got, err := placement.Decode(good)
	require.NoError(t, err)
	require.Equal(t, copyRatePolicy(), got[0].(placement.SetPolicy).Policy)
	for _, tc := range []struct {
		name  string
		entry []byte
		want  string
	}{
		{name: "no fields", entry: forge(0), want: "with 0 tagged fields"},
		{name: "at its default", entry: forge(1, 1, 10<<20), want: "MinCopyRate at its default"},
		{name: "unknown tag", entry: forge(1, 7, 5), want: "tag 7 unknown"},
		{name: "tags out of order", entry: forge(2, 2, 5, 1, 50<<20), want: "tag 1 unknown or out of order"},
		{name: "windows not packed", entry: forge(1, 4, 7<<21), want: "RebalanceWindows: invalid value"},
		{name: "empty window", entry: forge(1, 4, 60*1441+60+1), want: "RebalanceWindows: invalid value"},
		{name: "window past midnight", entry: forge(1, 4, 1441*1441+1), want: "RebalanceWindows: invalid value"},
		{name: "tag zero", entry: forge(1, 0, 5), want: "tag 0 unknown"},
		{name: "more fields than known", entry: forge(7, 1, 50<<20, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1, 7, 1), want: "with 7 tagged fields"},
		{name: "truncated", entry: forge(1, 1), want: "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := placement.Decode(tc.entry)
			require.ErrorIs(t, err, placement.ErrCorruptCommand)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
