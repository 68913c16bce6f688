package placement

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// snapV3Began is the time of the entry that begins the first move of
// snapV3Registry.
var snapV3Began = time.Unix(1_700_000_000, 123)

// snapV3Registry returns a format-3 map with two moves in flight: shard 1
// from node 1 to node 2, begun at snapV3Began, and shard 3 from node 1 to
// node 3, begun at an unknown time.
func snapV3Registry(t *testing.T) *ShardRegistry {
	t.Helper()
	g := NewShardRegistry()
	mustApply(t, g,
		SetFormatVersion{Version: versionMoves},
		AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3}, AddNode{Node: 4},
		SetNodeState{Node: 4, State: NodeDraining},
		CreateShard{Range: KeyRange{Start: key("a"), End: key("m")}, Node: 1},
		CreateShard{Range: KeyRange{Start: key("m"), End: key("t")}, Node: 2},
		CreateShard{Range: KeyRange{Start: key("t")}, Node: 1},
		SetRebalancing{Load: true},
	)
	require.NoError(t, g.ApplyAt(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, snapV3Began))
	mustApply(t, g, PlaceTransfer{Shard: 3, Epoch: 1, From: 1, To: 3})
	require.NoError(t, g.ReportStats(1, Stats{Keys: 10, Bytes: 100}))
	return g
}

