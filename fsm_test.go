package placement

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestFSMApplyEntry(t *testing.T) {
	g := fixture(t)
	type applied struct {
		index uint64
		cmd   Command
	}
	var seen []applied
	f := NewFSM(g, WithApplyFunc(func(i uint64, c Command) { seen = append(seen, applied{i, c}) }))
	ok := PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}
	stale := PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2} // replayed: now stale
	res := f.Apply(&raft.Log{Index: 7, Type: raft.LogCommand, Data: Encode(ok, stale)})
	results, isResults := res.([]error)
	require.True(t, isResults)
	require.Len(t, results, 2)
	require.NoError(t, results[0])
	require.ErrorIs(t, results[1], ErrStaleEpoch)
	require.Equal(t, []applied{{7, ok}}, seen, "only applied commands are reported")
}

func TestFSMApplyCorruptEntry(t *testing.T) {
	g := fixture(t)
	before := dumpOf(g.View())
	f := NewFSM(g)
	entry := Encode(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})
	for _, bad := range [][]byte{nil, {0x00}, entry[:len(entry)-1], append(entry, 0)} {
		res := f.ApplyEntry(1, bad)
		err, isErr := res.(error)
		require.True(t, isErr)
		require.ErrorIs(t, err, ErrCorruptCommand)
	}
	require.Equal(t, before, dumpOf(g.View()))
}

// replicated drops the soft stats, which snapshots do not carry.
func replicated(v View) dump {
	d := dumpOf(v)
	d.Stats = map[ShardID]Stats{}
	return d
}

func snapshotBytes(t require.TestingT, v View) []byte {
	var buf bytes.Buffer
	require.NoError(t, v.WriteSnapshot(&buf))
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := NewShardRegistry()
		for i := rapid.IntRange(0, 80).Draw(t, "steps"); i > 0; i-- {
			_ = g.Apply(genCommand(t, g.View()))
		}
		v := g.View()
		snap := snapshotBytes(t, v)
		restored := NewShardRegistry()
		require.NoError(t, restored.Apply(AddNode{Node: 99}), "restore replaces whatever was there")
		require.NoError(t, restored.ReadSnapshot(bytes.NewReader(snap)))
		rv := restored.View()
		require.Equal(t, replicated(v), replicated(rv))
		require.NoError(t, checkInvariants(rv))
		require.Equal(t, snap, snapshotBytes(t, rv), "a restored map snapshots byte-identically")
		// The restored registry goes on exactly like the original.
		cmd := genCommand(t, v)
		require.Equal(t, g.Apply(cmd) == nil, restored.Apply(cmd) == nil)
		require.Equal(t, replicated(g.View()), replicated(restored.View()))
	})
}

func TestSnapshotRejectsCorruption(t *testing.T) {
	g := fixture(t)
	mustApply(t, g, PlaceSplit{Shard: 3, Epoch: 1, SplitKey: key("w")})
	snap := snapshotBytes(t, g.View())
	victim := NewShardRegistry()
	require.NoError(t, victim.Apply(AddNode{Node: 42}))
	before := dumpOf(victim.View())
	for n := 0; n < len(snap); n++ {
		err := victim.ReadSnapshot(bytes.NewReader(snap[:n]))
		require.ErrorIs(t, err, ErrCorruptSnapshot, "prefix %d", n)
	}
	for i := range snap {
		bad := append([]byte(nil), snap...)
		bad[i] ^= 0x41
		require.ErrorIs(t, victim.ReadSnapshot(bytes.NewReader(bad)), ErrCorruptSnapshot, "flip at %d", i)
	}
	require.ErrorIs(t, victim.ReadSnapshot(bytes.NewReader(append(snap, 0))), ErrCorruptSnapshot)
	require.Equal(t, before, dumpOf(victim.View()), "a rejected snapshot changed the registry")
}

