package placement

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
)

// Snapshot format (integers are unsigned varints unless said otherwise):
//
//	"PLSN" 1 nextID nodeCount (id state)* shardCount shard* crc32
//	"PLSN" 2 nextID flags format nodeCount (id state)* shardCount shard* crc32
//	"PLSN" 3 chunk* end crc32
//	         where the chunks' bytes, concatenated, are the body
//	         nextID flags format nodeCount (id state since)* shardCount shard*
//	         moveCount move* pause until policy?
//	pause until = the last SetPause's wire fields (0 0 when none)
//	"PLSN" 4 chunk* end crc32
//	         as version 3, then
//	         last recentCount recent*
//	policy?     = 0, or 1 and the last SetPolicy's wire fields (type 13),
//	         or, in version 4 only, 2 and its type 15 wire fields (a
//	         policy whose stability fields are not the defaults), or, in
//	         version 4 at format version 6 or later, 3 and its type 16
//	         wire fields (a policy with a tagged field not at its default)
//	last   = the newest log time applied (Unix nanoseconds), 0 if none
//	recent = shardID at from  (in shard ID order): the shards moved within
//	         MaxMoveCooldown of last, at the log time of their move, from
//	         the node they left
//	flags  = the last SetRebalancing's wire field (0 to 3)
//	format = the cluster's format version (SetFormatVersion)
//	shard  = id start end node epoch      (in key order)
//	start, end = uvarint(0) for nil, else uvarint(n+1) and n bytes (a
//	         start is the empty key, not nil; version 3 insists on it)
//	move   = shardID to began             (in shard ID order)
//	to     = the node the shard moves to; it moves from the shard's node
//	began  = when the move began, in Unix nanoseconds (at most MaxInt64),
//	         0 if unknown
//	chunk  = length (4 bytes, big-endian, 1 to 65536) and that many bytes;
//	         every chunk but the last is 65536 bytes long
//	end    = 4 zero bytes (a chunk of length 0)
//
// Each map is written in the oldest version that can hold it, so releases
// that read only older versions can still install what a cluster that has
// not raised its format writes: version 1 at format version 1 with no
// rebalancing flag; version 2 once the format version or a flag is set
// (both need format version 2), at format version 2; version 3 at format
// versions 3 and 4 (moves in flight need it); version 4 from format
// version 5 on (the cool-down's recent moves). Together with minimal varints and
// full chunks this gives every map exactly one encoding, which ReadSnapshot
// insists on (but that versions 1 and 2 may give the first start as nil).
//
// The trailing CRC-32C (4 bytes, big-endian) covers everything before it,
// including the header and, in version 3, the chunk framing. Soft stats are
// not included, so replicas that applied the same log write byte-identical
// snapshots.
//
// Only versions 3 and 4 are self-delimiting: ReadSnapshot reads exactly their bytes
// and leaves whatever follows in the reader, so a host can write its own
// state after it in the same stream. Versions 1 and 2 end where the stream
// ends; ReadSnapshot reads them to EOF.
const (
	snapshotMagic   = "PLSN"
	snapshotVersion = 1
	// snapshotVersionFlags adds the rebalancing flags and the format
	// version.
	snapshotVersionFlags = 2
	// snapshotVersionMoves adds the moves in flight and frames the body in
	// chunks, so a reader finds its end.
	snapshotVersionMoves = 3
	// snapshotVersionStable adds the recent moves and their clock, and a
	// policy's stability fields.
	snapshotVersionStable = 4

	snapshotHeaderLen = len(snapshotMagic) + 1
	// maxSnapshotChunk is the length of a full chunk and the most a reader
	// allocates for one length it has not yet read the bytes of.
	maxSnapshotChunk = 64 << 10
	// snapshotFlushAt is how much encoded body the writer gathers before
	// handing it on.
	snapshotFlushAt = 32 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotVersionOf returns the oldest snapshot version that holds s.
func snapshotVersionOf(s *state) byte {
	switch {
	case s.formatVersion >= versionStable:
		return snapshotVersionStable
	case s.formatVersion >= versionMoves || s.moves.Len() > 0:
		return snapshotVersionMoves
	case s.rebalancing.flags() != 0 || s.formatVersion != baseVersion:
		return snapshotVersionFlags
	}
	return snapshotVersion
}

// WriteSnapshot writes the view's replicated state (nodes, shards, moves in
// flight, the next-ID counter, the rebalancing flags and the format version)
// to w.
//
// From format version 3 on the snapshot is self-delimiting
// (SnapshotSelfDelimiting), so a host may write its own state after it in
// the same stream and ReadSnapshot (or FSM.RestoreFrom) leaves that
// unread. A cluster below format version 3 writes a version that ends only
// at the end of the stream, because that is what the releases it may
// still run read. A host that writes its own state after such a snapshot
// frames it: it writes the snapshot to a buffer and puts the buffer's
// length before it, and the reader restores from an io.LimitReader of that
// length. The reader cannot tell from the stream which the writer did
// before reading our section, so the host records it (a flag byte, say);
// ExampleView_SnapshotSelfDelimiting shows one way.
func (v View) WriteSnapshot(w io.Writer) error {
	s := v.state()
	version := snapshotVersionOf(s)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w, crc)
	if err := writeSnapshot(out, s, version); err != nil {
		return fmt.Errorf("placement: write snapshot: %w", err)
	}
	if _, err := w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fmt.Errorf("placement: write snapshot: %w", err)
	}
	return nil
}