// snapV3Framed frames body (what follows the header) as a version 3
// snapshot with the given chunk lengths (the rest in one last chunk), end
// marker and a valid checksum, so structural checks, not the checksum, must
// reject what is wrong with it.
func snapV3Framed(body []byte, chunks ...int) []byte {
	out := append([]byte(snapshotMagic), snapshotVersionMoves)
	for _, n := range chunks {
		out = binary.BigEndian.AppendUint32(out, uint32(n))
		out = append(out, body[:n]...)
		body = body[n:]
	}
	if len(body) > 0 {
		out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
		out = append(out, body...)
	}
	out = binary.BigEndian.AppendUint32(out, 0)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// snapV3Chunks parses the framing of a version 3 snapshot: the chunk
// lengths and the body. It fails t on anything but a well-framed snapshot
// that ends exactly at the end of snap.
func snapV3Chunks(t *testing.T, snap []byte) (lengths []int, body []byte) {
	t.Helper()
	require.Equal(t, []byte(snapshotMagic+"\x03"), snap[:snapshotHeaderLen])
	off := snapshotHeaderLen
	for {
		n := int(binary.BigEndian.Uint32(snap[off:]))
		off += 4
		if n == 0 {
			break
		}
		lengths = append(lengths, n)
		body = append(body, snap[off:off+n]...)
		off += n
	}
	require.Equal(t, crc32.Checksum(snap[:off], castagnoli), binary.BigEndian.Uint32(snap[off:]))
	require.Equal(t, len(snap), off+4)
	return lengths, body
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A map at format version 3 snapshots as version 3 with its moves in
// flight, which a restore brings back with their times; the restored map
// snapshots byte-identically and goes on like the original.
func TestSnapshotV3RoundTripWithMoves(t *testing.T) {
	g := snapV3Registry(t)
	v := g.View()
	snap := snapshotBytes(t, v)
	require.Equal(t, byte(snapshotVersionMoves), snap[len(snapshotMagic)])

	restored := NewShardRegistry()
	require.NoError(t, restored.Apply(AddNode{Node: 99}), "restore replaces whatever was there")
	require.NoError(t, restored.ReadSnapshot(bytes.NewReader(snap)))
	rv := restored.View()
	want := []Move{
		{Shard: 1, From: 1, To: 2, Epoch: 2, Began: time.Unix(0, snapV3Began.UnixNano())},
		{Shard: 3, From: 1, To: 3, Epoch: 2},
	}
	require.Equal(t, want, slices.Collect(v.Moves()))
	require.Equal(t, want, slices.Collect(rv.Moves()))
	for id, to := range map[ShardID]NodeID{1: 2, 2: 0, 3: 3} {
		sh, ok := rv.Shard(id)
		require.True(t, ok)
		require.Equal(t, to, sh.MovingTo, "shard %d", id)
	}
	require.Equal(t, uint64(versionMoves), rv.FormatVersion())
	require.Equal(t, SetRebalancing{Load: true}, rv.Rebalancing())
	require.Equal(t, replicated(v), replicated(rv))
	require.NoError(t, checkInvariants(rv))
	require.Equal(t, snap, snapshotBytes(t, rv), "a restored map snapshots byte-identically")

	// The restored map completes and aborts the moves like the original.
	for _, reg := range []*ShardRegistry{g, restored} {
		mustApply(t, reg, CompleteTransfer{Shard: 1, Epoch: 2}, AbortTransfer{Shard: 3, Epoch: 2})
	}
	require.Equal(t, replicated(g.View()), replicated(restored.View()))
	require.Zero(t, restored.View().MoveCount())
	sh, _ := restored.View().Shard(1)
	require.Equal(t, NodeID(2), sh.Node)

	// With no move in flight, format 3 still writes version 3.
	require.Equal(t, byte(snapshotVersionMoves), snapshotBytes(t, restored.View())[len(snapshotMagic)])
}

// A version 3 snapshot ends where it says: ReadSnapshot reads exactly its
// bytes, even from a reader that returns one byte at a time, and leaves the
// host's data after it in the reader. Bodies over a chunk are framed in
// full chunks and one last, shorter one.
func TestSnapshotV3LeavesHostDataUnread(t *testing.T) {
	small := snapV3Registry(t)
	big := snapV3Registry(t)
	// About 6 chunks of body: shards with 40-byte keys, split off the
	// right end of shard 2, with a move now and then.
	cur := ShardID(2)
	for i := range 5000 {
		next := big.View().NextShardID()
		mustApply(t, big, PlaceSplit{Shard: cur, Epoch: shardEpoch(t, big, cur), SplitKey: key(strings40(i))})
		if i%100 == 0 {
			mustApply(t, big, PlaceTransfer{Shard: cur, Epoch: shardEpoch(t, big, cur), From: 2, To: 3})
		}
		cur = next
	}
	host := []byte("the host's own state, which is none of ReadSnapshot's business")
	for name, g := range map[string]*ShardRegistry{"small": small, "big": big} {
		t.Run(name, func(t *testing.T) {
			snap := snapshotBytes(t, g.View())
			lengths, _ := snapV3Chunks(t, snap)
			for i, n := range lengths {
				if i < len(lengths)-1 {
					require.Equal(t, maxSnapshotChunk, n, "chunk %d of %d is full", i, len(lengths))
				} else {
					require.LessOrEqual(t, n, maxSnapshotChunk)
				}
			}
			if name == "big" {
				require.Greater(t, len(lengths), 4)
			}
			stream := append(append([]byte(nil), snap...), host...)
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.HalfReader,
				iotest.DataErrReader,
			} {
				r := &countingReader{r: wrap(bytes.NewReader(stream))}
				restored := NewShardRegistry()
				require.NoError(t, restored.ReadSnapshot(r))
				require.Equal(t, len(snap), r.n, "read exactly the snapshot")
				rest, err := io.ReadAll(r)
				require.NoError(t, err)
				require.Equal(t, host, rest, "the host's data is left in the reader")
				require.Equal(t, replicated(g.View()), replicated(restored.View()))
				require.Equal(t, slices.Collect(g.View().Moves()), slices.Collect(restored.View().Moves()))
			}
			// Two snapshots back to back read one after the other.
			r := bytes.NewReader(append(append([]byte(nil), snap...), snapshotBytes(t, fixture(t).View())...))
			first, second := NewShardRegistry(), NewShardRegistry()
			require.NoError(t, first.ReadSnapshot(r))
			require.NoError(t, second.ReadSnapshot(r))
			require.Equal(t, replicated(fixture(t).View()), replicated(second.View()))
		})
	}
}

// strings40 returns a 40-byte key, in the order of i, inside "m" to "t".
func strings40(i int) string {
	b := []byte("n000000000000000000000000000000000000000")
	for j := 10; i > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}

func shardEpoch(t *testing.T, g *ShardRegistry, id ShardID) uint64 {
	t.Helper()
	sh, ok := g.View().Shard(id)
	require.True(t, ok)
	return sh.Epoch
}

// Any truncation or corruption of a version 3 snapshot, and any chunk
// length the writer would not write, is rejected, and the registry is left
// as it was. A forged length neither allocates nor reads beyond itself.
func TestSnapshotV3RejectsCorruption(t *testing.T) {
	snap := snapshotBytes(t, snapV3Registry(t).View())
	victim := fixture(t)
	before := dumpOf(victim.View())
	for n := 0; n < len(snap); n++ {
		err := victim.ReadSnapshot(bytes.NewReader(snap[:n]))
		require.ErrorIs(t, err, ErrCorruptSnapshot, "prefix %d", n)
	}
	for i := range snap {
		for _, x := range []byte{0x01, 0x41, 0x80, 0xff} {
			bad := append([]byte(nil), snap...)
			bad[i] ^= x
			require.ErrorIs(t, victim.ReadSnapshot(bytes.NewReader(bad)), ErrCorruptSnapshot, "flip %#x at %d", x, i)
		}
	}
	require.Equal(t, before, dumpOf(victim.View()), "a rejected snapshot changed the registry")

	_, body := snapV3Chunks(t, snap)
	require.NoError(t, NewShardRegistry().ReadSnapshot(bytes.NewReader(snapV3Framed(body))), "the framing helper is sound")
	// Valid checksums around framings the writer never makes.
	for name, bad := range map[string][]byte{
		"short chunk, then another":          snapV3Framed(body, 3),
		"every byte its own chunk":           snapV3Framed(body, slices.Repeat([]int{1}, len(body)-1)...),
		"no end marker":                      append(snap[:len(snap)-8:len(snap)-8], snap[len(snap)-4:]...),
		"empty body":                         snapV3Framed(nil),
		"body then trailing byte":            snapV3Framed(append(append([]byte(nil), body...), 0)),
		"version 4":                          append([]byte(snapshotMagic), 4, 0, 0, 0, 0, 0, 0, 0, 0),
		"version 3 with a version 2 body":    snapV3Framed(snapV3Body(2, nil)),
		"length over a chunk, valid body":    snapV3OverLong(body),
		"checksum over the chunk bytes only": snapV3OnlyChunkCRC(body),
	} {
		require.ErrorIs(t, victim.ReadSnapshot(bytes.NewReader(bad)), ErrCorruptSnapshot, name)
	}

	// A forged length is refused before any allocation or read beyond it,
	// even with endless data behind it.
	for _, n := range []uint32{maxSnapshotChunk + 1, math.MaxUint32} {
		head := binary.BigEndian.AppendUint32(append([]byte(snapshotMagic), snapshotVersionMoves), n)
		r := &countingReader{r: io.MultiReader(bytes.NewReader(head), endless{})}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		err := victim.ReadSnapshot(r)
		runtime.ReadMemStats(&m1)
		require.ErrorIs(t, err, ErrCorruptSnapshot)
		require.Equal(t, len(head), r.n, "length %d: nothing read past it", n)
		require.Less(t, m1.TotalAlloc-m0.TotalAlloc, uint64(16<<10), "length %d: bytes allocated", n)
	}
	// A reader that fails is not a corrupt snapshot.
	boom := errors.New("disk on fire")
	err := victim.ReadSnapshot(io.MultiReader(bytes.NewReader(snap[:20]), iotest.ErrReader(boom)))
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, ErrCorruptSnapshot)
	require.Equal(t, before, dumpOf(victim.View()))
}

