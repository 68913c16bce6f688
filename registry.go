package placement

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// ShardRegistry is the placement map: data nodes with their states, and
// shards with their ranges, owners and epochs. It is the FSM's state.
//
// Apply is the only way to change placement. It is deterministic and checks
// every precondition, so replicas that apply the same commands in the same
// order hold identical maps. ReportStats and ReportProgress record soft
// state that Apply never reads. View returns an immutable snapshot in O(1).
//
// A ShardRegistry is safe for concurrent use.
type ShardRegistry struct {
	// mu guards cur and shared. A plain mutex: taking a View flips shared,
	// so even readers write.
	mu  sync.Mutex
	cur *state
	// shared is set while cur is referenced by a View; the next write
	// clones cur first, leaving the View's version untouched.
	shared bool
	// halfLife is the Policy.LoadHalfLife ReportStats smooths load with
	// while no SetPolicy is replicated: DefaultPolicy's, or the
	// Scheduler's Config.Policy's (see New).
	halfLife uint32
	// progress is the soft progress of the moves in flight
	// (ReportProgress), stamped with clock (the Scheduler's; nil for
	// time.Now).
	progress map[moveAttempt]progressRec
	clock    func() time.Time
	// index is the raft index of the last entry the FSM applied
	// (View.Index); gen counts changes (WatchMoves' token); changed, made
	// by a waiter, is closed at the next change.
	index   uint64
	gen     uint64
	changed chan struct{}
}

// NewShardRegistry returns an empty registry whose next shard ID is 1.
func NewShardRegistry() *ShardRegistry {
	return &ShardRegistry{cur: newState(), halfLife: DefaultPolicy().LoadHalfLife, gen: 1}
}

// setLoadHalfLife sets the half-life used while no SetPolicy is
// replicated.
func (g *ShardRegistry) setLoadHalfLife(h uint32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.halfLife = h
}

// View returns a consistent snapshot of the registry in O(1). It never
// changes after it is taken and is safe to read from any goroutine.
func (g *ShardRegistry) View() View {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shared = true
	return View{s: g.cur, index: g.index}
}

// writable returns the state to modify, cloning it first if a View holds it.
// g.mu must be held.
func (g *ShardRegistry) writable() *state {
	if g.shared {
		g.cur = g.cur.clone()
		g.shared = false
	}
	return g.cur
}

// Apply applies one command. A command that does not fit the current map
// (stale epoch, wrong owner, unknown shard or node, and so on) changes
// nothing and returns an error wrapping ErrRejected and a specific reason
// such as ErrStaleEpoch.
func (g *ShardRegistry) Apply(cmd Command) error {
	return g.ApplyAt(cmd, time.Time{})
}

// ApplyAt is Apply for a command from a log entry appended at the given
// time (raft's Log.AppendedAt). A PlaceTransfer records it as the time its
// move began, which Policy.MoveTimeout is measured from; nothing else reads
// it. The zero time means unknown. The leader sets AppendedAt and it
// replicates with the entry, so replicas agree on it as long as the log
// store keeps it (raft's in-memory store, raft-wal and raft-boltdb do): a
// store that drops it would give a replica that replays its log zero times,
// and snapshots that differ in them.
func (g *ShardRegistry) ApplyAt(cmd Command, at time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	rec, err := check(g.cur, cmd)
	if err != nil {
		return err
	}
	// rec stays valid if writable clones the state: records are shared.
	g.writable().apply(cmd, rec, unixNano(at))
	g.wake()
	return nil
}

// unixNano is at in Unix nanoseconds, 0 for the zero time (or any time not
// after 1970, which no log entry has).
func unixNano(at time.Time) int64 {
	if at.IsZero() || at.UnixNano() <= 0 {
		return 0
	}
	return at.UnixNano()
}

