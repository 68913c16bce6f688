package placement

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// codecHeader is the entry header followed by the given bytes.
func codecHeader(rest ...byte) []byte {
	return append([]byte{entryMagic, baseVersion}, rest...)
}

// codecSamples are valid batches shared by the exhaustive, fuzz and
// benchmark code: every command type, nil/empty/non-empty keys, and
// varints from one to ten bytes.
func codecSamples() map[string][]Command {
	return map[string][]Command{
		"empty": {},
		"every-type": {
			AddNode{Node: 1},
			SetNodeState{Node: 2, State: NodeDraining},
			RemoveNode{Node: 3},
			CreateShard{ID: 4, Range: KeyRange{End: []byte("m")}, Node: 1},
			PlaceSplit{Shard: 5, Epoch: 2, SplitKey: []byte{}},
			PlaceMerge{Left: 6, LeftEpoch: 1, Right: 7, RightEpoch: 1},
			PlaceTransfer{Shard: 8, Epoch: 3, From: 1, To: 2},
			SetRebalancing{Bytes: true, Load: true},
			SetNodeState{Node: 9, State: NodeLost},
			SetFormatVersion{Version: 2},
		},
		"rebalancing": {
			SetRebalancing{}, SetRebalancing{Bytes: true}, SetRebalancing{Load: true},
		},
		"moves": {
			PlaceTransfer{Shard: 1, Epoch: 1, From: 1, To: 2},
			CompleteTransfer{Shard: 1, Epoch: 2},
			CompleteTransfer{Shard: 1, Epoch: 2, To: math.MaxUint64},
			AbortTransfer{Shard: 1 << 40, Epoch: 3},
		},
		"keys": {
			CreateShard{ID: 1, Range: KeyRange{Start: []byte{}}, Node: 2},
			PlaceSplit{Shard: 1, Epoch: 1, SplitKey: []byte("k\x00\xff")},
			CreateShard{ID: 2, Range: KeyRange{Start: []byte("a"), End: []byte{}}, Node: 3},
		},
		"settings": {
			SetPause{Paused: true},
			SetPolicy{Policy: DefaultPolicy(), MaxActionsPerTick: 5},
			SetPolicy{Policy: stablePolicy(), MaxActionsPerTick: 5},
			SetPolicy{Policy: copyRatePolicy(), MaxActionsPerTick: 5},
		},
		"wide": {
			PlaceTransfer{Shard: math.MaxUint64, Epoch: math.MaxUint64, From: math.MaxUint64, To: math.MaxUint64},
			PlaceMerge{Left: 1 << 63, LeftEpoch: 128, Right: 1<<63 - 1, RightEpoch: 127},
			SetNodeState{Node: math.MaxUint64, State: NodeDown},
		},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 300) // two-byte length prefix
	tests := []struct {
		name string
		cmds []Command
	}{
		{name: "empty batch", cmds: []Command{}},
		{name: "add node", cmds: []Command{AddNode{Node: 7}}},
		{name: "add node max", cmds: []Command{AddNode{Node: math.MaxUint64}}},
		{name: "set node state", cmds: []Command{SetNodeState{Node: 1, State: NodeUp}}},
		{name: "set node state max", cmds: []Command{SetNodeState{Node: math.MaxUint64, State: NodeDown}}},
		{name: "remove node", cmds: []Command{RemoveNode{Node: math.MaxUint64}}},
		{name: "create shard unbounded", cmds: []Command{CreateShard{ID: 1, Node: 2}}},
		{name: "create shard empty keys", cmds: []Command{
			CreateShard{ID: 1, Range: KeyRange{Start: []byte{}, End: []byte{}}, Node: 2},
		}},
		{name: "create shard keys", cmds: []Command{
			CreateShard{ID: math.MaxUint64, Range: KeyRange{Start: []byte("a"), End: long}, Node: math.MaxUint64},
		}},
		{name: "split nil key", cmds: []Command{PlaceSplit{Shard: 1, Epoch: 1}}},
		{name: "split empty key", cmds: []Command{PlaceSplit{Shard: 1, Epoch: 1, SplitKey: []byte{}}}},
		{name: "split key max", cmds: []Command{
			PlaceSplit{Shard: math.MaxUint64, Epoch: math.MaxUint64, SplitKey: []byte("\x00\xff")},
		}},
		{name: "merge max", cmds: []Command{
			PlaceMerge{Left: math.MaxUint64, LeftEpoch: math.MaxUint64, Right: math.MaxUint64, RightEpoch: math.MaxUint64},
		}},
		{name: "transfer zero", cmds: []Command{PlaceTransfer{}}},
		{name: "transfer max", cmds: []Command{
			PlaceTransfer{Shard: math.MaxUint64, Epoch: math.MaxUint64, From: math.MaxUint64, To: math.MaxUint64},
		}},
		{name: "mixed batch", cmds: codecSamples()["every-type"]},
		{name: "keys batch", cmds: codecSamples()["keys"]},
		{name: "wide batch", cmds: codecSamples()["wide"]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entry := Encode(tc.cmds...)
			require.True(t, IsEntry(entry))
			require.Len(t, entry, cap(entry), "Encode sizes its buffer exactly")

			got, err := Decode(entry)
			require.NoError(t, err)
			// reflect.DeepEqual tells nil keys from empty ones.
			require.Equal(t, tc.cmds, got)
			require.Equal(t, entry, Encode(got...))
		})
	}
}