// endless reads as zeros forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// snapV3OverLong frames body as one chunk that claims a byte more than a
// chunk can hold.
func snapV3OverLong(body []byte) []byte {
	body = append(append([]byte(nil), body...), make([]byte, maxSnapshotChunk)...)
	return snapV3Framed(body, maxSnapshotChunk+1)
}

// snapV3OnlyChunkCRC frames body correctly but checksums only the body.
func snapV3OnlyChunkCRC(body []byte) []byte {
	out := snapV3Framed(body)
	return binary.BigEndian.AppendUint32(out[:len(out)-4], crc32.Checksum(body, castagnoli))
}

// snapV3Body builds a body: next ID 3, flags 0, the format, nodes 1 and 2
// up and 3 draining, shard 1 [nil, "m") on node 1 and shard 2 ["m", nil)
// on node 2, both at epoch 2, then moves (shard, to, began) if format is 3
// or more.
func snapV3Body(format uint64, moves [][3]uint64) []byte {
	b := binary.AppendUvarint(nil, 3)
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, format)
	b = binary.AppendUvarint(b, 3)
	for id, st := range []NodeState{NodeUp, NodeUp, NodeDraining} {
		b = binary.AppendUvarint(b, uint64(id+1))
		b = binary.AppendUvarint(b, uint64(st))
		if format >= versionMoves {
			b = append(b, 0) // the state's time: unknown
		}
	}
	b = binary.AppendUvarint(b, 2)
	b = shardBytes(b, 1, []byte{}, key("m"), 1, 2)
	b = shardBytes(b, 2, key("m"), nil, 2, 2)
	if format >= versionMoves {
		b = binary.AppendUvarint(b, uint64(len(moves)))
		for _, m := range moves {
			for _, f := range m {
				b = binary.AppendUvarint(b, f)
			}
		}
		b = append(b, 0, 0, 0) // not paused, no expiry, no policy
	}
	return b
}

