package placement

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func settingsPolicy() SetPolicy {
	p := DefaultPolicy()
	p.ImbalanceThreshold, p.StopBand = 0.37, 0.11
	p.MoveTimeout = 90 * time.Second
	p.InstantMoves = true
	p.MaxInflightBytesPerNode = 0
	p.DownTimeout = 45 * time.Minute
	return SetPolicy{Policy: p, MaxActionsPerTick: 7}
}

func TestSettingsCommandsRoundTripAndApply(t *testing.T) {
	until := time.Unix(1_900_000_000, 123)
	cmds := []Command{SetPause{Paused: true, Until: until}, settingsPolicy(), SetPause{Paused: true}, SetPause{}}
	entry := Encode(cmds...)
	require.Equal(t, byte(versionMoves), entry[1])
	got, err := Decode(entry)
	require.NoError(t, err)
	require.Len(t, got, len(cmds))
	require.True(t, got[0].(SetPause).Until.Equal(until))
	require.Equal(t, settingsPolicy(), got[1])
	require.Equal(t, entry, Encode(got...), "canonical")

	g := NewShardRegistry()
	require.ErrorIs(t, g.Apply(settingsPolicy()), ErrFormatVersion)
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	_, ok := g.View().Policy()
	require.False(t, ok)
	mustApply(t, g, got[0], got[1])
	require.Equal(t, SetPause{Paused: true, Until: time.Unix(0, until.UnixNano())}, g.View().Pause())
	pol, ok := g.View().Policy()
	require.True(t, ok)
	require.Equal(t, settingsPolicy(), pol)

	bad := settingsPolicy()
	bad.Policy.StopBand = 0.9 // above the trigger
	require.ErrorIs(t, g.Apply(bad), ErrInvalidCommand)
	bad = settingsPolicy()
	bad.MaxActionsPerTick = 0
	require.ErrorIs(t, g.Apply(bad), ErrInvalidCommand)
	require.ErrorIs(t, g.Apply(SetPause{Paused: true, Until: time.Unix(-5, 0)}), ErrInvalidCommand, "before 1970")
	require.ErrorIs(t, g.Apply(SetPause{Paused: true, Until: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}), ErrInvalidCommand, "past 2262")

	// Settings are replicated state: in the snapshot, restored exactly.
	var buf bytes.Buffer
	require.NoError(t, g.View().WriteSnapshot(&buf))
	h := NewShardRegistry()
	require.NoError(t, h.ReadSnapshot(bytes.NewReader(buf.Bytes())))
	require.Equal(t, g.View().Pause(), h.View().Pause())
	p2, _ := h.View().Policy()
	require.Equal(t, pol, p2)
	var again bytes.Buffer
	require.NoError(t, h.View().WriteSnapshot(&again))
	require.Equal(t, buf.Bytes(), again.Bytes())
}

func TestSettingsDecodeRejects(t *testing.T) {
	for name, entry := range map[string][]byte{
		"paused 2":        {entryMagic, versionMoves, 1, byte(TypeSetPause), 2, 0},
		"expiry overflow": append([]byte{entryMagic, versionMoves, 1, byte(TypeSetPause), 1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"truncated policy": append([]byte{entryMagic, versionMoves, 1, byte(TypeSetPolicy)},
			Encode(settingsPolicy())[4:10]...),
	} {
		_, err := Decode(entry)
		require.ErrorIs(t, err, ErrCorruptCommand, name)
	}
}

// Raising the format to v is written at entry version v, so a server that
// reads only older versions stops at it rather than rejecting it and then
// applying PlaceTransfer the old way.
func TestSetFormatVersionWrittenAtItsVersion(t *testing.T) {
	require.Equal(t, byte(versionFlags), Encode(SetFormatVersion{Version: 1})[1])
	require.Equal(t, byte(versionFlags), Encode(SetFormatVersion{Version: versionFlags})[1])
	require.Equal(t, byte(versionMoves), Encode(SetFormatVersion{Version: versionMoves})[1])
	require.Equal(t, byte(versionMoves), Encode(AddNode{Node: 1}, SetFormatVersion{Version: versionMoves})[1])
	require.Equal(t, byte(formatVersion), Encode(SetFormatVersion{Version: formatVersion + 7})[1])
	for _, v := range []uint64{1, versionFlags, versionMoves} {
		cmds, err := Decode(Encode(SetFormatVersion{Version: v}))
		require.NoError(t, err)
		require.Equal(t, []Command{SetFormatVersion{Version: v}}, cmds)
	}
}

// When a node took its state is replicated state: in the snapshot.
func TestNodeSinceInSnapshots(t *testing.T) {
	g := NewShardRegistry()
	at := time.Unix(1_800_000_000, 7)
	require.NoError(t, g.ApplyAt(SetFormatVersion{Version: FormatVersion}, at))
	require.NoError(t, g.ApplyAt(AddNode{Node: 1}, at))
	require.NoError(t, g.ApplyAt(SetNodeState{Node: 1, State: NodeDown}, at.Add(time.Hour)))
	require.NoError(t, g.ApplyAt(SetNodeState{Node: 1, State: NodeDown}, at.Add(2*time.Hour)), "no change: the time stays")
	var buf bytes.Buffer
	require.NoError(t, g.View().WriteSnapshot(&buf))
	h := NewShardRegistry()
	require.NoError(t, h.ReadSnapshot(&buf))
	since, ok := h.View().NodeSince(1)
	require.True(t, ok)
	require.True(t, since.Equal(at.Add(time.Hour)), "since %v", since)
}

// Before format version 3 no state time is recorded: a replica restored
// from a version 2 snapshot (which has none) and one that replayed the log
// write the same snapshots once the version is raised.
func TestNodeSinceOnlyFromVersion3(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	a := NewShardRegistry()
	for _, c := range []Command{SetFormatVersion{Version: versionFlags}, AddNode{Node: 1}, AddNode{Node: 2}, SetNodeState{Node: 2, State: NodeDown}} {
		require.NoError(t, a.ApplyAt(c, at))
	}
	var v2 bytes.Buffer
	require.NoError(t, a.View().WriteSnapshot(&v2))
	b := NewShardRegistry()
	require.NoError(t, b.ReadSnapshot(&v2))
	for _, g := range []*ShardRegistry{a, b} {
		require.NoError(t, g.ApplyAt(SetFormatVersion{Version: versionMoves}, at))
	}
	require.Equal(t, snapshotBytes(t, a.View()), snapshotBytes(t, b.View()))
	since, _ := a.View().NodeSince(2)
	require.True(t, since.IsZero())
}

// The leader ends an expired pause only if it is still the pause in
// force: a newer pause, committed in between, stays.
func TestExpiryEndsOnlyItsOwnPause(t *testing.T) {
	g := NewShardRegistry()
	mustApply(t, g, SetFormatVersion{Version: FormatVersion})
	first := time.Unix(1_800_000_000, 0)
	mustApply(t, g, SetPause{Paused: true, Until: first})
	mustApply(t, g, SetPause{Paused: true}) // the operator pauses anew
	require.ErrorIs(t, g.Apply(SetPause{Until: first}), ErrStaleEpoch)
	require.Equal(t, SetPause{Paused: true}, g.View().Pause())

	mustApply(t, g, SetPause{Paused: true, Until: first})
	mustApply(t, g, SetPause{Until: first}) // the expiry of the pause in force
	require.Equal(t, SetPause{}, g.View().Pause())
	require.ErrorIs(t, g.Apply(SetPause{Until: first}), ErrStaleEpoch, "nothing to end")
}