// SnapshotSelfDelimiting reports whether the snapshot WriteSnapshot writes
// for v ends by itself, so that ReadSnapshot reads exactly its bytes and
// leaves what follows in the reader: true from format version 3 on (every
// new cluster is at the newest), false for a map at format version 1 or 2,
// whose snapshot is read to the end of the stream. When it is false, a
// host that writes its own state after our section frames the section
// itself (see WriteSnapshot). Two Views of the same map agree; it costs
// O(1).
func (v View) SnapshotSelfDelimiting() bool {
	return snapshotVersionOf(v.state()) >= snapshotVersionMoves
}

// writeSnapshot writes all of a snapshot but its checksum to out.
func writeSnapshot(out io.Writer, s *state, version byte) error {
	head := append([]byte(snapshotMagic), version)
	if version < snapshotVersionMoves {
		bw := bufio.NewWriterSize(out, 64<<10)
		if _, err := bw.Write(head); err != nil {
			return err
		}
		if err := writeBody(bw, s, version); err != nil {
			return err
		}
		return bw.Flush()
	}
	if _, err := out.Write(head); err != nil {
		return err
	}
	cw := &chunkWriter{out: out, buf: make([]byte, 4, 4+maxSnapshotChunk)}
	if err := writeBody(cw, s, version); err != nil {
		return err
	}
	return cw.close()
}

// writeBody writes the body of a snapshot of the given version (all of it
// after the header, less any chunk framing) to w, in pieces of about
// snapshotFlushAt bytes.
func writeBody(w io.Writer, s *state, version byte) error {
	var buf []byte
	buf = binary.AppendUvarint(buf, uint64(s.nextID))
	if version >= snapshotVersionFlags {
		buf = binary.AppendUvarint(buf, s.rebalancing.flags())
		buf = binary.AppendUvarint(buf, s.formatVersion)
	}
	buf = binary.AppendUvarint(buf, uint64(len(s.nodes)))
	for _, n := range s.nodes {
		buf = binary.AppendUvarint(buf, uint64(n.ID))
		buf = binary.AppendUvarint(buf, uint64(n.State))
		if version >= snapshotVersionMoves {
			buf = binary.AppendUvarint(buf, uint64(max(n.since, 0)))
		}
	}
	var err error
	flush := func() bool {
		if len(buf) >= snapshotFlushAt {
			_, err = w.Write(buf)
			buf = buf[:0]
		}
		return err == nil
	}
	buf = binary.AppendUvarint(buf, uint64(s.byStart.Len()))
	s.byStart.Ascend(func(r *shardRec) bool {
		buf = binary.AppendUvarint(buf, uint64(r.ID))
		buf = appendKey(buf, r.Range.Start)
		buf = appendKey(buf, r.Range.End)
		buf = binary.AppendUvarint(buf, uint64(r.Node))
		buf = binary.AppendUvarint(buf, r.Epoch)
		return flush()
	})
	if err != nil {
		return err
	}
	if version >= snapshotVersionMoves {
		buf = binary.AppendUvarint(buf, uint64(s.moves.Len()))
		s.moves.Ascend(func(m moveItem) bool {
			// from is the shard's node, which the shard record holds.
			buf = binary.AppendUvarint(buf, uint64(m.id))
			buf = binary.AppendUvarint(buf, uint64(m.to))
			buf = binary.AppendUvarint(buf, uint64(max(m.began, 0)))
			return flush()
		})
		if err != nil {
			return err
		}
		buf = appendSettings(buf, s, version)
	}
	if version >= snapshotVersionStable {
		buf = binary.AppendUvarint(buf, uint64(max(s.recent.last, 0)))
		buf = binary.AppendUvarint(buf, uint64(s.recent.len()))
		s.recent.byID.Ascend(func(it recentItem) bool {
			buf = binary.AppendUvarint(buf, uint64(it.id))
			buf = binary.AppendUvarint(buf, uint64(it.at))
			buf = binary.AppendUvarint(buf, uint64(it.from))
			return flush()
		})
		if err != nil {
			return err
		}
	}
	_, err = w.Write(buf)
	return err
}

