package placement_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// mapAt returns a registry of two nodes and one shard at format version
// (1 to FormatVersion).
func mapAt(version uint64) *placement.ShardRegistry {
	reg := placement.NewShardRegistry()
	cmds := []placement.Command{
		placement.AddNode{Node: 1}, placement.AddNode{Node: 2},
		placement.CreateShard{Range: placement.KeyRange{}, Node: 1},
	}
	if version > 1 {
		cmds = append([]placement.Command{placement.SetFormatVersion{Version: version}}, cmds...)
	}
	for _, c := range cmds {
		if err := reg.Apply(c); err != nil {
			panic(err) // a valid map at every version
		}
	}
	return reg
}

// writeSection writes v's snapshot followed by the host's own state,
// framing the snapshot (flag 1, then its length) when it does not end by
// itself, and flag 0 before it when it does.
func writeSection(w io.Writer, v placement.View, mine string) error {
	if v.SnapshotSelfDelimiting() {
		if _, err := w.Write([]byte{0}); err != nil {
			return err
		}
		if err := v.WriteSnapshot(w); err != nil {
			return err
		}
	} else {
		var buf bytes.Buffer
		if err := v.WriteSnapshot(&buf); err != nil {
			return err
		}
		head := binary.AppendUvarint([]byte{1}, uint64(buf.Len()))
		if _, err := w.Write(append(head, buf.Bytes()...)); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, mine)
	return err
}

// readSection restores what writeSection wrote into fsm and returns the
// host's own state.
func readSection(r *bytes.Reader, fsm *placement.FSM) (string, error) {
	flag, err := r.ReadByte()
	if err != nil {
		return "", err
	}
	var section io.Reader = r
	if flag == 1 {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		section = io.LimitReader(r, int64(n))
	}
	if err := fsm.RestoreFrom(section); err != nil {
		return "", err
	}
	mine, err := io.ReadAll(r)
	return string(mine), err
}

// A host writes its own state after the placement section at every format
// version: it frames the section where the snapshot does not end by
// itself, at format versions 1 and 2 (every later version is as 3).
func ExampleView_SnapshotSelfDelimiting() {
	for _, version := range []uint64{1, 2, 3} {
		var snap bytes.Buffer
		v := mapAt(version).View()
		if err := writeSection(&snap, v, "my own state"); err != nil {
			panic(err)
		}
		reg := placement.NewShardRegistry()
		mine, err := readSection(bytes.NewReader(snap.Bytes()), placement.NewFSM(reg))
		if err != nil {
			panic(err)
		}
		fmt.Printf("format %d: self-delimiting %t, restored %d nodes and %d shard, then %q\n",
			version, v.SnapshotSelfDelimiting(), len(reg.View().Nodes()), reg.View().ShardCount(), mine)
	}
	// Output:
	// format 1: self-delimiting false, restored 2 nodes and 1 shard, then "my own state"
	// format 2: self-delimiting false, restored 2 nodes and 1 shard, then "my own state"
	// format 3: self-delimiting true, restored 2 nodes and 1 shard, then "my own state"
}

// SnapshotSelfDelimiting says exactly when ReadSnapshot leaves what follows
// the snapshot in the reader: from format version 3. Before it, bytes
// after the snapshot are read as its own and the snapshot is refused.
func TestSnapshotSelfDelimiting(t *testing.T) {
	for version := uint64(1); version <= placement.FormatVersion; version++ {
		t.Run(fmt.Sprintf("format %d", version), func(t *testing.T) {
			v := mapAt(version).View()
			require.Equal(t, version >= 3, v.SnapshotSelfDelimiting())
			var buf bytes.Buffer
			require.NoError(t, v.WriteSnapshot(&buf))
			buf.WriteString("tail")
			err := placement.NewShardRegistry().ReadSnapshot(&buf)
			if v.SnapshotSelfDelimiting() {
				require.NoError(t, err)
				require.Equal(t, "tail", buf.String())
			} else {
				require.ErrorIs(t, err, placement.ErrCorruptSnapshot)
			}
		})
	}
}

// closeTracker is a reader that records whether it was closed.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

// RestoreFrom reads exactly the section, leaves the rest, does not close
// its reader, and calls the restore function with the Views before and
// after; Restore closes its reader, even when the restore fails.
func TestRestoreFrom(t *testing.T) {
	var snap bytes.Buffer
	require.NoError(t, mapAt(placement.FormatVersion).View().WriteSnapshot(&snap))
	snap.WriteString("mine")

	reg := mapAt(placement.FormatVersion)
	require.NoError(t, reg.Apply(placement.AddNode{Node: 3}))
	var prevNodes, nextNodes int
	fsm := placement.NewFSM(reg, placement.WithRestoreFunc(func(prev, next placement.View) {
		prevNodes, nextNodes = len(prev.Nodes()), len(next.Nodes())
	}))
	r := &closeTracker{Reader: bytes.NewReader(snap.Bytes())}
	require.NoError(t, fsm.RestoreFrom(r))
	require.False(t, r.closed)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "mine", string(rest))
	require.Equal(t, 3, prevNodes)
	require.Equal(t, 2, nextNodes)

	for _, in := range [][]byte{snap.Bytes()[:snap.Len()-len("mine")], []byte("not a snapshot")} {
		rc := &closeTracker{Reader: bytes.NewReader(in)}
		_ = fsm.Restore(rc)
		require.True(t, rc.closed)
	}
	require.ErrorIs(t, fsm.Restore(&closeTracker{Reader: bytes.NewReader(nil)}), placement.ErrCorruptSnapshot)
}