// snapV3Moves is snapV3Body at format 3 with raw bytes in place of the
// moves (count and all) and the settings after them.
func snapV3Moves(raw ...byte) []byte {
	b := snapV3Body(versionMoves, nil)
	return append(b[:len(b)-4], raw...)
}

// snapV3NilStart is snapV3Body at format 3 with uvarint 0 (nil) as the
// first range start, which the registry holds as the empty key.
func snapV3NilStart() []byte {
	b := snapV3Body(versionMoves, nil)
	i := bytes.Index(b, []byte{1, 1, 2, 'm'}) // shard 1, start "", end "m"
	return snapV3Framed(slices.Concat(b[:i+1], []byte{0}, b[i+2:]))
}

// Version 3 bodies are checked like the rest of a snapshot: a state the
// registry could not have built is refused, whatever its checksum.
func TestSnapshotV3RejectsImpossibleStates(t *testing.T) {
	v2 := func(format uint64) []byte {
		b := append([]byte(snapshotMagic), snapshotVersionFlags)
		b = append(b, snapV3Body(format, nil)...)
		return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	}
	tests := map[string][]byte{
		"move of an unknown shard":       snapV3Framed(snapV3Body(3, [][3]uint64{{5, 2, 0}})),
		"move to the shard's own node":   snapV3Framed(snapV3Body(3, [][3]uint64{{1, 1, 0}})),
		"move to an unknown node":        snapV3Framed(snapV3Body(3, [][3]uint64{{1, 7, 0}})),
		"move to a node not up":          snapV3Framed(snapV3Body(3, [][3]uint64{{1, 3, 0}})),
		"move to node 0":                 snapV3Framed(snapV3Body(3, [][3]uint64{{1, 0, 0}})),
		"moves out of order":             snapV3Framed(snapV3Body(3, [][3]uint64{{2, 1, 0}, {1, 2, 0}})),
		"the same shard moving twice":    snapV3Framed(snapV3Body(3, [][3]uint64{{1, 2, 0}, {1, 2, 0}})),
		"move begun after int64":         snapV3Framed(snapV3Body(3, [][3]uint64{{1, 2, math.MaxInt64 + 1}})),
		"move of shard 0":                snapV3Framed(snapV3Body(3, [][3]uint64{{0, 2, 0}})),
		"more moves than bytes":          snapV3Framed(snapV3Moves(5, 1, 2, 0)),
		"truncated move":                 snapV3Framed(snapV3Moves(1, 1, 2)),
		"move count over uint64":         snapV3Framed(snapV3Moves(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)),
		"version 3 at format 2":          snapV3Framed(snapV3Body(2, nil)),
		"version 3 at format 1":          snapV3Framed(snapV3Body(1, nil)),
		"version 3 at a newer format":    snapV3Framed(snapV3Body(formatVersion+1, nil)),
		"version 2 at format 3":          v2(3),
		"nil range start":                snapV3NilStart(),
		"non-minimal move start varint":  snapV3Framed(snapV3Moves(1, 1, 2, 0x81, 0x00)),
		"non-minimal move shard varint":  snapV3Framed(snapV3Moves(1, 0x81, 0x00, 2, 0)),
		"version 3 with trailing moves":  snapV3Framed(append(snapV3Body(3, nil), 1, 2, 0)),
		"version 3 without a move count": snapV3Framed(snapV3Body(3, nil)[:len(snapV3Body(3, nil))-1]),
	}
	for name, snap := range tests {
		t.Run(name, func(t *testing.T) {
			g := fixture(t)
			before := dumpOf(g.View())
			require.ErrorIs(t, g.ReadSnapshot(bytes.NewReader(snap)), ErrCorruptSnapshot)
			require.Equal(t, before, dumpOf(g.View()))
		})
	}
	// The forging itself is sound: well-formed bodies restore, and
	// restored maps write them back byte for byte.
	for _, snap := range [][]byte{
		v2(2),
		snapV3Framed(snapV3Body(3, nil)),
		snapV3Framed(snapV3Body(3, [][3]uint64{{1, 2, 0}, {2, 1, math.MaxInt64}})),
	} {
		g := NewShardRegistry()
		require.NoError(t, g.ReadSnapshot(bytes.NewReader(snap)))
		require.NoError(t, checkInvariants(g.View()))
		require.Equal(t, snap, snapshotBytes(t, g.View()))
	}
	g := NewShardRegistry()
	require.NoError(t, g.ReadSnapshot(bytes.NewReader(snapV3Framed(snapV3Body(3, [][3]uint64{{1, 2, 0}, {2, 1, 42}})))))
	require.Equal(t, []Move{
		{Shard: 1, From: 1, To: 2, Epoch: 2},
		{Shard: 2, From: 2, To: 1, Epoch: 2, Began: time.Unix(0, 42)},
	}, slices.Collect(g.View().Moves()))
}