// chunkWriter frames what is written to it as version 3 chunks: it sends
// each full chunk of maxSnapshotChunk bytes to out, and close sends the
// rest as a last, shorter chunk and then the end marker.
type chunkWriter struct {
	out io.Writer
	// buf is the pending chunk: 4 bytes for its length, then its bytes.
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf, p = c.buf[:len(c.buf)+k], p[k:]
		if len(c.buf) == cap(c.buf) {
			if err := c.emit(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// emit sends the pending chunk, which may be empty (the end marker).
func (c *chunkWriter) emit() error {
	binary.BigEndian.PutUint32(c.buf, uint32(len(c.buf)-4))
	_, err := c.out.Write(c.buf)
	c.buf = c.buf[:4]
	return err
}

func (c *chunkWriter) close() error {
	if len(c.buf) > 4 {
		if err := c.emit(); err != nil {
			return err
		}
	}
	return c.emit()
}

// ReadSnapshot replaces the registry's replicated state (nodes, shards,
// moves in flight and the next-ID counter, rebalancing flags and format
// version) with a snapshot written by View.WriteSnapshot. Soft stats start
// empty. It checks the snapshot's structure and checksum first; on any
// error, which wraps ErrCorruptSnapshot unless reading r failed, the
// registry is unchanged.
//
// A self-delimiting snapshot (View.SnapshotSelfDelimiting: what a cluster
// at format version 3 or later writes) is read exactly: bytes that follow
// it, such as a host's own state, stay in r. Older versions are read to
// the end of r, so a host that wrote its own state after one must have
// framed it (see View.WriteSnapshot) and pass a reader limited to it.
func (g *ShardRegistry) ReadSnapshot(r io.Reader) error {
	s, err := readSnapshot(r)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = s
	g.shared = false
	g.wake()
	return nil
}

// readSnapshot reads a snapshot, verifies its checksum, then decodes it
// into a fresh state.
func readSnapshot(r io.Reader) (*state, error) {
	head := make([]byte, snapshotHeaderLen)
	if err := readFull(r, head, "header"); err != nil {
		return nil, err
	}
	version := head[len(snapshotMagic)]
	if string(head[:len(snapshotMagic)]) != snapshotMagic || version < snapshotVersion || version > snapshotVersionStable {
		return nil, snapCorrupt("unknown header %q", head)
	}
	var data []byte // header and body
	if version < snapshotVersionMoves {
		all, err := io.ReadAll(io.MultiReader(bytes.NewReader(head), r))
		if err != nil {
			return nil, fmt.Errorf("placement: read snapshot: %w", err)
		}
		if len(all) < snapshotHeaderLen+4 {
			return nil, snapCorrupt("truncated: %d bytes", len(all))
		}
		data = all[:len(all)-4]
		if binary.BigEndian.Uint32(all[len(data):]) != crc32.Checksum(data, castagnoli) {
			return nil, snapCorrupt("checksum mismatch")
		}
	} else {
		var err error
		if data, err = readChunks(r, head); err != nil {
			return nil, err
		}
	}
	// Offsets in errors count the header and the body, not chunk framing.
	d := &decoder{buf: data, off: snapshotHeaderLen, sentinel: ErrCorruptSnapshot}
	s := decodeState(d, version)
	if d.err == nil && d.off != len(data) {
		d.fail(d.off, "%d trailing bytes", len(data)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

// readChunks reads the chunks of a version 3 snapshot, its end marker and
// its checksum, and no byte more, and returns head followed by the body.
// Its buffer grows with the bytes read (to at most twice them and a chunk),
// never with what a length only claims.
func readChunks(r io.Reader, head []byte) ([]byte, error) {
	crc := crc32.New(castagnoli)
	crc.Write(head)
	data := head
	var field [4]byte
	for {
		if err := readFull(r, field[:], "chunk length"); err != nil {
			return nil, err
		}
		crc.Write(field[:])
		u := binary.BigEndian.Uint32(field[:])
		if u == 0 {
			break
		}
		// Checked before allocating: a forged length must not size the
		// buffer. (Before converting it: a 32-bit int would turn a
		// length of 2^31 or more negative.)
		if u > maxSnapshotChunk {
			return nil, snapCorrupt("chunk length %d over %d", u, maxSnapshotChunk)
		}
		n := int(u)
		// Every chunk but the last is full: one framing per body.
		if body := len(data) - len(head); body%maxSnapshotChunk != 0 {
			return nil, snapCorrupt("chunk after a short one, at body byte %d", body)
		}
		if cap(data)-len(data) < n {
			// Doubling: the buffer stays within twice what was read.
			data = append(make([]byte, 0, max(2*cap(data), len(data)+n)), data...)
		}
		chunk := data[len(data) : len(data)+n]
		if err := readFull(r, chunk, "chunk"); err != nil {
			return nil, err
		}
		crc.Write(chunk)
		data = data[:len(data)+n]
	}
	if err := readFull(r, field[:], "checksum"); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(field[:]) != crc.Sum32() {
		return nil, snapCorrupt("checksum mismatch")
	}
	return data, nil
}

// readFull fills p from r. A snapshot that ends early is corrupt; other
// read errors are returned as they are, wrapped.
func readFull(r io.Reader, p []byte, what string) error {
	_, err := io.ReadFull(r, p)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return snapCorrupt("truncated in the %s", what)
	case err != nil:
		return fmt.Errorf("placement: read snapshot: %w", err)
	}
	return nil
}

func snapCorrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorruptSnapshot, fmt.Sprintf(format, args...))
}

// decodeState decodes a snapshot body of the given version, checking that
// the state is one the registry could have built: sorted unique nodes with
// valid states, shards in key order without overlap, on known nodes, with
// unique IDs below the next ID, and moves of known shards, each to another
// node that is up. Keys are copied out of the buffer, each boundary once.
func decodeState(d *decoder, version byte) *state {
	s := newState()
	start := d.off
	s.nextID = ShardID(d.uvarint("next ID"))
	if d.err == nil && s.nextID == 0 {
		d.fail(start, "next shard ID 0")
	}
	if version >= snapshotVersionFlags {
		start := d.off
		f, v := d.uvarint("rebalancing flags"), d.uvarint("format version")
		// A version is written only when it says something and the older
		// one cannot: version 2 at format 2 exactly (flags 0 at format 1
		// is version 1), version 3 from format 3 to the newest this
		// build could have written.
		lo, hi := uint64(versionFlags), uint64(versionFlags)
		switch version {
		case snapshotVersionMoves:
			lo, hi = versionMoves, versionDest
		case snapshotVersionStable:
			lo, hi = versionStable, formatVersion
		}
		if d.err == nil && (f > 3 || v < lo || v > hi) {
			d.fail(start, "invalid rebalancing flags %d or format version %d", f, v)
		}
		s.rebalancing = SetRebalancing{Bytes: f&1 != 0, Load: f&2 != 0}
		s.formatVersion = v
	}
	for n := d.uvarint("node count"); n > 0 && d.err == nil; n-- {
		start := d.off
		id, state := NodeID(d.uvarint("node ID")), d.uvarint("node state")
		var since uint64
		if version >= snapshotVersionMoves {
			since = d.uvarint("node state time")
		}
		// Validate the state before narrowing it: 257 is not "up".
		node := Node{ID: id, State: NodeState(state)}
		// A lost node needs format version 2, which a version-1 snapshot
		// cannot have.
		if d.err == nil && (id == 0 || state > uint64(NodeLost) || !node.State.Valid() ||
			(node.State == NodeLost && s.formatVersion < versionFlags) ||
			(len(s.nodes) > 0 && id <= s.nodes[len(s.nodes)-1].ID) || since > math.MaxInt64) {
			d.fail(start, "bad node %d in state %d", id, state)
		}
		s.nodes = append(s.nodes, nodeRec{Node: node, since: int64(since)})
	}
	var recs []*shardRec
	for n := d.uvarint("shard count"); n > 0 && d.err == nil; n-- {
		start := d.off
		r := &shardRec{sinceSplit: neverSplit}
		r.ID = ShardID(d.uvarint("shard ID"))
		r.Range.Start = d.key("range start")
		// The registry holds the first range start as the empty key, never
		// nil; versions 1 and 2 accept nil for it too.
		if d.err == nil && r.Range.Start == nil && version >= snapshotVersionMoves {
			d.fail(start, "shard %d starts at nil, not the empty key", r.ID)
		}
		r.Range.End = d.key("range end")
		r.Node = NodeID(d.uvarint("shard node"))
		r.Epoch = d.uvarint("shard epoch")
		var prev *shardRec
		if len(recs) > 0 {
			prev = recs[len(recs)-1]
		}
		switch {
		case d.err != nil:
			return nil
		case r.ID == 0 || r.ID >= s.nextID:
			d.fail(start, "shard ID %d not below next ID %d", r.ID, s.nextID)
		case r.Epoch == 0:
			d.fail(start, "shard %d at epoch 0", r.ID)
		case !r.Range.Valid() || (prev != nil && (prev.Range.End == nil || string(prev.Range.End) > string(r.Range.Start))):
			d.fail(start, "shard %d range %v out of order or overlapping", r.ID, r.Range)
		case s.nodeIndex(r.Node) < 0:
			d.fail(start, "shard %d on unknown node %d", r.ID, r.Node)
		default:
			if prev != nil && string(prev.Range.End) == string(r.Range.Start) {
				r.Range.Start = prev.Range.End // share the boundary key
			} else {
				r.Range.Start = append([]byte{}, r.Range.Start...)
			}
			if r.Range.End != nil {
				r.Range.End = append([]byte{}, r.Range.End...)
			}
			recs = append(recs, r)
		}
	}
	if d.err == nil {
		s.bulkInsert(recs, d)
	}
	if version >= snapshotVersionMoves && d.err == nil {
		s.decodeMoves(d)
	}
	if version >= snapshotVersionMoves && d.err == nil {
		s.decodeSettings(d, version)
	}
	if version >= snapshotVersionStable && d.err == nil {
		s.decodeRecent(d)
	}
	return s
}

// appendSettings appends the operator's settings: the pause as SetPause's
// wire fields, then 0 with no SetPolicy applied yet, or 1 and SetPolicy's
// wire fields.
func appendSettings(buf []byte, s *state, version byte) []byte {
	buf = appendPause(buf, SetPause{Paused: s.pause.paused, Until: unixTime(s.pause.until)})
	if s.policy == nil {
		return append(buf, 0)
	}
	if version >= snapshotVersionStable && s.policy.Policy.taggedVersion() != 0 {
		p := s.policy.Policy
		return appendTagged(appendStability(appendPolicy(append(buf, 3), *s.policy), p), p)
	}
	if version >= snapshotVersionStable && !s.policy.Policy.stabilityDefault() {
		return appendStability(appendPolicy(append(buf, 2), *s.policy), s.policy.Policy)
	}
	return appendPolicy(append(buf, 1), *s.policy)
}

// decodeSettings reads what appendSettings wrote, checking it as Apply
// would have.
func (s *state) decodeSettings(d *decoder, version byte) {
	start := d.off
	p := d.pause(start).(SetPause)
	if d.err == nil && !p.Paused && !p.Until.IsZero() {
		d.fail(start, "an expiry without a pause")
	}
	s.pause = pauseState{paused: p.Paused, until: unixNano(p.Until)}
	start = d.off
	maxFlag := uint64(1)
	switch {
	case version >= snapshotVersionStable && s.formatVersion >= versionCopy:
		maxFlag = 3
	case version >= snapshotVersionStable:
		maxFlag = 2
	}
	switch has := d.uvarint("policy present"); {
	case d.err != nil:
	case has > maxFlag:
		d.fail(start, "invalid policy flag %d", has)
	case has >= 1:
		var c SetPolicy
		switch has {
		case 3:
			c = d.policyFields(start).(SetPolicy)
		case 2:
			c = d.policyExt(start).(SetPolicy)
		default:
			c = d.policy(start).(SetPolicy)
		}
		if d.err == nil && (c.Policy.validateLogged() != nil || c.MaxActionsPerTick < 1) {
			d.fail(start, "invalid policy")
		}
		s.policy = &c
	}
}

// decodeMoves decodes the moves in flight into s, which holds the
// snapshot's nodes and shards: each of a known shard, in shard ID order,
// to an up node other than the shard's (a move into a node that leaves the
// up state is aborted then), begun at a time that fits an int64.
func (s *state) decodeMoves(d *decoder) {
	var prev ShardID
	for n := d.uvarint("move count"); n > 0 && d.err == nil; n-- {
		start := d.off
		id, to, began := ShardID(d.uvarint("move shard")), NodeID(d.uvarint("move target")), d.uvarint("move start")
		if d.err != nil {
			return
		}
		r, ok := s.w.shard(s, id)
		i := s.nodeIndex(to)
		switch {
		case id <= prev:
			d.fail(start, "move of shard %d out of order, after shard %d", id, prev)
		case !ok:
			d.fail(start, "move of unknown shard %d", id)
		case i < 0 || s.nodes[i].State != NodeUp || to == r.Node:
			d.fail(start, "move of shard %d on node %d to node %d, unknown, not up or the same", id, r.Node, to)
		case began > math.MaxInt64:
			d.fail(start, "move of shard %d began at %d", id, began)
		default:
			s.moves.ReplaceOrInsert(moveItem{id: id, from: r.Node, to: to, began: int64(began), rec: r})
			prev = id
		}
	}
}

// bulkInsert adds restored shards, given in key order, to a fresh state. It
// inserts into each index in that index's order, which keeps every insert on
// the rightmost, cache-warm path: at 1M shards that is several times faster
// than inserting in key order everywhere. Duplicate IDs fail d.
func (s *state) bulkInsert(recs []*shardRec, d *decoder) {
	for _, r := range recs {
		s.byStart.ReplaceOrInsert(r)
	}
	type item struct {
		node NodeID
		id   ShardID
		r    *shardRec
	}
	items := make([]item, len(recs))
	for i, r := range recs {
		items[i] = item{r.Node, r.ID, r}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.id, b.id) })
	for i, it := range items {
		if i > 0 && items[i-1].id == it.id {
			d.fail(d.off, "duplicate shard ID %d", it.id)
			return
		}
		s.byID.ReplaceOrInsert(it.r)
	}
	// Restored shards have unknown stats, so byNode orders them by
	// (node, ID).
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.node, b.node); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, it := range items {
		s.byNode.ReplaceOrInsert(it.r)
		s.nodes[s.nodeIndex(it.node)].Shards++
	}
}