// Try returns the view that applying cmds in order to the registry would
// give, and each command's result: nil, or the rejection Apply would return.
// The registry itself is unchanged. The cost is that of the commands, not of
// the map (copy-on-write), so a host can check a batch before proposing it.
func (g *ShardRegistry) Try(cmds ...Command) (View, []error) {
	g.mu.Lock()
	// Cloning writes the trees' copy-on-write contexts, so it happens under
	// the lock; the copy is private and needs none.
	s := g.cur.clone()
	g.mu.Unlock()
	results := make([]error, len(cmds))
	for i, c := range cmds {
		var rec *shardRec
		if rec, results[i] = check(s, c); results[i] == nil {
			s.apply(c, rec, 0)
		}
	}
	return View{s: s}, results
}

// ReportStats records the host's latest figures for a shard. Stats are
// soft state: not replicated, not in snapshots, never read by Apply. The
// split-key hint is copied.
//
// Keys and bytes are taken as reported. Load is smoothed: the shard's load
// becomes an exponentially decaying average of its reports, whose weight
// halves every Policy.LoadHalfLife reports (the replicated policy's, or
// the Scheduler's Config.Policy's before any SetPolicy), so one noisy
// report moves nothing. A shard's first report, and its first after a
// split or merge (whose loads are the registry's estimates), is taken as
// it is. The host should report, at a steady cadence, the shard's recent
// rate (say requests a second over the last interval), not a running
// average of its own: the registry does the averaging. A Load that is negative, NaN or infinite, or
// Bytes above MaxShardBytes, is refused with ErrInvalidStats and nothing is
// recorded.
func (g *ShardRegistry) ReportStats(id ShardID, st Stats) error {
	if !finiteNonNegative(st.Load) {
		return fmt.Errorf("report stats for shard %d: load %v: %w", id, st.Load, ErrInvalidStats)
	}
	if st.Bytes > MaxShardBytes {
		return fmt.Errorf("report stats for shard %d: %d bytes, over MaxShardBytes: %w", id, st.Bytes, ErrInvalidStats)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old, ok := g.cur.w.shard(g.cur, id)
	if !ok {
		return fmt.Errorf("report stats for shard %d: %w", id, ErrUnknownShard)
	}
	s := g.writable()
	rec := *old
	load := toLoad(st.Load)
	if h := g.loadHalfLife(); h > 0 && old.known && !old.estimated {
		load = smoothLoad(old.load, load, h)
	}
	rec.keys, rec.bytes, rec.load, rec.known = st.Keys, st.Bytes, load, true
	rec.estimated = false
	if st.SplitKey != nil {
		s.hints.ReplaceOrInsert(hintItem{id: id, key: append([]byte{}, st.SplitKey...)})
	} else {
		s.hints.Delete(hintItem{id: id})
	}
	if rec.sinceSplit < neverSplit-1 {
		rec.sinceSplit++
	}
	s.update(old, &rec)
	return nil
}

// ReportPressure records a data node's foreground pressure: a figure from
// 0 (idle) to 1 (saturated) from the host's own admission control or load
// shedding. The planner narrows the node's in-flight windows by it (see
// "Pressure" in the package documentation): at 1 no move begins into or
// out of the node. Like NodeStats it is soft state: not replicated, not in
// snapshots (a restore forgets it), and it holds until the next report, so
// a host reports it to every server that may lead, and again when it
// eases. A figure outside [0, 1] (or NaN) is refused with ErrInvalidStats;
// a node the registry does not hold, with ErrUnknownNode.
func (g *ShardRegistry) ReportPressure(node NodeID, pressure float64) error {
	if !(pressure >= 0 && pressure <= 1) {
		return fmt.Errorf("report pressure %v for node %d: %w: not in [0, 1]", pressure, node, ErrInvalidStats)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	i := g.cur.nodeIndex(node)
	if i < 0 {
		return fmt.Errorf("report pressure for node %d: %w", node, ErrUnknownNode)
	}
	if g.cur.nodes[i].pressure == pressure {
		return nil
	}
	g.writable().nodes[i].pressure = pressure
	return nil
}

// ReportNodeStats records the host's latest figures for a data node. Like
// shard stats they are soft state: not replicated, not in snapshots (a
// restore forgets them), never read by Apply; only the registry the
// planner reads (the leader's) needs them. A node the registry does not hold
// is refused with ErrUnknownNode.
func (g *ShardRegistry) ReportNodeStats(node NodeID, st NodeStats) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := g.cur.nodeIndex(node)
	if i < 0 {
		return fmt.Errorf("report stats for node %d: %w", node, ErrUnknownNode)
	}
	if g.cur.nodes[i].capacity == st.Capacity {
		return nil
	}
	g.writable().nodes[i].capacity = st.Capacity
	return nil
}

// toLoad stores a finite, non-negative load as a float32, saturating.
func toLoad(l float64) float32 {
	return float32(min(l, math.MaxFloat32))
}

// loadHalfLife is the half-life ReportStats smooths with: the replicated
// policy's, else the registry's own. g.mu is held.
func (g *ShardRegistry) loadHalfLife() uint32 {
	if p := g.cur.policy; p != nil {
		return p.Policy.LoadHalfLife
	}
	return g.halfLife
}

// smoothLoad returns the average old moves to after one report of x, with
// a half-life of h reports: old + (x − old)·(1 − 2^(−1/h)).
func smoothLoad(old, x float32, h uint32) float32 {
	a := 1 - math.Exp2(-1/float64(h))
	v := float64(old) + a*(float64(x)-float64(old))
	return toLoad(max(v, 0))
}

// apply makes a change that check has accepted; rec is what check returned
// and at the entry's time in Unix nanoseconds (0 if unknown).
func (s *state) apply(cmd Command, rec *shardRec, at int64) {
	s.tickClock(at)
	switch c := cmd.(type) {
	case AddNode:
		s.addNode(c.Node)
		s.nodes[s.nodeIndex(c.Node)].since = s.stateTime(at)
	case SetNodeState:
		n := &s.nodes[s.nodeIndex(c.Node)]
		if n.State != c.State {
			n.since = s.stateTime(at)
		}
		n.State = c.State
		if c.State != NodeUp {
			s.abortMoves(func(m moveItem) bool {
				return m.to == c.Node || (c.State == NodeLost && m.from == c.Node && s.formatVersion >= versionDest)
			})
		}
	case RemoveNode:
		i := s.nodeIndex(c.Node)
		s.nodes = append(s.nodes[:i], s.nodes[i+1:]...)
	case CreateShard:
		s.create(c)
	case PlaceSplit:
		s.split(c, rec)
	case PlaceMerge:
		s.merge(c, rec)
	case SetRebalancing:
		s.rebalancing = c
	case SetFormatVersion:
		s.formatVersion = c.Version
	case SetPause:
		s.pause = pauseState{}
		if c.Paused {
			s.pause = pauseState{paused: true, until: unixNano(c.Until), set: at}
		}
	case SetPolicy:
		s.policy = &c
	case PlaceTransfer:
		if s.formatVersion < versionMoves {
			s.complete(rec, c.To) // one phase, as before format version 3
			return
		}
		s.moves.ReplaceOrInsert(moveItem{id: c.Shard, from: c.From, to: c.To, began: at, rec: rec})
		s.bump(rec)
	case CompleteTransfer:
		if rec == nil {
			return // To owns the shard already (checkComplete): a no-op
		}
		m, _ := s.moving(c.Shard)
		s.moves.Delete(m)
		s.complete(rec, m.to)
		s.recordMove(rec, at, m.from)
	case AbortTransfer:
		s.moves.Delete(moveItem{id: c.Shard})
		s.bump(rec)
	}
}

// stateTime is the time a node state change records: at, from format
// version 3 on, whose snapshots carry it; 0 before, so that a replica
// restored from an older snapshot and one that replayed the log agree.
func (s *state) stateTime(at int64) int64 {
	if s.formatVersion < versionMoves {
		return 0
	}
	return at
}

// complete makes node to the owner of rec, at the next epoch.
func (s *state) complete(rec *shardRec, to NodeID) {
	moved := *rec
	moved.Node = to
	moved.Epoch++
	s.update(rec, &moved)
}

// bump moves rec to the next epoch, leaving everything else.
func (s *state) bump(rec *shardRec) {
	next := *rec
	next.Epoch++
	s.update(rec, &next)
}

// abortMoves cancels the moves in flight that match: those into a node
// leaving the up state (a draining, down or lost node takes no data) and,
// from format version 4, those out of a node going lost (its copy will
// never finish; the planner re-homes the shard). Each shard moves to its
// next epoch, as an AbortTransfer would.
func (s *state) abortMoves(match func(moveItem) bool) {
	if s.moves.Len() == 0 {
		return
	}
	var aborted []moveItem
	s.moves.Ascend(func(m moveItem) bool {
		if match(m) {
			aborted = append(aborted, m)
		}
		return true
	})
	for _, m := range aborted {
		s.moves.Delete(m)
		r, _ := s.w.shard(s, m.id)
		s.bump(r)
	}
}

func (s *state) addNode(id NodeID) {
	i := len(s.nodes)
	for i > 0 && s.nodes[i-1].ID > id {
		i--
	}
	s.nodes = append(s.nodes, nodeRec{})
	copy(s.nodes[i+1:], s.nodes[i:])
	s.nodes[i] = nodeRec{Node: Node{ID: id, State: NodeUp}}
}

func (s *state) create(c CreateShard) {
	id := c.ID
	if id == 0 {
		id = s.nextID
	}
	s.nextID = id + 1
	rec := &shardRec{
		shardCore:  shardCore{ID: id, Range: s.internRange(c.Range), Node: c.Node, Epoch: 1},
		sinceSplit: 0, // the merge embargo of a split half: see Policy.MergeEmbargo
	}
	s.insert(rec)
	s.link(rec)
}

// internRange copies r, sharing key bytes with the neighbours whose bounds
// equal r's so that adjacent shards hold each boundary key once.
func (s *state) internRange(r KeyRange) KeyRange {
	out := KeyRange{Start: []byte{}}
	if p, ok := s.w.floor(s, r.Start); ok && p.Range.End != nil && string(p.Range.End) == string(r.Start) {
		out.Start = p.Range.End
	} else if len(r.Start) > 0 {
		out.Start = append([]byte(nil), r.Start...)
	}
	if r.End != nil {
		if n, ok := s.w.ceil(s, r.End); ok && string(n.Range.Start) == string(r.End) {
			out.End = n.Range.Start
		} else {
			out.End = append([]byte{}, r.End...)
		}
	}
	return out
}

func (s *state) split(c PlaceSplit, old *shardRec) {
	key := append([]byte(nil), c.SplitKey...)
	left, right := *old, *old
	left.Epoch++
	left.Range.End = key
	right.ID = s.nextID
	right.Epoch = left.Epoch
	right.Range.Start = key
	s.nextID++
	s.hints.Delete(hintItem{id: left.ID}) // the hint was for the whole range
	left.sinceSplit, right.sinceSplit = 0, 0
	left.estimated, right.estimated = old.known, old.known
	left.keys, right.keys = old.keys/2, old.keys-old.keys/2
	left.bytes, right.bytes = old.bytes/2, old.bytes-old.bytes/2
	left.load, right.load = old.load/2, old.load/2
	s.unlink(old)
	s.remove(old)
	s.insert(&left)
	s.insert(&right)
	s.link(&left)
	s.link(&right)
}

func (s *state) merge(c PlaceMerge, l *shardRec) {
	r, _ := s.w.shard(s, c.Right)
	m := *l
	m.Epoch++
	m.Range.End = r.Range.End
	s.hints.Delete(hintItem{id: l.ID})
	s.hints.Delete(hintItem{id: r.ID})
	m.known = l.known && r.known
	m.keys, m.bytes = satAdd(l.keys, r.keys), satAdd(l.bytes, r.bytes)
	m.load = min(l.load+r.load, math.MaxFloat32)
	if !m.known {
		m.keys, m.bytes, m.load = 0, 0, 0
	}
	m.sinceSplit = min(l.sinceSplit, r.sinceSplit)
	m.estimated = m.known
	s.unlink(l)
	s.unlink(r)
	s.remove(l)
	s.remove(r)
	s.insert(&m)
	s.link(&m)
	s.recent.forget(r.ID)
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