// Maps below format version 3 write versions 1 and 2 exactly as before
// (these bytes are what the release before version 3 wrote), so releases
// that read only those still install them; they restore, and are read to
// the end of the stream, so data after them fails the checksum.
func TestSnapshotOlderVersionsUnchanged(t *testing.T) {
	const (
		v1 = "504c534e010404010102010302040303010261026d010102026d02740201030274000101f6a6e7b2"
		v2 = "504c534e0204020204010102010302040403010261026d010102026d027402010302740001014105e981"
	)
	g := fixture(t)
	require.Equal(t, v1, hex.EncodeToString(snapshotBytes(t, g.View())))
	want1 := replicated(g.View())
	mustApply(t, g, SetFormatVersion{Version: versionFlags}, SetRebalancing{Load: true}, SetNodeState{Node: 4, State: NodeLost})
	require.Equal(t, v2, hex.EncodeToString(snapshotBytes(t, g.View())))
	want2 := replicated(g.View())
	for _, tt := range []struct {
		golden string
		want   dump
	}{{v1, want1}, {v2, want2}} {
		snap, err := hex.DecodeString(tt.golden)
		require.NoError(t, err)
		restored := NewShardRegistry()
		require.NoError(t, restored.ReadSnapshot(iotest.OneByteReader(bytes.NewReader(snap))))
		require.Equal(t, tt.want, replicated(restored.View()))
		require.ErrorIs(t, restored.ReadSnapshot(bytes.NewReader(append(snap, "host"...))), ErrCorruptSnapshot,
			"versions 1 and 2 are not self-delimiting")
	}
}