func TestDecodeKeepsNilAndEmptyKeysApart(t *testing.T) {
	entry := Encode(
		CreateShard{ID: 1, Range: KeyRange{Start: nil, End: []byte{}}, Node: 1},
		PlaceSplit{Shard: 1, Epoch: 1, SplitKey: []byte{}}, // empty key at the very end of the input
	)
	cmds, err := Decode(entry)
	require.NoError(t, err)
	create := cmds[0].(CreateShard)
	require.Nil(t, create.Range.Start)
	require.NotNil(t, create.Range.End)
	require.Empty(t, create.Range.End)
	split := cmds[1].(PlaceSplit)
	require.NotNil(t, split.SplitKey)
	require.Empty(t, split.SplitKey)
}

func TestDecodedKeysAliasInputWithClippedCapacity(t *testing.T) {
	entry := Encode(
		PlaceSplit{Shard: 1, Epoch: 1, SplitKey: []byte("k")},
		AddNode{Node: 9},
	)
	want := bytes.Clone(entry)
	cmds, err := Decode(entry)
	require.NoError(t, err)
	key := cmds[0].(PlaceSplit).SplitKey
	require.Equal(t, len(key), cap(key))

	_ = append(key, 'x', 'y') // must reallocate, not write into entry
	require.Equal(t, want, entry)

	key[0] = 'z' // documented aliasing: the key is a view of entry
	require.Equal(t, byte('z'), entry[len(entry)-3])
}

