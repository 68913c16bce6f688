package placement

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Wire fields of the operator's settings (format version 3):
//
//	SetPause  = paused until          paused 0 or 1; until in Unix
//	                                  nanoseconds, 0 for no expiry
//	SetPolicy = SplitKeys SplitBytes MergeKeys MergeBytes MergeMaxFraction
//	            MergeEmbargo ImbalanceThreshold StopBand CountTolerance
//	            LoadThreshold LoadStopBand MaxMovesPerNode
//	            MaxInflightPerNode MaxInflightBytesPerNode MoveTimeout
//	            InstantMoves DownTimeout MaxActionsPerTick
//
// in that order, and for TypeSetPolicyExt (format version 5) and
// TypeSetPolicyFields (format version 6) then
//
//	            MinGain MoveCooldown LoadHalfLife
//
// and for TypeSetPolicyFields then the fields added from format version 6
// on, by tag:
//
//	            count (tag value)*count
//
// count at least 1, tags strictly ascending, each a field whose value is
// not DefaultPolicy's (a field at its default is left out, so a policy has
// one encoding), and each known to the reader: tag 1 is MinCopyRate, 2
// ChurnBytesPerHour, 3 ChurnShardsPerHour (IEEE 754 bits) and 4
// RebalanceWindows (format version 6 all; the windows packed 21 bits a
// used range, Start × 1441 + End + 1, the first lowest, so 0 is none), 5
// SendBytesPerSecond and 6 ReceiveBytesPerSecond (format version 6). A later field takes the next tag and the format version that
// brings it, not a new command type. Fields are
// each a uvarint: floats as their IEEE 754 bits, durations
// in nanoseconds (0 to 2^63-1), counts 0 to 2^31-1 whatever the size of
// int on the server that writes or reads them (so 32- and 64-bit servers
// decode one policy alike), booleans as 0 or 1. A value outside those
// ranges cannot be encoded: Encode panics on it rather than write another
// (CheckProposal reports it first), and Decode rejects it.

func appendPause(dst []byte, c SetPause) []byte {
	if err := pauseWire(c); err != nil {
		panic(err.Error())
	}
	dst = binary.AppendUvarint(dst, boolField(c.Paused))
	return binary.AppendUvarint(dst, uint64(unixNano(c.Until)))
}

func appendPolicy(dst []byte, c SetPolicy) []byte {
	if err := policyWire(c); err != nil {
		panic(err.Error())
	}
	p := c.Policy
	for _, v := range [...]uint64{
		p.SplitKeys, p.SplitBytes, p.MergeKeys, p.MergeBytes,
		math.Float64bits(p.MergeMaxFraction), uint64(p.MergeEmbargo),
		math.Float64bits(p.ImbalanceThreshold), math.Float64bits(p.StopBand),
		math.Float64bits(p.CountTolerance), math.Float64bits(p.LoadThreshold),
		math.Float64bits(p.LoadStopBand), uint64(p.MaxMovesPerNode),
		uint64(p.MaxInflightPerNode), p.MaxInflightBytesPerNode,
		uint64(p.MoveTimeout), boolField(p.InstantMoves),
		uint64(p.DownTimeout), uint64(c.MaxActionsPerTick),
	} {
		dst = binary.AppendUvarint(dst, v)
	}
	return dst
}