// A map with a rebalancing flag set snapshots as version 2, carrying the
// flags, and restores them; any corruption of it is rejected. With no flag
// set it stays version 1, which older releases read.
func TestSnapshotCarriesRebalancingFlags(t *testing.T) {
	g := fixture(t)
	require.Equal(t, byte(snapshotVersion), snapshotBytes(t, g.View())[len(snapshotMagic)])
	require.ErrorIs(t, g.Apply(SetRebalancing{Bytes: true}), ErrFormatVersion, "format 1 holds no flags")
	mustApply(t, g, SetFormatVersion{Version: 2}, SetRebalancing{Bytes: true})
	snap := snapshotBytes(t, g.View())
	require.Equal(t, byte(snapshotVersionFlags), snap[len(snapshotMagic)])
	restored := NewShardRegistry()
	require.NoError(t, restored.ReadSnapshot(bytes.NewReader(snap)))
	require.Equal(t, SetRebalancing{Bytes: true}, restored.View().Rebalancing())
	require.Equal(t, replicated(g.View()), replicated(restored.View()))
	for i := range snap {
		bad := append([]byte(nil), snap...)
		bad[i] ^= 0x41
		require.ErrorIs(t, restored.ReadSnapshot(bytes.NewReader(bad)), ErrCorruptSnapshot, "flip at %d", i)
	}
	// Version 2 with no flag set is not how it is written: rejected.
	zero := forge(func(b []byte) []byte { return b })
	zero[len(snapshotMagic)] = snapshotVersionFlags
	body := append(zero[:len(snapshotMagic)+1:len(snapshotMagic)+1], 1, 0, 1, 0, 0)
	require.ErrorIs(t, restored.ReadSnapshot(bytes.NewReader(binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli)))), ErrCorruptSnapshot)
}

type memSink struct {
	bytes.Buffer
	cancelled, closed bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

func TestFSMSnapshotIsStableWhileApplying(t *testing.T) {
	g := fixture(t)
	f := NewFSM(g)
	want := snapshotBytes(t, g.View())
	snap, err := f.Snapshot()
	require.NoError(t, err)
	mustApply(t, g, PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, AddNode{Node: 9})
	sink := &memSink{}
	require.NoError(t, snap.Persist(sink))
	snap.Release()
	require.True(t, sink.closed)
	require.Equal(t, want, sink.Bytes(), "the snapshot is of the map when Snapshot was called")

	other := NewShardRegistry()
	require.NoError(t, NewFSM(other).Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))))
	require.Equal(t, ShardID(4), other.View().NextShardID(), "restore keeps the ID counter")
}