func TestDecodeRejects(t *testing.T) {
	maxVarint := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	tests := []struct {
		name   string
		input  []byte
		want   string // fragment of the message
		offset int
	}{
		{name: "nil", input: nil, want: "empty entry", offset: 0},
		{name: "empty", input: []byte{}, want: "empty entry", offset: 0},
		{name: "wrong magic", input: []byte{0x00, formatVersion, 0x00}, want: "bad magic byte 0x00", offset: 0},
		{name: "magic only", input: []byte{entryMagic}, want: "truncated header", offset: 1},
		{name: "version 0", input: []byte{entryMagic, 0, 0}, want: "unknown format version 0", offset: 1},
		{name: "version 2 without version-2 commands", input: []byte{entryMagic, 2, 0}, want: "format version 2 for commands that need 1", offset: 1},
		{name: "version 1 with a version-2 command", input: codecHeader(0x01, byte(TypeSetRebalancing), 0x01), want: "format version 1 for commands that need 2", offset: 1},
		{name: "missing count", input: codecHeader(), want: "truncated command count", offset: 2},
		{name: "truncated count", input: codecHeader(0x80), want: "truncated command count", offset: 2},
		{
			name:   "count overflows in tenth byte",
			input:  codecHeader(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02),
			want:   "uint64 overflow in command count",
			offset: 2,
		},
		{
			name:   "count longer than ten bytes",
			input:  codecHeader(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
			want:   "uint64 overflow in command count",
			offset: 2,
		},
		{name: "non-minimal count", input: codecHeader(0x80, 0x00), want: "non-minimal varint for command count", offset: 2},
		{name: "count without commands", input: codecHeader(0x01), want: "command count 1 exceeds", offset: 2},
		{name: "count beyond input", input: codecHeader(0x02, 0x01, 0x05), want: "command count 2 exceeds", offset: 2},
		{name: "max count", input: codecHeader(maxVarint...), want: "command count 18446744073709551615 exceeds", offset: 2},
		{
			name:   "missing second command type",
			input:  codecHeader(0x02, byte(TypePlaceTransfer), 1, 1, 1, 1),
			want:   "missing command type",
			offset: 8,
		},
		{name: "type zero", input: codecHeader(0x01, 0x00, 0x01), want: "unknown command type 0", offset: 3},
		{name: "type after last", input: codecHeader(0x01, 0x11, 0x01), want: "unknown command type 17", offset: 3},
		{name: "complete-transfer to node 0", input: []byte{entryMagic, versionDest, 0x01, byte(TypeCompleteTransferTo), 0x01, 0x02, 0x00},
			want: "complete-transfer to node 0", offset: 3},
		{name: "rebalancing flags 4", input: []byte{entryMagic, formatVersion, 0x01, byte(TypeSetRebalancing), 0x04}, want: "invalid rebalancing flags 4", offset: 3},
		{name: "type 255", input: codecHeader(0x01, 0xff, 0x01), want: "unknown command type 255", offset: 3},
		{
			name:   "unknown type in second command",
			input:  codecHeader(0x02, byte(TypeAddNode), 0x85, 0x01, 0x11, 0x01),
			want:   "unknown command type 17",
			offset: 6,
		},
		{
			name:   "truncated last field",
			input:  codecHeader(0x01, byte(TypePlaceTransfer), 1, 1, 1),
			want:   "truncated to node",
			offset: 7,
		},
		{
			name:   "truncated multi-byte field",
			input:  codecHeader(0x01, byte(TypePlaceMerge), 1, 0x80),
			want:   "truncated left epoch",
			offset: 5,
		},
		{
			name:   "field overflows",
			input:  codecHeader(0x01, byte(TypeAddNode), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02),
			want:   "uint64 overflow in node",
			offset: 4,
		},
		{
			name:   "non-minimal field",
			input:  codecHeader(0x01, byte(TypeRemoveNode), 0x81, 0x00),
			want:   "non-minimal varint for node",
			offset: 4,
		},
		{
			name:   "non-minimal ten-byte field",
			input:  codecHeader(0x01, byte(TypeAddNode), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00),
			want:   "non-minimal varint for node",
			offset: 4,
		},
		{name: "state zero", input: codecHeader(0x01, byte(TypeSetNodeState), 1, 0), want: "invalid node state 0", offset: 5},
		{name: "state 5", input: codecHeader(0x01, byte(TypeSetNodeState), 1, 5), want: "invalid node state 5", offset: 5},
		{
			name:   "state 256",
			input:  codecHeader(0x01, byte(TypeSetNodeState), 1, 0x80, 0x02),
			want:   "invalid node state 256",
			offset: 5,
		},
		{
			name:   "state 257 that truncates to up",
			input:  codecHeader(0x01, byte(TypeSetNodeState), 1, 0x81, 0x02),
			want:   "invalid node state 257",
			offset: 5,
		},
		{
			name:   "key longer than input",
			input:  codecHeader(0x01, byte(TypePlaceSplit), 1, 1, 0x05, 'a'),
			want:   "split key length 4 exceeds the 1 remaining bytes",
			offset: 6,
		},
		{
			name:   "max key length",
			input:  append(codecHeader(0x01, byte(TypePlaceSplit), 1, 1), maxVarint...),
			want:   "split key length 18446744073709551614 exceeds",
			offset: 6,
		},
		{
			name:   "truncated key length",
			input:  codecHeader(0x01, byte(TypePlaceSplit), 1, 1, 0x80),
			want:   "truncated split key length",
			offset: 6,
		},
		{
			name:   "missing range end",
			input:  codecHeader(0x01, byte(TypeCreateShard), 1, 0),
			want:   "truncated range end length",
			offset: 6,
		},
		{
			name:   "non-minimal key length",
			input:  codecHeader(0x01, byte(TypeCreateShard), 1, 0x80, 0x00, 0, 1),
			want:   "non-minimal varint for range start length",
			offset: 5,
		},
		{
			name:   "missing node after keys",
			input:  codecHeader(0x01, byte(TypeCreateShard), 1, 0x02, 'a', 0),
			want:   "truncated node",
			offset: 8,
		},
		{name: "trailing byte", input: append(Encode(AddNode{Node: 1}), 0), want: "1 trailing bytes", offset: 5},
		{name: "trailing after empty batch", input: codecHeader(0x00, 0x00, 0x00), want: "2 trailing bytes", offset: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := Decode(tc.input)
			require.ErrorIs(t, err, ErrCorruptCommand)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, fmt.Sprintf("at byte offset %d", tc.offset))
			require.Nil(t, cmds)
		})
	}
}

