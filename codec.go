package placement

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Wire format of one log entry:
//
//	entry   = magic version count command*
//	magic   = 0xB7
//	version = the lowest that can carry the commands: 0x01, or 0x02 for
//	          an entry with a command new in version 2 (SetRebalancing,
//	          SetFormatVersion, SetNodeState to NodeLost), 0x03 with one
//	          new in version 3 (CompleteTransfer, AbortTransfer, SetPause,
//	          SetPolicy), 0x04 with a CompleteTransfer that names its
//	          destination (type 14), 0x05 with a SetPolicy of type 15,
//	          or 0x06 with one of type 16 (codec_settings.go)
//	count   = uvarint
//	command = type field*          (fields in struct declaration order)
//	type    = one byte, a CommandType
//	field   = uvarint              (IDs, epochs, node states, flags)
//	        | key                  (key bytes)
//	key     = uvarint(0)           (nil: absent or unbounded)
//	        | uvarint(n+1) n*byte  (n bytes, so nil and empty differ)
//
// Every uvarint is minimal, so an entry has exactly one encoding and a
// decoded batch re-encodes to the same bytes.
const (
	entryMagic = 0xB7
	// formatVersion is the newest entry format this build reads and
	// writes; baseVersion the one entries without newer commands use.
	formatVersion = versionCopy
	baseVersion   = 1
	// versionFlags added SetRebalancing, SetFormatVersion and NodeLost;
	// versionMoves the two-phase transfer (CompleteTransfer,
	// AbortTransfer, and PlaceTransfer beginning a move), SetPause and
	// SetPolicy; versionDest a CompleteTransfer that names its
	// destination (a retry after it applied succeeds), and a node going
	// lost aborting the moves out of it too; versionStable a SetPolicy
	// with stability fields other than the defaults; versionCopy a
	// SetPolicy with tagged fields (type 16), the first MinCopyRate.
	versionFlags  = 2
	versionMoves  = 3
	versionDest   = 4
	versionStable = 5
	versionCopy   = 6

	headerLen = 2
	// minCommandLen is a type byte plus the shortest field (a one-byte
	// uvarint); it bounds the count Decode accepts before allocating.
	minCommandLen = 2
)

// IsEntry reports whether data starts with this package's entry header: its
// magic byte and any format version, known to this build or newer, so a
// host with its own FSM routes every such log entry to FSM.ApplyEntry (which
// stops the replica on a version it cannot read rather than skip it). It
// does not validate the rest.
func IsEntry(data []byte) bool {
	return len(data) >= headerLen && data[0] == entryMagic && data[1] >= baseVersion
}

// versionFor returns the lowest entry format that can carry cmds.
//
// A SetFormatVersion is written at the version it enables (from 2 up to
// this build's): a server that cannot read that version stops at the entry
// (FSM.ApplyEntry panics) instead of rejecting the command and then
// applying, the old way, commands whose meaning the new version changes
// (PlaceTransfer begins a move from version 3).
func versionFor(cmds []Command) byte {
	v := uint64(baseVersion)
	for _, c := range cmds {
		if f, ok := c.(SetFormatVersion); ok {
			v = max(v, min(max(f.Version, versionFlags), formatVersion))
			continue
		}
		v = max(v, needs(c))
	}
	return byte(v)
}

// needs returns the cluster format version that enables c: the version
// the log must hold (SetFormatVersion) before c may be proposed, since a
// server of an older release cannot read it. A SetFormatVersion needs
// none: it is how a version is enabled.
func needs(c Command) uint64 {
	switch c := c.(type) {
	case CompleteTransfer:
		if c.To != 0 {
			return versionDest
		}
		return versionMoves
	case SetPolicy:
		if v := c.Policy.taggedVersion(); v != 0 {
			return v
		}
		if !c.Policy.stabilityDefault() {
			return versionStable
		}
		return versionMoves
	case AbortTransfer, SetPause:
		return versionMoves
	case SetRebalancing:
		return versionFlags
	case SetNodeState:
		if c.State == NodeLost {
			return versionFlags
		}
	}
	return baseVersion
}

// Encode returns cmds as one log entry, for RaftNode.Apply. A call with no
// commands yields a valid entry that decodes to an empty batch.
//
// Encode panics if a command is nil or not one of this package's command
// types, or holds a value the wire cannot carry as it is (see
// CheckProposal): it never writes a different value in its place. It
// encodes SetNodeState states as given; Decode rejects an entry carrying a
// state that is not Valid.
func Encode(cmds ...Command) []byte {
	return AppendEncode(make([]byte, 0, encodedLen(cmds)), cmds...)
}