// forge builds a snapshot with a valid checksum around a body, so the
// structural checks, not the checksum, must reject it.
func forge(body func(b []byte) []byte) []byte {
	out := append([]byte(snapshotMagic), snapshotVersion)
	out = body(out)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// shardBytes appends one shard record.
func shardBytes(b []byte, id uint64, start, end []byte, node, epoch uint64) []byte {
	b = binary.AppendUvarint(b, id)
	b = appendKey(b, start)
	b = appendKey(b, end)
	b = binary.AppendUvarint(b, node)
	return binary.AppendUvarint(b, epoch)
}

func TestSnapshotRejectsImpossibleStates(t *testing.T) {
	nodes := func(b []byte, ids ...uint64) []byte {
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, id := range ids {
			b = binary.AppendUvarint(b, id)
			b = binary.AppendUvarint(b, uint64(NodeUp))
		}
		return b
	}
	tests := []struct {
		name string
		body func(b []byte) []byte
	}{
		{name: "next ID zero", body: func(b []byte) []byte {
			return binary.AppendUvarint(nodes(binary.AppendUvarint(b, 0)), 0)
		}},
		{name: "nodes out of order", body: func(b []byte) []byte {
			return binary.AppendUvarint(nodes(binary.AppendUvarint(b, 1), 2, 1), 0)
		}},
		{name: "node zero", body: func(b []byte) []byte {
			return binary.AppendUvarint(nodes(binary.AppendUvarint(b, 1), 0), 0)
		}},
		{name: "shard ID not below next ID", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 2), 1), 1)
			return shardBytes(b, 2, nil, nil, 1, 1)
		}},
		{name: "epoch zero", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 2), 1), 1)
			return shardBytes(b, 1, nil, nil, 1, 0)
		}},
		{name: "unknown node", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 2), 1), 1)
			return shardBytes(b, 1, nil, nil, 7, 1)
		}},
		{name: "overlapping shards", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 3), 1), 2)
			b = shardBytes(b, 1, nil, []byte("m"), 1, 1)
			return shardBytes(b, 2, []byte("k"), nil, 1, 1)
		}},
		{name: "shards out of order", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 3), 1), 2)
			b = shardBytes(b, 1, []byte("m"), nil, 1, 1)
			return shardBytes(b, 2, nil, []byte("a"), 1, 1)
		}},
		{name: "duplicate shard ID", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 3), 1), 2)
			b = shardBytes(b, 1, nil, []byte("m"), 1, 1)
			return shardBytes(b, 1, []byte("m"), nil, 1, 1)
		}},
		{name: "node state 257 (not up)", body: func(b []byte) []byte {
			b = binary.AppendUvarint(b, 1)
			b = binary.AppendUvarint(b, 1)
			b = binary.AppendUvarint(b, 1)
			b = binary.AppendUvarint(b, 257) // would narrow to 1, NodeUp
			return binary.AppendUvarint(b, 0)
		}},
		{name: "lost node at format version 1", body: func(b []byte) []byte {
			b = binary.AppendUvarint(b, 1)
			b = binary.AppendUvarint(b, 1)
			b = binary.AppendUvarint(b, 1)
			b = binary.AppendUvarint(b, uint64(NodeLost))
			return binary.AppendUvarint(b, 0)
		}},
		{name: "empty range", body: func(b []byte) []byte {
			b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 2), 1), 1)
			return shardBytes(b, 1, []byte("m"), []byte("m"), 1, 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := fixture(t)
			before := dumpOf(g.View())
			err := g.ReadSnapshot(bytes.NewReader(forge(tt.body)))
			require.ErrorIs(t, err, ErrCorruptSnapshot)
			require.Equal(t, before, dumpOf(g.View()))
		})
	}
	// The forging itself is sound: a well-formed body restores.
	ok := forge(func(b []byte) []byte {
		b = binary.AppendUvarint(nodes(binary.AppendUvarint(b, 3), 1), 2)
		b = shardBytes(b, 1, nil, []byte("m"), 1, 1)
		return shardBytes(b, 2, []byte("m"), nil, 1, 4)
	})
	g := NewShardRegistry()
	require.NoError(t, g.ReadSnapshot(bytes.NewReader(ok)))
	require.Equal(t, 2, g.View().ShardCount())
	require.NoError(t, checkInvariants(g.View()))
}

// An entry of a newer format stops the replica loudly instead of being
// skipped (which would leave its map behind the others' for good).
func TestFSMStopsOnNewerFormat(t *testing.T) {
	f := NewFSM(fixture(t))
	entry := []byte{entryMagic, formatVersion + 1, 0}
	require.True(t, IsEntry(entry), "every version of the header is ours")
	_, err := Decode(entry)
	require.ErrorIs(t, err, ErrNewerFormat)
	require.ErrorIs(t, err, ErrCorruptCommand)
	require.PanicsWithValue(t, "placement: log entry 7: placement: corrupt command: placement: entry from a newer release: "+
		"format version 7 (this build reads up to 6): upgrade this server before it applies more of the log",
		func() { f.ApplyEntry(7, entry) })
	// Entries stay at the lowest version that carries them, so a release
	// that reads only version 1 applies every placement command.
	require.Equal(t, byte(baseVersion), Encode(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2})[1])
	require.Equal(t, byte(versionFlags), Encode(SetRebalancing{Bytes: true})[1])
	require.Equal(t, byte(versionFlags), Encode(SetNodeState{Node: 1, State: NodeLost})[1])
	require.Equal(t, byte(versionMoves), Encode(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, CompleteTransfer{Shard: 1, Epoch: 2})[1])
	require.Equal(t, byte(versionMoves), Encode(SetRebalancing{Bytes: true}, AbortTransfer{Shard: 1, Epoch: 2})[1])
	require.Equal(t, byte(versionDest), Encode(CompleteTransfer{Shard: 1, Epoch: 2, To: 2})[1])
}