// decodeRecent decodes the recent moves into s, which holds the
// snapshot's shards: each of a known shard, in shard ID order, at a time
// within MaxMoveCooldown before the clock and not after it.
func (s *state) decodeRecent(d *decoder) {
	start := d.off
	last := d.uvarint("recent moves clock")
	if d.err == nil && last > math.MaxInt64 {
		d.fail(start, "recent moves clock %d out of range", last)
	}
	s.recent.last = int64(last)
	var prev ShardID
	for n := d.uvarint("recent move count"); n > 0 && d.err == nil; n-- {
		start := d.off
		id, at := ShardID(d.uvarint("recent move shard")), d.uvarint("recent move time")
		from := NodeID(d.uvarint("recent move source"))
		if d.err != nil {
			return
		}
		sh, ok := s.w.shard(s, id)
		if !ok || id <= prev || at == 0 || at > last || from == 0 || from == sh.Node ||
			int64(at) < s.recent.last-int64(MaxMoveCooldown) {
			d.fail(start, "invalid recent move of shard %d at %d", id, at)
			return
		}
		prev = id
		// A snapshot carries no sizes, nor whether a move was a drain:
		// the churn budget counts each of these moves, at the mean size.
		s.recent.insert(recentItem{id: id, at: int64(at), from: from})
	}
}
