package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// A follower whose log has an uncommitted tail that a new leader's log
// contradicts deletes that tail ("clearing log suffix": raft calls
// DeleteRange(first conflicting index, last index)) and appends the
// leader's entries in its place. The node's next start must read every
// entry back: raft.NewRaft reads the last one, and replication or a replay
// the rest. raft-wal v0.4.0 sealed the truncated tail segment without an
// index block, so every read from it after a reopen failed with "sealed
// segment has no index block" and the node could not start (issue 17).
func TestRaftLogReadsBackAfterTailTruncationAndReopen(t *testing.T) {
	for _, tc := range []struct {
		name        string
		segmentSize int    // 0: raft-wal's default, one segment for all
		entries     uint64 // appended before the truncation
		keep        uint64 // last index kept by it
		appended    uint64 // appended after it, from keep+1: the new leader's entries
	}{
		{name: "within one segment", entries: 20, keep: 15},
		{name: "within one segment, then new entries", entries: 20, keep: 15, appended: 8},
		{name: "within the open segment after rotations", segmentSize: 4 << 10, entries: 200, keep: 195, appended: 10},
		{name: "across segments", segmentSize: 4 << 10, entries: 200, keep: 120},
		{name: "across segments, then new entries", segmentSize: 4 << 10, entries: 200, keep: 120, appended: 100},
		{name: "everything after the first", entries: 10, keep: 1, appended: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			open := func() testWAL {
				t.Helper()
				w, err := openWAL(dir, tc.segmentSize)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				// Closed here too if the test stops early; a second
				// Close is a no-op.
				t.Cleanup(func() { _ = w.Close() })
				return w
			}
			closeWAL := func(w testWAL) {
				t.Helper()
				if err := w.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
			}
			w := open()
			storeTerm(t, w, 1, tc.entries, 1)
			if err := w.DeleteRange(tc.keep+1, tc.entries); err != nil {
				t.Fatalf("DeleteRange(%d, %d): %v", tc.keep+1, tc.entries, err)
			}
			last := tc.keep
			requireLog(t, w, last, tc.keep+1, "after the truncation")
			if tc.appended > 0 {
				storeTerm(t, w, last+1, last+tc.appended, 2)
				last += tc.appended
				requireLog(t, w, last, tc.keep+1, "after the new entries")
			}
			closeWAL(w)

			w = open()
			requireLog(t, w, last, tc.keep+1, "after a reopen")
			// And the reopened log takes more entries, which read back too.
			storeTerm(t, w, last+1, last+5, 3)
			requireLog(t, w, last+5, tc.keep+1, "after appending to the reopened log")
			closeWAL(w)
		})
	}
}

// testWAL is a raft-wal log and the meta store it was opened with.
type testWAL struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

// Close closes the log and its meta store. raft-wal v0.4.0's Close leaves
// the meta store (a bolt file) open, and its lock would hold up a reopen in
// the same process for ever; a process that exits, like the node, drops it
// anyway. From v0.4.1 the log closes it itself, and the second Close is a
// no-op.
func (w testWAL) Close() error {
	return errors.Join(w.WAL.Close(), w.meta.Close())
}

// openWAL opens a raft-wal log in dir as the node does, with segments of
// segmentSize bytes unless it is 0.
func openWAL(dir string, segmentSize int) (testWAL, error) {
	meta := &metadb.BoltMetaDB{}
	var (
		w   *wal.WAL
		err error
	)
	if segmentSize > 0 {
		w, err = wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(segmentSize))
	} else {
		w, err = wal.Open(dir, wal.WithMetaStore(meta))
	}
	return testWAL{WAL: w, meta: meta}, err
}

// logData is entry i's payload: big enough that a few dozen fill a small
// segment, and telling which term wrote it.
func logData(i, term uint64) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "entry %d term %d;", i, term), 8)
}

// storeTerm appends entries from..to of term, one batch per entry as a
// follower storing a leader's stream would.
func storeTerm(t *testing.T, w raft.LogStore, from, to, term uint64) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := w.StoreLogs([]*raft.Log{{Index: i, Term: term, Type: raft.LogCommand, Data: logData(i, term)}}); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
}

// requireLog checks that w holds indexes 1..last and that every entry
// reads back with the payload of the term that wrote it: term 1 below
// newFrom, a later one from it (the payload says which).
func requireLog(t *testing.T, w raft.LogStore, last, newFrom uint64, when string) {
	t.Helper()
	first, err := w.FirstIndex()
	if err != nil || first != 1 {
		t.Fatalf("%s: first index %d, %v; want 1", when, first, err)
	}
	got, err := w.LastIndex()
	if err != nil || got != last {
		t.Fatalf("%s: last index %d, %v; want %d", when, got, err, last)
	}
	for i := uint64(1); i <= last; i++ {
		var l raft.Log
		if err := w.GetLog(i, &l); err != nil {
			t.Fatalf("%s: GetLog(%d) of 1..%d: %v", when, i, last, err)
		}
		ok := l.Index == i && bytes.Equal(l.Data, logData(i, l.Term))
		if i < newFrom {
			ok = ok && l.Term == 1
		} else {
			ok = ok && l.Term > 1
		}
		if !ok {
			t.Fatalf("%s: entry %d reads back as index %d term %d data %.40q", when, i, l.Index, l.Term, l.Data)
		}
	}
}