func boolField(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// maxWireCount bounds the counts of a SetPolicy on the wire: the largest
// int of a 32-bit server.
const maxWireCount = math.MaxInt32

// pauseWire returns why c cannot be encoded as it is, or nil: an expiry
// outside what a log entry holds (after 1970, before 2262) would otherwise
// be written as "no expiry".
func pauseWire(c SetPause) error {
	if !c.Until.IsZero() && (unixNano(c.Until) == 0 || c.Until.After(time.Unix(0, math.MaxInt64))) {
		return fmt.Errorf("placement: %v: pause expiry %v outside 1970-2262: %w", c, c.Until, ErrInvalidCommand)
	}
	return nil
}

// policyWire returns why c cannot be encoded as it is, or nil: a negative
// duration or count, or a count above maxWireCount.
func policyWire(c SetPolicy) error {
	p := c.Policy
	for _, f := range [...]struct {
		name string
		v    int
	}{
		{"MaxMovesPerNode", p.MaxMovesPerNode}, {"MaxInflightPerNode", p.MaxInflightPerNode},
		{"MaxActionsPerTick", c.MaxActionsPerTick},
	} {
		if f.v < 0 || int64(f.v) > maxWireCount {
			return fmt.Errorf("placement: set-policy: %s %d outside 0..%d: %w", f.name, f.v, maxWireCount, ErrInvalidCommand)
		}
	}
	if err := p.validWindows(); err != nil {
		return fmt.Errorf("placement: set-policy: %w: %w", err, ErrInvalidCommand)
	}
	if p.MoveTimeout < 0 {
		return fmt.Errorf("placement: set-policy: MoveTimeout %v is negative: %w", p.MoveTimeout, ErrInvalidCommand)
	}
	if p.DownTimeout < 0 {
		return fmt.Errorf("placement: set-policy: DownTimeout %v is negative: %w", p.DownTimeout, ErrInvalidCommand)
	}
	if p.MoveCooldown < 0 {
		return fmt.Errorf("placement: set-policy: MoveCooldown %v is negative: %w", p.MoveCooldown, ErrInvalidCommand)
	}
	return nil
}

// stabilityDefault reports whether p's stability fields (MinGain,
// MoveCooldown, LoadHalfLife) are DefaultPolicy's: what a SetPolicy of
// wire type 13 carries implicitly.
func (p Policy) stabilityDefault() bool {
	d := DefaultPolicy()
	return math.Float64bits(p.MinGain) == math.Float64bits(d.MinGain) &&
		p.MoveCooldown == d.MoveCooldown && p.LoadHalfLife == d.LoadHalfLife
}

// withLaterDefaults returns p with DefaultPolicy's values for the fields
// added after format version 3 (the stability fields and the tagged ones):
// what a SetPolicy of wire type 13, or a JSON form without them, carries.
func (p Policy) withLaterDefaults() Policy {
	d := DefaultPolicy()
	p.MinGain, p.MoveCooldown, p.LoadHalfLife = d.MinGain, d.MoveCooldown, d.LoadHalfLife
	for _, f := range policyTags {
		f.set(&p, f.get(d))
	}
	return p
}

// policyTags are the Policy fields a TypeSetPolicyFields carries by tag, in
// tag order (tag i+1 is policyTags[i]): how to read and set each as its
// wire value, and the format version that brought it.
var policyTags = [...]struct {
	name    string
	version uint64
	get     func(Policy) uint64
	set     func(*Policy, uint64) bool // false: not a value get returns
}{
	{"MinCopyRate", versionCopy, func(p Policy) uint64 { return p.MinCopyRate }, func(p *Policy, v uint64) bool { p.MinCopyRate = v; return true }},
	{"ChurnBytesPerHour", versionCopy, func(p Policy) uint64 { return math.Float64bits(p.ChurnBytesPerHour) },
		func(p *Policy, v uint64) bool { p.ChurnBytesPerHour = math.Float64frombits(v); return true }},
	{"ChurnShardsPerHour", versionCopy, func(p Policy) uint64 { return math.Float64bits(p.ChurnShardsPerHour) },
		func(p *Policy, v uint64) bool { p.ChurnShardsPerHour = math.Float64frombits(v); return true }},
	{"RebalanceWindows", versionCopy, windowsWire, setWindowsWire},
	{"SendBytesPerSecond", versionCopy, func(p Policy) uint64 { return p.SendBytesPerSecond },
		func(p *Policy, v uint64) bool { p.SendBytesPerSecond = v; return true }},
	{"ReceiveBytesPerSecond", versionCopy, func(p Policy) uint64 { return p.ReceiveBytesPerSecond },
		func(p *Policy, v uint64) bool { p.ReceiveBytesPerSecond = v; return true }},
}

// taggedVersion returns the format version p's tagged fields need: the
// newest among those that differ from DefaultPolicy's, or 0 when none
// does (then a SetPolicy is of type 13 or 15).
func (p Policy) taggedVersion() uint64 {
	d := DefaultPolicy()
	var v uint64
	for _, f := range policyTags {
		if f.get(p) != f.get(d) {
			v = max(v, f.version)
		}
	}
	return v
}

// appendTagged appends p's tagged fields that differ from the defaults:
// their count, then each tag and value.
func appendTagged(dst []byte, p Policy) []byte {
	d := DefaultPolicy()
	var n uint64
	for _, f := range policyTags {
		if f.get(p) != f.get(d) {
			n++
		}
	}
	dst = binary.AppendUvarint(dst, n)
	for i, f := range policyTags {
		if v := f.get(p); v != f.get(d) {
			dst = binary.AppendUvarint(dst, uint64(i+1))
			dst = binary.AppendUvarint(dst, v)
		}
	}
	return dst
}

// appendPolicyCommand appends c's type byte and wire fields: type 16 when
// a tagged field differs from the default, else 15 when a stability field
// does, else 13.
func appendPolicyCommand(dst []byte, c SetPolicy) []byte {
	switch {
	case c.Policy.taggedVersion() != 0:
		dst = append(dst, byte(TypeSetPolicyFields))
		return appendTagged(appendStability(appendPolicy(dst, c), c.Policy), c.Policy)
	case !c.Policy.stabilityDefault():
		dst = append(dst, byte(TypeSetPolicyExt))
		return appendStability(appendPolicy(dst, c), c.Policy)
	}
	dst = append(dst, byte(TypeSetPolicy))
	return appendPolicy(dst, c)
}

func appendStability(dst []byte, p Policy) []byte {
	dst = binary.AppendUvarint(dst, math.Float64bits(p.MinGain))
	dst = binary.AppendUvarint(dst, uint64(p.MoveCooldown))
	return binary.AppendUvarint(dst, uint64(p.LoadHalfLife))
}

// policyExt decodes a TypeSetPolicyExt: a SetPolicy, then its stability
// fields, which must not be the defaults (type 13 encodes those), so an
// entry has one encoding.
func (d *decoder) policyExt(start int) Command {
	c := d.policy(start).(SetPolicy)
	d.stability(start, &c.Policy)
	if d.err == nil && c.Policy.stabilityDefault() {
		d.fail(start, "set-policy with default stability fields as type %d", TypeSetPolicyExt)
	}
	return c
}

// stability reads the stability fields into p.
func (d *decoder) stability(start int, p *Policy) {
	gain, cooldown := d.uvarint("min gain"), d.uvarint("move cooldown")
	halfLife := d.uvarint("load half-life")
	if d.err != nil {
		return
	}
	if cooldown > math.MaxInt64 || halfLife > math.MaxUint32 {
		d.fail(start, "policy field out of range")
		return
	}
	p.MinGain = math.Float64frombits(gain)
	p.MoveCooldown = time.Duration(cooldown)
	p.LoadHalfLife = uint32(halfLife)
}

// policyFields decodes a TypeSetPolicyFields: a TypeSetPolicyExt's fields
// (the stability ones may be the defaults), then at least one tagged field,
// in tag order, each known and not at its default.
func (d *decoder) policyFields(start int) Command {
	c := d.policy(start).(SetPolicy)
	d.stability(start, &c.Policy)
	n := d.uvarint("policy field count")
	if d.err == nil && (n == 0 || n > uint64(len(policyTags))) {
		d.fail(start, "set-policy of type %d with %d tagged fields (1 to %d)", TypeSetPolicyFields, n, len(policyTags))
	}
	def := DefaultPolicy()
	var prev uint64
	for ; n > 0 && d.err == nil; n-- {
		at := d.off
		tag, v := d.uvarint("policy field tag"), d.uvarint("policy field")
		switch {
		case d.err != nil:
		case tag <= prev || tag > uint64(len(policyTags)):
			d.fail(at, "policy field tag %d unknown or out of order", tag)
		case v == policyTags[tag-1].get(def):
			d.fail(at, "policy field %s at its default", policyTags[tag-1].name)
		case !policyTags[tag-1].set(&c.Policy, v):
			d.fail(at, "policy field %s: invalid value %d", policyTags[tag-1].name, v)
		default:
			prev = tag
		}
	}
	return c
}

func (d *decoder) pause(start int) Command {
	paused, until := d.uvarint("paused"), d.uvarint("pause expiry")
	if d.err == nil && (paused > 1 || until > math.MaxInt64) {
		d.fail(start, "invalid pause %d until %d", paused, until)
	}
	c := SetPause{Paused: paused == 1}
	if until != 0 {
		c.Until = time.Unix(0, int64(until))
	}
	return c
}

func (d *decoder) policy(start int) Command {
	var p Policy
	p.SplitKeys = d.uvarint("split keys")
	p.SplitBytes = d.uvarint("split bytes")
	p.MergeKeys = d.uvarint("merge keys")
	p.MergeBytes = d.uvarint("merge bytes")
	p.MergeMaxFraction = math.Float64frombits(d.uvarint("merge max fraction"))
	embargo := d.uvarint("merge embargo")
	p.ImbalanceThreshold = math.Float64frombits(d.uvarint("imbalance threshold"))
	p.StopBand = math.Float64frombits(d.uvarint("stop band"))
	p.CountTolerance = math.Float64frombits(d.uvarint("count tolerance"))
	p.LoadThreshold = math.Float64frombits(d.uvarint("load threshold"))
	p.LoadStopBand = math.Float64frombits(d.uvarint("load stop band"))
	moves, inflight := d.uvarint("max moves per node"), d.uvarint("max in flight per node")
	p.MaxInflightBytesPerNode = d.uvarint("max bytes in flight per node")
	timeout, instant := d.uvarint("move timeout"), d.uvarint("instant moves")
	down, actions := d.uvarint("down timeout"), d.uvarint("max actions per tick")
	if d.err == nil && (embargo > math.MaxUint32 || moves > maxWireCount || inflight > maxWireCount ||
		timeout > math.MaxInt64 || instant > 1 || down > math.MaxInt64 || actions > maxWireCount) {
		d.fail(start, "policy field out of range")
	}
	p.MergeEmbargo = uint32(embargo)
	p.MaxMovesPerNode, p.MaxInflightPerNode = int(moves), int(inflight)
	p.MoveTimeout, p.InstantMoves = time.Duration(timeout), instant == 1
	p.DownTimeout = time.Duration(down)
	return SetPolicy{Policy: p.withLaterDefaults(), MaxActionsPerTick: int(actions)}
}
