package placement

// windows are the in-flight windows of every node, into it and out of it,
// for one plan: Policy.MaxInflightPerNode moves and
// Policy.MaxInflightBytesPerNode bytes. They hold the moves in flight when
// the plan began and the plan's transfers, as they are added. Its
// contract, on the model of etcd-io/raft's tracker.Inflights:
//
//   - add counts one transfer of b bytes out of src and into dst;
//   - outFull and inFull report whether a node's window takes no more
//     moves: its moves, or its bytes, reached the limit;
//   - admits says which windows b more bytes would overflow: none when
//     they stay within the byte limit or nothing is in flight there yet,
//     so a shard larger than the window still moves, alone.
//
// A node under foreground pressure p (ShardRegistry.ReportPressure) has
// both windows narrowed to (1 − p) of its limits, moves rounded down, so
// at p = 1, or at any p where fewer than one move is left, it takes no
// move at all.
//
// Nothing is freed within a plan: the next plan starts from the moves then
// in flight. A lost node's shards are not copied from it, so its out
// window never fills and admits everything. Windows that are off (moves
// take no time; see planner.windows) never fill and count nothing.
type windows struct {
	maxMoves int
	maxBytes float64 // 0: no byte limit
	// sendCap and recvCap are the rate limits' byte windows
	// (Policy.SendBytesPerSecond, ReceiveBytesPerSecond × MoveTimeout);
	// 0 when off. A side's byte limit is the smaller of its cap and
	// maxBytes.
	sendCap, recvCap float64
	in, out          []flight // parallel to nodes; nil when off
	nodes            []nodeRec
}

// flight is what is in flight through one side of a node.
type flight struct {
	moves int
	bytes float64
}

// newWindows returns empty windows over nodes, off unless on.
func newWindows(p Policy, on bool, nodes []nodeRec, sc *scratch) windows {
	secs := p.MoveTimeout.Seconds()
	w := windows{maxMoves: p.MaxInflightPerNode, maxBytes: float64(p.MaxInflightBytesPerNode), nodes: nodes,
		sendCap: float64(p.SendBytesPerSecond) * secs, recvCap: float64(p.ReceiveBytesPerSecond) * secs}
	if on {
		f := sc.flights.take(2 * len(nodes))
		w.in, w.out = f[:len(nodes)], f[len(nodes):]
	}
	return w
}

// on reports whether the windows apply.
func (w *windows) on() bool { return w.in != nil }

func (w *windows) add(src, dst int, b float64) {
	if w.in == nil {
		return
	}
	w.out[src].moves++
	w.out[src].bytes += b
	w.in[dst].moves++
	w.in[dst].bytes += b
}

func (w *windows) outFull(i int) bool {
	return w.out != nil && !w.exempt(i) && w.refuses(w.out[i], w.moveCap(i), w.pressed(i, w.limit(w.sendCap)), 0)
}

func (w *windows) inFull(i int) bool {
	return w.in != nil && w.refuses(w.in[i], w.moveCap(i), w.pressed(i, w.limit(w.recvCap)), 0)
}

// refuses reports whether a window holding f, of the given move and byte
// limits (bytes 0: none), refuses b more bytes, or any move when b is 0.
func (w *windows) refuses(f flight, moves int, limit, b float64) bool {
	if b == 0 {
		return f.moves >= moves || (limit > 0 && f.bytes >= limit)
	}
	return f.moves >= moves || !room(f, b, limit)
}

// moveCap is node i's move limit: MaxInflightPerNode narrowed by its
// pressure, rounded down. The product is nudged up by far less than a
// move before rounding, so that float error (5 × (1 − 0.8) is
// 0.9999999999999998) does not take away a move that exact arithmetic
// leaves.
func (w *windows) moveCap(i int) int {
	if p := w.nodes[i].pressure; p > 0 {
		return int(float64(w.maxMoves)*(1-p) + 1e-9)
	}
	return w.maxMoves
}

// pressed narrows a byte limit (0: none) of node i by its pressure.
func (w *windows) pressed(i int, limit float64) float64 {
	if p := w.nodes[i].pressure; p > 0 && limit > 0 {
		// At p = 1 the move cap (0) refuses first; the byte limit stays
		// positive so that it still means a limit.
		return max(limit*(1-p), 1)
	}
	return limit
}

// limit is a side's byte limit given its rate cap: the smaller of the two
// that are set, 0 if neither is.
func (w *windows) limit(rateCap float64) float64 {
	switch {
	case rateCap == 0:
		return w.maxBytes
	case w.maxBytes == 0:
		return rateCap
	}
	return min(rateCap, w.maxBytes)
}

// heldBy names the limit for which node i's window on one side (out when
// out is set), which refuses b more bytes (b = 0: any move), refuses
// them: SkipInflightWindow when MaxInflightPerNode or
// MaxInflightBytesPerNode alone would, else SkipRateLimit when its rate
// cap would, else SkipPressure (only its pressure narrows it so far).
func (w *windows) heldBy(i int, out bool, b float64) SkipReason {
	if w.in == nil {
		return SkipInflightWindow
	}
	f, rateCap := w.in[i], w.recvCap
	if out {
		f, rateCap = w.out[i], w.sendCap
	}
	switch {
	case w.refuses(f, w.maxMoves, w.maxBytes, b):
		return SkipInflightWindow
	case w.refuses(f, w.maxMoves, w.limit(rateCap), b):
		return SkipRateLimit
	}
	return SkipPressure
}

// exempt reports whether node i's out window does not apply: it is lost.
func (w *windows) exempt(i int) bool { return w.nodes[i].State == NodeLost }

func (w *windows) admits(src, dst int, b float64) refusal {
	if w.in == nil || (w.maxBytes == 0 && w.sendCap == 0 && w.recvCap == 0) {
		return noRefusal
	}
	var refused refusal
	if !room(w.in[dst], b, w.pressed(dst, w.limit(w.recvCap))) {
		refused |= dstWindow
	}
	if !w.exempt(src) && !room(w.out[src], b, w.pressed(src, w.limit(w.sendCap))) {
		refused |= srcWindow
	}
	return refused
}

// room reports whether f's byte window of the given limit (0: none) takes
// b more bytes.
func room(f flight, b, limit float64) bool { return limit == 0 || f.bytes == 0 || f.bytes+b <= limit }

// refusal says which byte windows refused a transfer: none, the source's,
// the destination's, or both. Source and destination are the transfer's.
type refusal uint8

const (
	noRefusal refusal = 0
	dstWindow refusal = 1 << iota
	srcWindow
	// churnRefused: the churn budget (not a window) refused it; the
	// destination is ruled out for the phase, as for its window.
	churnRefused
)
