package placement

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
)

// A policy with a tagged field (MinCopyRate) is refused by Apply below
// format version 6, so no map holds one its format cannot carry; at
// version 6 a snapshot carries it (policy flag 3) and restores it byte for
// byte, and a snapshot below version 6 that claims one is refused.
func TestPolicyFieldsSnapshot(t *testing.T) {
	g := fixture(t)
	mustApply(t, g, SetFormatVersion{Version: versionStable})
	c := SetPolicy{Policy: copyRatePolicy(), MaxActionsPerTick: 3}
	require.ErrorIs(t, g.Apply(c), ErrFormatVersion)

	// At version 5 the snapshot's policy flag may not be 3.
	mustApply(t, g, SetPolicy{Policy: stablePolicy(), MaxActionsPerTick: 3})
	var five bytes.Buffer
	require.NoError(t, g.View().WriteSnapshot(&five))

	mustApply(t, g, SetFormatVersion{Version: versionCopy})
	mustApply(t, g, c)
	var buf bytes.Buffer
	require.NoError(t, g.View().WriteSnapshot(&buf))
	require.Equal(t, byte(snapshotVersionStable), buf.Bytes()[len(snapshotMagic)])
	restored := NewShardRegistry()
	require.NoError(t, restored.ReadSnapshot(bytes.NewReader(buf.Bytes())))
	got, ok := restored.View().Policy()
	require.True(t, ok)
	require.Equal(t, c, got)
	var again bytes.Buffer
	require.NoError(t, restored.View().WriteSnapshot(&again))
	require.Equal(t, buf.Bytes(), again.Bytes())

	// The same policy section in the version 5 map: rewrite its policy
	// flag 2 and type 15 fields as flag 3 and type 16's, then fix the CRC.
	ext := appendStability(appendPolicy([]byte{2}, SetPolicy{Policy: stablePolicy(), MaxActionsPerTick: 3}), stablePolicy())
	i := bytes.Index(five.Bytes(), ext)
	require.Positive(t, i)
	p := stablePolicy()
	p.MinCopyRate = copyRatePolicy().MinCopyRate
	tagged := appendTagged(appendStability(appendPolicy([]byte{3}, SetPolicy{Policy: p, MaxActionsPerTick: 3}), p), p)
	forged := resnapshot(t, five.Bytes(), i, len(ext), tagged)
	err := NewShardRegistry().ReadSnapshot(bytes.NewReader(forged))
	require.ErrorIs(t, err, ErrCorruptSnapshot)
	require.ErrorContains(t, err, "invalid policy flag 3")
}

// resnapshot returns snap, a single-chunk snapshot of version 3 or 4, with
// the n bytes at i (an offset in snap, inside the chunk) replaced by repl,
// framed and checksummed again.
func resnapshot(t *testing.T, snap []byte, i, n int, repl []byte) []byte {
	head := len(snapshotMagic) + 1
	size := int(binary.BigEndian.Uint32(snap[head:]))
	require.Equal(t, len(snap)-8, head+4+size, "one chunk")
	body := append(append(append([]byte{}, snap[head+4:i]...), repl...), snap[i+n:head+4+size]...)
	out := append([]byte{}, snap[:head]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = binary.BigEndian.AppendUint32(append(out, body...), 0)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}