// AppendEncode appends the entry Encode would return to dst and returns the
// extended slice. It does not allocate when dst has enough spare capacity,
// so a proposer can reuse one buffer. It panics as Encode does.
func AppendEncode(dst []byte, cmds ...Command) []byte {
	dst = append(dst, entryMagic, versionFor(cmds))
	dst = binary.AppendUvarint(dst, uint64(len(cmds)))
	for _, c := range cmds {
		dst = appendCommand(dst, c)
	}
	return dst
}

func appendCommand(dst []byte, c Command) []byte {
	switch c := c.(type) {
	case AddNode:
		dst = append(dst, byte(TypeAddNode))
		return binary.AppendUvarint(dst, uint64(c.Node))
	case SetNodeState:
		dst = append(dst, byte(TypeSetNodeState))
		dst = binary.AppendUvarint(dst, uint64(c.Node))
		return binary.AppendUvarint(dst, uint64(c.State))
	case RemoveNode:
		dst = append(dst, byte(TypeRemoveNode))
		return binary.AppendUvarint(dst, uint64(c.Node))
	case CreateShard:
		dst = append(dst, byte(TypeCreateShard))
		dst = binary.AppendUvarint(dst, uint64(c.ID))
		dst = appendKey(dst, c.Range.Start)
		dst = appendKey(dst, c.Range.End)
		return binary.AppendUvarint(dst, uint64(c.Node))
	case PlaceSplit:
		dst = append(dst, byte(TypePlaceSplit))
		dst = binary.AppendUvarint(dst, uint64(c.Shard))
		dst = binary.AppendUvarint(dst, c.Epoch)
		return appendKey(dst, c.SplitKey)
	case PlaceMerge:
		dst = append(dst, byte(TypePlaceMerge))
		dst = binary.AppendUvarint(dst, uint64(c.Left))
		dst = binary.AppendUvarint(dst, c.LeftEpoch)
		dst = binary.AppendUvarint(dst, uint64(c.Right))
		return binary.AppendUvarint(dst, c.RightEpoch)
	case PlaceTransfer:
		dst = append(dst, byte(TypePlaceTransfer))
		dst = binary.AppendUvarint(dst, uint64(c.Shard))
		dst = binary.AppendUvarint(dst, c.Epoch)
		dst = binary.AppendUvarint(dst, uint64(c.From))
		return binary.AppendUvarint(dst, uint64(c.To))
	case SetRebalancing:
		dst = append(dst, byte(TypeSetRebalancing))
		return binary.AppendUvarint(dst, c.flags())
	case SetFormatVersion:
		dst = append(dst, byte(TypeSetFormatVersion))
		return binary.AppendUvarint(dst, c.Version)
	case CompleteTransfer:
		if c.To != 0 {
			dst = append(dst, byte(TypeCompleteTransferTo))
			dst = binary.AppendUvarint(dst, uint64(c.Shard))
			dst = binary.AppendUvarint(dst, c.Epoch)
			return binary.AppendUvarint(dst, uint64(c.To))
		}
		dst = append(dst, byte(TypeCompleteTransfer))
		dst = binary.AppendUvarint(dst, uint64(c.Shard))
		return binary.AppendUvarint(dst, c.Epoch)
	case AbortTransfer:
		dst = append(dst, byte(TypeAbortTransfer))
		dst = binary.AppendUvarint(dst, uint64(c.Shard))
		return binary.AppendUvarint(dst, c.Epoch)
	case SetPause:
		dst = append(dst, byte(TypeSetPause))
		return appendPause(dst, c)
	case SetPolicy:
		return appendPolicyCommand(dst, c)
	}
	panic(fmt.Sprintf("placement: cannot encode command of type %T", c))
}

func appendKey(dst, key []byte) []byte {
	if key == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(key))+1)
	return append(dst, key...)
}