// snapV3Command is genCommand with the two-phase transfer: it also
// completes or aborts moves in flight, now and then at a stale epoch.
func snapV3Command(t *rapid.T, v View) Command {
	moves := slices.Collect(v.Moves())
	if len(moves) == 0 || rapid.IntRange(0, 3).Draw(t, "inflight") != 0 {
		return genCommand(t, v)
	}
	m := rapid.SampledFrom(moves).Draw(t, "move")
	if rapid.IntRange(0, 9).Draw(t, "stalemove") == 0 {
		m.Epoch--
	}
	if rapid.Bool().Draw(t, "complete") {
		return CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}
	}
	return AbortTransfer{Shard: m.Shard, Epoch: m.Epoch}
}

// Replicas that applied the same log, one through the FSM with entry times
// and different soft stats, write byte-identical snapshots, moves and their
// times included; a restore of it is the same map and goes on like it.
func TestSnapshotV3ReplicasByteIdentical(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := NewShardRegistry(), NewShardRegistry()
		fsm := NewFSM(b)
		if rapid.IntRange(0, 4).Draw(t, "format3") != 0 {
			require.NoError(t, a.Apply(SetFormatVersion{Version: versionMoves}))
			require.NoError(t, b.Apply(SetFormatVersion{Version: versionMoves}))
		}
		at := time.Unix(1_700_000_000, 0)
		for i := range rapid.IntRange(0, 80).Draw(t, "steps") {
			cmd := snapV3Command(t, a.View())
			when := time.Time{}
			if rapid.IntRange(0, 3).Draw(t, "timed") != 0 {
				at = at.Add(time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "tick")))
				when = at
			}
			errA := a.ApplyAt(cmd, when)
			if _, err := Decode(Encode(cmd)); err != nil {
				// Not a command a log carries (an invalid node state).
				require.Error(t, errA)
				continue
			}
			res := fsm.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: Encode(cmd), AppendedAt: when})
			results, ok := res.([]error)
			require.True(t, ok, "%v", res)
			require.Equal(t, errA == nil, results[0] == nil, "%v", cmd)
			if sh := rapid.IntRange(0, 8).Draw(t, "stats"); sh > 0 {
				_ = b.ReportStats(ShardID(sh), Stats{Keys: uint64(sh), Bytes: uint64(sh) << 20})
			}
		}
		snap := snapshotBytes(t, a.View())
		require.Equal(t, snap, snapshotBytes(t, b.View()), "replicas write the same bytes")
		want := byte(snapshotVersion)
		switch {
		case a.View().FormatVersion() >= versionStable:
			want = snapshotVersionStable
		case a.View().FormatVersion() >= versionMoves:
			want = snapshotVersionMoves
		case a.View().FormatVersion() == versionFlags || a.View().Rebalancing() != (SetRebalancing{}):
			want = snapshotVersionFlags
		}
		require.Equal(t, want, snap[len(snapshotMagic)])

		restored := NewShardRegistry()
		require.NoError(t, restored.ReadSnapshot(bytes.NewReader(snap)))
		require.Equal(t, replicated(a.View()), replicated(restored.View()))
		require.Equal(t, slices.Collect(a.View().Moves()), slices.Collect(restored.View().Moves()))
		require.NoError(t, checkInvariants(restored.View()))
		require.Equal(t, snap, snapshotBytes(t, restored.View()))
		cmd := snapV3Command(t, a.View())
		require.Equal(t, a.Apply(cmd) == nil, restored.Apply(cmd) == nil, "%v", cmd)
		require.Equal(t, replicated(a.View()), replicated(restored.View()))
		require.Equal(t, slices.Collect(a.View().Moves()), slices.Collect(restored.View().Moves()))
	})
}