func TestCodecIsEntry(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{name: "nil", data: nil, want: false},
		{name: "magic only", data: []byte{entryMagic}, want: false},
		{name: "header", data: []byte{entryMagic, formatVersion}, want: true},
		{name: "base version", data: []byte{entryMagic, baseVersion}, want: true},
		{name: "newer version", data: []byte{entryMagic, formatVersion + 1, 0}, want: true},
		{name: "version 0", data: []byte{entryMagic, 0, 0}, want: false},
		{name: "wrong magic", data: []byte{0x00, formatVersion, 0}, want: false},
		{name: "empty batch", data: Encode(), want: true},
		{name: "batch", data: Encode(codecSamples()["every-type"]...), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, IsEntry(tc.data))
		})
	}
}

func TestAppendEncodeAppendsWithoutAllocating(t *testing.T) {
	cmds := codecSamples()["every-type"]
	prefix := []byte("prefix")
	got := AppendEncode(bytes.Clone(prefix), cmds...)
	require.Equal(t, append(bytes.Clone(prefix), Encode(cmds...)...), got)

	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() { buf = AppendEncode(buf[:0], cmds...) })
	require.Zero(t, allocs)
}

func TestDecodeAllocatesOnlyResultAndValues(t *testing.T) {
	cmds := make([]Command, 8)
	for i := range cmds {
		cmds[i] = PlaceTransfer{Shard: ShardID(i + 1), Epoch: 1000, From: 1, To: 2}
	}
	entry := Encode(cmds...)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Decode(entry); err != nil {
			panic(err)
		}
	})
	require.LessOrEqual(t, allocs, float64(1+len(cmds)))
}

// codecForeignCommand implements Command but is not a wire type.
type codecForeignCommand struct{}

func (codecForeignCommand) Type() CommandType { return 200 }
func (codecForeignCommand) String() string    { return "foreign" }

func TestEncodePanicsOnUnknownCommand(t *testing.T) {
	require.Panics(t, func() { Encode(codecForeignCommand{}) })
	require.Panics(t, func() { Encode(AddNode{Node: 1}, Command(nil)) })
	require.Panics(t, func() { AppendEncode(nil, codecForeignCommand{}) })
}

