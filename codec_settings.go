package placement

import (
	"encoding/binary"
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
// in that order, each a uvarint: floats as their IEEE 754 bits, durations
// in nanoseconds, booleans as 0 or 1. Negative integers cannot be encoded:
// Encode writes them as 0 (a Policy with one fails Validate anyway).

func appendPause(dst []byte, c SetPause) []byte {
	dst = binary.AppendUvarint(dst, boolField(c.Paused))
	return binary.AppendUvarint(dst, uint64(unixNano(c.Until)))
}

func appendPolicy(dst []byte, c SetPolicy) []byte {
	p := c.Policy
	for _, v := range [...]uint64{
		p.SplitKeys, p.SplitBytes, p.MergeKeys, p.MergeBytes,
		math.Float64bits(p.MergeMaxFraction), uint64(p.MergeEmbargo),
		math.Float64bits(p.ImbalanceThreshold), math.Float64bits(p.StopBand),
		math.Float64bits(p.CountTolerance), math.Float64bits(p.LoadThreshold),
		math.Float64bits(p.LoadStopBand), nonNegative(p.MaxMovesPerNode),
		nonNegative(p.MaxInflightPerNode), p.MaxInflightBytesPerNode,
		nonNegative(int(p.MoveTimeout)), boolField(p.InstantMoves),
		nonNegative(int(p.DownTimeout)), nonNegative(c.MaxActionsPerTick),
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

func nonNegative(x int) uint64 { return uint64(max(x, 0)) }

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
	if d.err == nil && (embargo > math.MaxUint32 || moves > math.MaxInt || inflight > math.MaxInt ||
		timeout > math.MaxInt64 || instant > 1 || down > math.MaxInt64 || actions > math.MaxInt) {
		d.fail(start, "policy field out of range")
	}
	p.MergeEmbargo = uint32(embargo)
	p.MaxMovesPerNode, p.MaxInflightPerNode = int(moves), int(inflight)
	p.MoveTimeout, p.InstantMoves = time.Duration(timeout), instant == 1
	p.DownTimeout = time.Duration(down)
	return SetPolicy{Policy: p, MaxActionsPerTick: int(actions)}
}