// encodedLen returns the exact length of the entry for cmds, so Encode
// allocates once. Unknown commands count as zero; appendCommand panics.
func encodedLen(cmds []Command) int {
	n := headerLen + uvarintLen(uint64(len(cmds)))
	for _, c := range cmds {
		n++ // type byte
		switch c := c.(type) {
		case AddNode:
			n += uvarintLen(uint64(c.Node))
		case SetNodeState:
			n += uvarintLen(uint64(c.Node)) + uvarintLen(uint64(c.State))
		case RemoveNode:
			n += uvarintLen(uint64(c.Node))
		case CreateShard:
			n += uvarintLen(uint64(c.ID)) + keyLen(c.Range.Start) + keyLen(c.Range.End) +
				uvarintLen(uint64(c.Node))
		case PlaceSplit:
			n += uvarintLen(uint64(c.Shard)) + uvarintLen(c.Epoch) + keyLen(c.SplitKey)
		case PlaceMerge:
			n += uvarintLen(uint64(c.Left)) + uvarintLen(c.LeftEpoch) +
				uvarintLen(uint64(c.Right)) + uvarintLen(c.RightEpoch)
		case PlaceTransfer:
			n += uvarintLen(uint64(c.Shard)) + uvarintLen(c.Epoch) +
				uvarintLen(uint64(c.From)) + uvarintLen(uint64(c.To))
		case SetRebalancing:
			n++ // flags < 4: one byte
		case SetFormatVersion:
			n += uvarintLen(c.Version)
		case CompleteTransfer:
			n += uvarintLen(uint64(c.Shard)) + uvarintLen(c.Epoch)
			if c.To != 0 {
				n += uvarintLen(uint64(c.To))
			}
		case AbortTransfer:
			n += uvarintLen(uint64(c.Shard)) + uvarintLen(c.Epoch)
		case SetPause:
			n += len(appendPause(nil, c))
		case SetPolicy:
			n += len(appendPolicyCommand(nil, c)) - 1 // less the type byte
		}
	}
	return n
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

func keyLen(key []byte) int {
	if key == nil {
		return 1
	}
	return uvarintLen(uint64(len(key))+1) + len(key)
}

// Decode parses one log entry produced by Encode. It is strict: anything but
// the exact canonical encoding of a batch (truncation, trailing bytes,
// unknown versions or types, non-minimal or overflowing varints, invalid
// node states, counts or lengths the input cannot hold) yields an error that
// wraps ErrCorruptCommand and names the byte offset. It allocates only the
// result slice and one value per command.
//
// Decoded keys alias entry (with their capacity clipped, so appending to one
// cannot overwrite the input). Callers that keep them longer than entry must
// copy them; ShardRegistry.Apply copies the keys it stores. A nil key decodes
// as nil and an empty one as a non-nil empty slice.
func Decode(entry []byte) ([]Command, error) {
	if len(entry) == 0 {
		return nil, corrupt(0, "empty entry")
	}
	if entry[0] != entryMagic {
		return nil, corrupt(0, "bad magic byte 0x%02x", entry[0])
	}
	if len(entry) < headerLen {
		return nil, corrupt(1, "truncated header")
	}
	switch v := entry[1]; {
	case v > formatVersion:
		// Wraps ErrCorruptCommand too: to this build it does not decode.
		return nil, fmt.Errorf("%w: %w: format version %d (this build reads up to %d)",
			ErrCorruptCommand, ErrNewerFormat, v, formatVersion)
	case v < baseVersion:
		return nil, corrupt(1, "unknown format version %d", v)
	}
	d := decoder{buf: entry, off: headerLen}
	count := d.uvarint("command count")
	if d.err != nil {
		return nil, d.err
	}
	// Checked before allocating: a forged count must not size the slice.
	if count > uint64(len(entry)-d.off)/minCommandLen {
		return nil, corrupt(headerLen, "command count %d exceeds what %d remaining bytes can hold",
			count, len(entry)-d.off)
	}
	cmds := make([]Command, 0, count)
	for range count {
		cmd := d.command()
		if d.err != nil {
			return nil, d.err
		}
		cmds = append(cmds, cmd)
	}
	if d.off != len(entry) {
		return nil, corrupt(d.off, "%d trailing bytes", len(entry)-d.off)
	}
	// One encoding per batch: the lowest version that carries it.
	if need := versionFor(cmds); entry[1] != need {
		return nil, corrupt(1, "format version %d for commands that need %d", entry[1], need)
	}
	return cmds, nil
}

// decoder reads fields from buf. The first failure is kept in err and moves
// off to the end of buf, so later reads fail too and return zero values;
// callers check err once per command.
type decoder struct {
	buf []byte
	off int
	err error
	// sentinel is what errors wrap: ErrCorruptCommand when nil.
	sentinel error
}

func (d *decoder) command() Command {
	if d.off >= len(d.buf) {
		d.fail(d.off, "truncated: missing command type")
		return nil
	}
	start := d.off
	typ := CommandType(d.buf[d.off])
	d.off++
	switch typ {
	case TypeAddNode:
		return AddNode{Node: NodeID(d.uvarint("node"))}
	case TypeSetNodeState:
		return SetNodeState{Node: NodeID(d.uvarint("node")), State: d.state()}
	case TypeRemoveNode:
		return RemoveNode{Node: NodeID(d.uvarint("node"))}
	case TypeCreateShard:
		return CreateShard{
			ID:    ShardID(d.uvarint("shard ID")),
			Range: KeyRange{Start: d.key("range start"), End: d.key("range end")},
			Node:  NodeID(d.uvarint("node")),
		}
	case TypePlaceSplit:
		return PlaceSplit{
			Shard:    ShardID(d.uvarint("shard")),
			Epoch:    d.uvarint("epoch"),
			SplitKey: d.key("split key"),
		}
	case TypePlaceMerge:
		return PlaceMerge{
			Left:       ShardID(d.uvarint("left shard")),
			LeftEpoch:  d.uvarint("left epoch"),
			Right:      ShardID(d.uvarint("right shard")),
			RightEpoch: d.uvarint("right epoch"),
		}
	case TypePlaceTransfer:
		return PlaceTransfer{
			Shard: ShardID(d.uvarint("shard")),
			Epoch: d.uvarint("epoch"),
			From:  NodeID(d.uvarint("from node")),
			To:    NodeID(d.uvarint("to node")),
		}
	case TypeSetRebalancing:
		f := d.uvarint("rebalancing flags")
		if d.err == nil && f > 3 {
			d.fail(start, "invalid rebalancing flags %d", f)
		}
		return SetRebalancing{Bytes: f&1 != 0, Load: f&2 != 0}
	case TypeSetFormatVersion:
		return SetFormatVersion{Version: d.uvarint("format version")}
	case TypeCompleteTransfer:
		return CompleteTransfer{Shard: ShardID(d.uvarint("shard")), Epoch: d.uvarint("epoch")}
	case TypeCompleteTransferTo:
		c := CompleteTransfer{Shard: ShardID(d.uvarint("shard")), Epoch: d.uvarint("epoch")}
		c.To = NodeID(d.uvarint("to node"))
		if d.err == nil && c.To == 0 {
			// Type 10 is the encoding without a destination.
			d.fail(start, "complete-transfer to node 0")
		}
		return c
	case TypeAbortTransfer:
		return AbortTransfer{Shard: ShardID(d.uvarint("shard")), Epoch: d.uvarint("epoch")}
	case TypeSetPause:
		return d.pause(start)
	case TypeSetPolicy:
		return d.policy(start)
	case TypeSetPolicyExt:
		return d.policyExt(start)
	case TypeSetPolicyFields:
		return d.policyFields(start)
	}
	d.fail(start, "unknown command type %d", typ)
	return nil
}

// uvarint reads a minimal unsigned varint; field names it in errors.
func (d *decoder) uvarint(field string) uint64 {
	start := d.off
	x, problem := d.readUvarint()
	if problem != "" {
		d.fail(start, "%s %s", problem, field)
	}
	return x
}

// readUvarint returns the next varint, or a problem such as "truncated"
// and leaves off unchanged.
func (d *decoder) readUvarint() (uint64, string) {
	if d.off < len(d.buf) && d.buf[d.off] < 0x80 { // the common one-byte case
		d.off++
		return uint64(d.buf[d.off-1]), ""
	}
	x, n := binary.Uvarint(d.buf[d.off:])
	switch {
	case n == 0:
		return 0, "truncated"
	case n < 0:
		return 0, "uint64 overflow in"
	case d.buf[d.off+n-1] == 0:
		// A trailing zero group only pads the value; rejecting it keeps
		// the encoding canonical.
		return 0, "non-minimal varint for"
	}
	d.off += n
	return x, ""
}

func (d *decoder) state() NodeState {
	start := d.off
	v := d.uvarint("node state")
	if d.err == nil && (v > 0xff || !NodeState(v).Valid()) {
		d.fail(start, "invalid node state %d", v)
	}
	return NodeState(v)
}

// key reads a length-prefixed key, aliasing buf.
func (d *decoder) key(field string) []byte {
	start := d.off
	prefix, problem := d.readUvarint()
	switch {
	case problem != "":
		d.fail(start, "%s %s length", problem, field)
		return nil
	case prefix == 0:
		return nil
	}
	n := prefix - 1
	if n > uint64(len(d.buf)-d.off) {
		d.fail(start, "%s length %d exceeds the %d remaining bytes", field, n, len(d.buf)-d.off)
		return nil
	}
	end := d.off + int(n)
	k := d.buf[d.off:end:end]
	d.off = end
	return k
}

// fail records the first error and moves off to the end, so later reads
// take the slow path and return zero values.
func (d *decoder) fail(off int, format string, args ...any) {
	if d.err == nil {
		d.err = corrupt(off, format, args...)
		if d.sentinel != nil {
			d.err = fmt.Errorf("%w: %s at byte offset %d", d.sentinel, fmt.Sprintf(format, args...), off)
		}
	}
	d.off = len(d.buf)
}

func corrupt(off int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte offset %d", ErrCorruptCommand, fmt.Sprintf(format, args...), off)
}