// closeCounter is a snapshot reader that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// Restore tells the restore function the map before and after, so that a
// host acting on changes misses none that came by snapshot; the apply
// function hears of none of them.
func TestFSMRestoreCallsRestoreFunc(t *testing.T) {
	leader := diffRegistry(t)
	mustApply(t, leader,
		PlaceSplit{Shard: 1, Epoch: 1, SplitKey: key("f")},
		PlaceTransfer{Shard: 2, Epoch: 1, From: 2, To: 3},
		AddNode{Node: 4},
	)
	snap := snapshotBytes(t, leader.View())

	follower := diffRegistry(t)
	before := follower.View()
	type restored struct{ prev, next View }
	var calls []restored
	applied := 0
	f := NewFSM(follower,
		WithApplyFunc(func(uint64, Command) { applied++ }),
		WithEffectFunc(func(uint64, Effect) { applied++ }),
		WithRestoreFunc(func(prev, next View) { calls = append(calls, restored{prev, next}) }),
	)
	rc := &closeCounter{Reader: bytes.NewReader(snap)}
	require.NoError(t, f.Restore(rc))
	require.Equal(t, 1, rc.closed)
	require.Len(t, calls, 1)
	require.Zero(t, applied, "no command reached the apply functions")
	require.Equal(t, dumpOf(before), dumpOf(calls[0].prev), "prev is the map before the restore")
	require.Equal(t, dumpOf(follower.View()), dumpOf(calls[0].next), "next is the map after it")
	require.Equal(t, replicated(leader.View()), replicated(calls[0].next))
	require.Equal(t, []string{
		"node 4 added (up)",
		`shard 1 range ["a", "m") -> ["a", "f")`,
		"shard 2 moving: node 2 -> 3",
		`shard 4 added: ["f", "m") on node 1`,
	}, changeStrings(slices.Collect(Diff(calls[0].prev, calls[0].next))))

	// The views stay as they were while the registry goes on.
	mustApply(t, follower, CompleteTransfer{Shard: 2, Epoch: 2})
	require.Equal(t, replicated(leader.View()), replicated(calls[0].next))

	// A failed restore changes nothing and calls nothing.
	bad := append([]byte(nil), snap...)
	bad[len(bad)-1] ^= 1
	rc = &closeCounter{Reader: bytes.NewReader(bad)}
	require.ErrorIs(t, f.Restore(rc), ErrCorruptSnapshot)
	require.Equal(t, 1, rc.closed)
	require.Len(t, calls, 1)

	// Restart from a snapshot: the registry starts empty, so every node
	// and shard is new.
	calls = nil
	fresh := NewFSM(NewShardRegistry(), WithRestoreFunc(func(prev, next View) { calls = append(calls, restored{prev, next}) }))
	require.NoError(t, fresh.Restore(io.NopCloser(bytes.NewReader(snap))))
	require.Len(t, calls, 1)
	require.Zero(t, calls[0].prev.ShardCount())
	require.Empty(t, calls[0].prev.Nodes())
	var added []Change
	for c := range Diff(calls[0].prev, calls[0].next) {
		require.Contains(t, []ChangeKind{ChangeNodeAdded, ChangeShardAdded}, c.Kind)
		added = append(added, c)
	}
	require.Len(t, added, 4+4)

	// Without a restore function Restore works as before.
	plain := NewShardRegistry()
	require.NoError(t, NewFSM(plain).Restore(io.NopCloser(bytes.NewReader(snap))))
	require.Equal(t, replicated(leader.View()), replicated(plain.View()))
}