// TestDecodeEveryPrefixAndByteCorruption feeds Decode every proper prefix
// and every one-byte change of valid entries. A prefix must fail; a
// corruption must fail cleanly or decode to commands that re-encode to
// exactly the corrupted bytes (the encoding is canonical).
func TestDecodeEveryPrefixAndByteCorruption(t *testing.T) {
	for name, cmds := range codecSamples() {
		t.Run(name, func(t *testing.T) {
			entry := Encode(cmds...)
			for n := range len(entry) {
				_, err := Decode(entry[:n:n])
				require.ErrorIs(t, err, ErrCorruptCommand, "prefix of %d bytes", n)
			}
			corrupted := make([]byte, len(entry))
			for pos := range entry {
				for v := range 256 {
					if byte(v) == entry[pos] {
						continue
					}
					copy(corrupted, entry)
					corrupted[pos] = byte(v)
					codecRequireCanonical(t, corrupted)
				}
			}
		})
	}
}

// codecRequireCanonical checks that Decode either rejects data with
// ErrCorruptCommand or returns commands whose encoding is exactly data.
func codecRequireCanonical(t testing.TB, data []byte) {
	t.Helper()
	cmds, err := Decode(data)
	if err != nil {
		require.ErrorIs(t, err, ErrCorruptCommand, "input %x", data)
		return
	}
	require.Equal(t, data, Encode(cmds...), "input %x decoded to %v", data, cmds)
}

func TestCodecRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cmds := make([]Command, rapid.IntRange(0, 20).Draw(t, "count"))
		for i := range cmds {
			cmds[i] = codecCommandGen().Draw(t, fmt.Sprintf("cmd%d", i))
		}
		entry := Encode(cmds...)
		got, err := Decode(entry)
		require.NoError(t, err)
		require.Equal(t, cmds, got)

		prefix := rapid.SliceOf(rapid.Byte()).Draw(t, "prefix")
		require.Equal(t, append(bytes.Clone(prefix), entry...), AppendEncode(bytes.Clone(prefix), cmds...))
	})
}

// codecKeyGen draws nil, empty and non-empty keys; all three must survive.
func codecKeyGen() *rapid.Generator[[]byte] {
	return rapid.Custom(func(t *rapid.T) []byte {
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			return nil
		case 1:
			return []byte{}
		default:
			return rapid.SliceOfN(rapid.Byte(), 1, 200).Draw(t, "bytes")
		}
	})
}

func codecCommandGen() *rapid.Generator[Command] {
	id := rapid.Uint64()
	state := rapid.SampledFrom([]NodeState{NodeUp, NodeDraining, NodeDown})
	key := codecKeyGen()
	return rapid.Custom(func(t *rapid.T) Command {
		switch rapid.SampledFrom([]CommandType{
			TypeAddNode, TypeSetNodeState, TypeRemoveNode, TypeCreateShard,
			TypePlaceSplit, TypePlaceMerge, TypePlaceTransfer,
		}).Draw(t, "type") {
		case TypeAddNode:
			return AddNode{Node: NodeID(id.Draw(t, "node"))}
		case TypeSetNodeState:
			return SetNodeState{Node: NodeID(id.Draw(t, "node")), State: state.Draw(t, "state")}
		case TypeRemoveNode:
			return RemoveNode{Node: NodeID(id.Draw(t, "node"))}
		case TypeCreateShard:
			return CreateShard{
				ID:    ShardID(id.Draw(t, "id")),
				Range: KeyRange{Start: key.Draw(t, "start"), End: key.Draw(t, "end")},
				Node:  NodeID(id.Draw(t, "node")),
			}
		case TypePlaceSplit:
			return PlaceSplit{Shard: ShardID(id.Draw(t, "shard")), Epoch: id.Draw(t, "epoch"), SplitKey: key.Draw(t, "key")}
		case TypePlaceMerge:
			return PlaceMerge{
				Left: ShardID(id.Draw(t, "left")), LeftEpoch: id.Draw(t, "left epoch"),
				Right: ShardID(id.Draw(t, "right")), RightEpoch: id.Draw(t, "right epoch"),
			}
		default:
			return PlaceTransfer{
				Shard: ShardID(id.Draw(t, "shard")), Epoch: id.Draw(t, "epoch"),
				From: NodeID(id.Draw(t, "from")), To: NodeID(id.Draw(t, "to")),
			}
		}
	})
}