// FuzzReadSnapshot checks that ReadSnapshot never panics, changes nothing
// when it fails, and accepts only canonical snapshots: the map it restores
// snapshots back to exactly the bytes it read (for version 3, the prefix
// of data it consumed; versions 1 and 2 consume all of data).
//
//	go test -run '^$' -fuzz FuzzReadSnapshot -fuzztime 30s .
func FuzzReadSnapshot(f *testing.F) {
	v3 := snapshotBytes(f, snapV3RegistryTB(f).View())
	f.Add(v3)
	f.Add(append(append([]byte(nil), v3...), "host"...))
	g := NewShardRegistry()
	f.Add(snapshotBytes(f, g.View()))
	for _, c := range []Command{
		AddNode{Node: 1}, AddNode{Node: 2},
		CreateShard{Range: KeyRange{End: key("k")}, Node: 1},
		CreateShard{Range: KeyRange{Start: key("k")}, Node: 2},
	} {
		require.NoError(f, g.Apply(c))
	}
	f.Add(snapshotBytes(f, g.View()))
	require.NoError(f, g.Apply(SetFormatVersion{Version: versionFlags}))
	f.Add(snapshotBytes(f, g.View()))
	require.NoError(f, g.Apply(SetFormatVersion{Version: versionMoves}))
	require.NoError(f, g.ApplyAt(PlaceTransfer{Shard: 2, Epoch: 1, From: 2, To: 1}, time.Unix(0, 1<<40)))
	f.Add(snapshotBytes(f, g.View()))
	f.Add(snapV3Framed(snapV3Body(3, [][3]uint64{{1, 2, 7}})))

	f.Fuzz(func(t *testing.T, data []byte) {
		g := NewShardRegistry()
		require.NoError(t, g.Apply(AddNode{Node: 9}))
		before := snapshotBytes(t, g.View())
		r := bytes.NewReader(data)
		if err := g.ReadSnapshot(r); err != nil {
			require.ErrorIs(t, err, ErrCorruptSnapshot)
			require.Equal(t, before, snapshotBytes(t, g.View()))
			return
		}
		consumed := data[:len(data)-r.Len()]
		snap := snapshotBytes(t, g.View())
		require.NoError(t, checkInvariants(g.View()))
		if consumed[len(snapshotMagic)] >= snapshotVersionMoves {
			require.Equal(t, consumed, snap, "canonical: re-encodes to what it read")
			return
		}
		// Versions 1 and 2 accept a nil range start (uvarint 0), which
		// restores as the empty key: the re-encoding is canonical.
		again := NewShardRegistry()
		require.NoError(t, again.ReadSnapshot(bytes.NewReader(snap)))
		require.Equal(t, replicated(g.View()), replicated(again.View()))
		require.Equal(t, snap, snapshotBytes(t, again.View()))
	})
}

// snapV3RegistryTB is snapV3Registry for a fuzz target's seeding.
func snapV3RegistryTB(f *testing.F) *ShardRegistry {
	g := NewShardRegistry()
	for _, c := range []Command{
		SetFormatVersion{Version: versionMoves},
		AddNode{Node: 1}, AddNode{Node: 2}, AddNode{Node: 3},
		CreateShard{Range: KeyRange{Start: key("a"), End: key("m")}, Node: 1},
		CreateShard{Range: KeyRange{Start: key("m")}, Node: 2},
		PlaceTransfer{Shard: 2, Epoch: 1, From: 2, To: 3},
	} {
		require.NoError(f, g.Apply(c))
	}
	require.NoError(f, g.ApplyAt(PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2}, snapV3Began))
	return g
}
