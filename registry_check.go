package placement

import (
	"fmt"
	"math"
	"time"
)

// check returns why cmd cannot apply to s, or nil. It never modifies s, so
// a rejected command leaves the registry exactly as it was. For split,
// merge and transfer it also returns the shard it checked (the left one of a
// merge), so apply need not look it up again. cmd is passed down as it came,
// so error paths do not box the concrete command again.
func check(s *state, cmd Command) (*shardRec, error) {
	switch c := cmd.(type) {
	case AddNode:
		return nil, checkAddNode(s, c)
	case SetNodeState:
		return nil, checkSetNodeState(s, c)
	case RemoveNode:
		return nil, checkRemoveNode(s, c)
	case CreateShard:
		return nil, checkCreate(s, cmd, c)
	case PlaceSplit:
		return checkSplit(s, cmd, c)
	case PlaceMerge:
		return checkMerge(s, cmd, c)
	case PlaceTransfer:
		return checkTransfer(s, cmd, c)
	case CompleteTransfer:
		if c.To != 0 {
			return checkComplete(s, cmd, c)
		}
		return checkInFlight(s, cmd, c.Shard, c.Epoch)
	case AbortTransfer:
		return checkInFlight(s, cmd, c.Shard, c.Epoch)
	case SetRebalancing:
		return nil, needVersion(s, cmd, versionFlags)
	case SetPause:
		return nil, checkPause(s, cmd, c)
	case SetPolicy:
		// The rules the entry was accepted by when it was proposed: a log
		// written before the minimum timeouts replays as it applied then.
		if err := c.Policy.validateLogged(); err != nil {
			return nil, fmt.Errorf("set-policy: %w: %w", ErrInvalidCommand, err)
		}
		if c.MaxActionsPerTick < 1 {
			return nil, fmt.Errorf("set-policy: MaxActionsPerTick %d must be >= 1: %w", c.MaxActionsPerTick, ErrInvalidCommand)
		}
		// Fields brought by version 6 on are gated here too, from the
		// start, so a snapshot never holds a policy its format cannot.
		return nil, needVersion(s, cmd, max(versionMoves, c.Policy.taggedVersion()))
	case SetFormatVersion:
		if c.Version < s.formatVersion || c.Version > formatVersion {
			return nil, fmt.Errorf("%v: cluster at %d, this build up to %d: %w", c, s.formatVersion, formatVersion, ErrFormatVersion)
		}
		return nil, nil
	case nil:
		return nil, fmt.Errorf("nil command: %w", ErrInvalidCommand)
	}
	return nil, fmt.Errorf("command type %T: %w", cmd, ErrInvalidCommand)
}

func checkAddNode(s *state, c AddNode) error {
	if c.Node == 0 {
		return fmt.Errorf("%v: node 0: %w", c, ErrInvalidCommand)
	}
	if s.nodeIndex(c.Node) >= 0 {
		return fmt.Errorf("%v: %w", c, ErrNodeExists)
	}
	return nil
}

// needVersion rejects cmd unless the log has enabled format version v.
func needVersion(s *state, cmd Command, v uint64) error {
	if s.formatVersion < v {
		return fmt.Errorf("%v: needs format version %d, the cluster is at %d: %w", cmd, v, s.formatVersion, ErrFormatVersion)
	}
	return nil
}

func checkSetNodeState(s *state, c SetNodeState) error {
	if !c.State.Valid() {
		return fmt.Errorf("%v: %w", c, ErrInvalidCommand)
	}
	if s.nodeIndex(c.Node) < 0 {
		return fmt.Errorf("%v: %w", c, ErrUnknownNode)
	}
	if c.State == NodeLost {
		return needVersion(s, c, versionFlags)
	}
	return nil
}

func checkRemoveNode(s *state, c RemoveNode) error {
	i := s.nodeIndex(c.Node)
	if i < 0 {
		return fmt.Errorf("%v: %w", c, ErrUnknownNode)
	}
	if n := s.nodes[i].Shards; n > 0 {
		return fmt.Errorf("%v: owns %d shards: %w", c, n, ErrNodeNotEmpty)
	}
	// Only an up node has moves into it; a node that is up and empty may.
	if s.nodes[i].State == NodeUp && s.moves.Len() > 0 {
		n := 0
		s.moves.Ascend(func(m moveItem) bool {
			if m.to == c.Node {
				n++
			}
			return true
		})
		if n > 0 {
			return fmt.Errorf("%v: %d shards moving in: %w", c, n, ErrNodeNotEmpty)
		}
	}
	return nil
}

// notMoving rejects cmd if shard r has a move in flight.
func notMoving(s *state, cmd Command, r *shardRec) error {
	if m, ok := s.moving(r.ID); ok {
		return fmt.Errorf("%v: shard %d is moving to node %d: %w", cmd, r.ID, m.to, ErrShardMoving)
	}
	return nil
}

// checkInFlight checks a CompleteTransfer or AbortTransfer: the shard must
// be at epoch and moving. A completion's target is up (a move into a node
// that leaves the up state is aborted then).
func checkInFlight(s *state, cmd Command, id ShardID, epoch uint64) (*shardRec, error) {
	if err := needVersion(s, cmd, versionMoves); err != nil {
		return nil, err
	}
	r, err := checkEpoch(s, cmd, id, epoch)
	if err != nil {
		return nil, err
	}
	if _, ok := s.moving(id); !ok {
		return nil, fmt.Errorf("%v: %w", cmd, ErrNotMoving)
	}
	return r, nil
}

// checkComplete checks a CompleteTransfer that names its destination. It
// returns the shard to complete, or nil and no error when c.To already
// owns the shard: the completion applied before (or the shard reached To
// since), so applying it again changes nothing and succeeds.
func checkComplete(s *state, cmd Command, c CompleteTransfer) (*shardRec, error) {
	if err := needVersion(s, cmd, versionDest); err != nil {
		return nil, err
	}
	r, ok := s.w.shard(s, c.Shard)
	if !ok {
		return nil, fmt.Errorf("%v: shard %d: %w", cmd, c.Shard, ErrUnknownShard)
	}
	if m, moving := s.moving(c.Shard); moving && r.Epoch == c.Epoch {
		if m.to != c.To {
			return nil, fmt.Errorf("%v: the move goes to node %d: %w", cmd, m.to, ErrInvalidCommand)
		}
		return r, nil
	}
	if r.Node == c.To {
		return nil, nil
	}
	if r.Epoch != c.Epoch {
		return nil, fmt.Errorf("%v: shard %d is at epoch %d on node %d: %w", cmd, c.Shard, r.Epoch, r.Node, ErrStaleEpoch)
	}
	return nil, fmt.Errorf("%v: %w", cmd, ErrNotMoving)
}

// checkUp returns nil if node exists and is up.
func checkUp(s *state, cmd Command, node NodeID) error {
	i := s.nodeIndex(node)
	if i < 0 {
		return fmt.Errorf("%v: node %d: %w", cmd, node, ErrUnknownNode)
	}
	if st := s.nodes[i].State; st != NodeUp {
		return fmt.Errorf("%v: node %d is %v: %w", cmd, node, st, ErrNodeNotUp)
	}
	return nil
}

func checkCreate(s *state, cmd Command, c CreateShard) error {
	if c.ID != 0 && c.ID < s.nextID {
		return fmt.Errorf("%v: next ID is %d: %w", c, s.nextID, ErrShardExists)
	}
	if c.ID == ShardID(maxShardID) || (c.ID == 0 && s.nextID == ShardID(maxShardID)) {
		return fmt.Errorf("%v: shard IDs exhausted: %w", c, ErrInvalidCommand)
	}
	if !c.Range.Valid() {
		return fmt.Errorf("%v: %w", c, ErrInvalidRange)
	}
	if err := checkUp(s, cmd, c.Node); err != nil {
		return err
	}
	if p, ok := s.w.floor(s, c.Range.Start); ok && p.Range.Overlaps(c.Range) {
		return fmt.Errorf("%v: shard %d: %w", c, p.ID, ErrOverlap)
	}
	if n, ok := s.w.ceil(s, c.Range.Start); ok && n.Range.Overlaps(c.Range) {
		return fmt.Errorf("%v: shard %d: %w", c, n.ID, ErrOverlap)
	}
	return nil
}

// maxShardID is reserved so the next-ID counter never wraps to zero.
const maxShardID = ^uint64(0)

// checkEpoch returns the shard if it exists at the given epoch.
func checkEpoch(s *state, cmd Command, id ShardID, epoch uint64) (*shardRec, error) {
	r, ok := s.w.shard(s, id)
	if !ok {
		return nil, fmt.Errorf("%v: shard %d: %w", cmd, id, ErrUnknownShard)
	}
	if r.Epoch != epoch {
		return nil, fmt.Errorf("%v: shard %d is at epoch %d: %w", cmd, id, r.Epoch, ErrStaleEpoch)
	}
	return r, nil
}

func checkSplit(s *state, cmd Command, c PlaceSplit) (*shardRec, error) {
	r, err := checkEpoch(s, cmd, c.Shard, c.Epoch)
	if err != nil {
		return nil, err
	}
	if err := notMoving(s, cmd, r); err != nil {
		return nil, err
	}
	if !r.Range.Inside(c.SplitKey) {
		return nil, fmt.Errorf("%v: range %v: %w", c, r.Range, ErrBadSplitKey)
	}
	if s.nextID == ShardID(maxShardID) {
		return nil, fmt.Errorf("%v: shard IDs exhausted: %w", c, ErrInvalidCommand)
	}
	return r, nil
}

func checkMerge(s *state, cmd Command, c PlaceMerge) (*shardRec, error) {
	l, err := checkEpoch(s, cmd, c.Left, c.LeftEpoch)
	if err != nil {
		return nil, err
	}
	r, err := checkEpoch(s, cmd, c.Right, c.RightEpoch)
	if err != nil {
		return nil, err
	}
	if err := notMoving(s, cmd, l); err != nil {
		return nil, err
	}
	if err := notMoving(s, cmd, r); err != nil {
		return nil, err
	}
	if !l.Range.Adjacent(r.Range) {
		return nil, fmt.Errorf("%v: %v then %v: %w", c, l.Range, r.Range, ErrNotAdjacent)
	}
	if l.Node != r.Node {
		return nil, fmt.Errorf("%v: nodes %d and %d: %w", c, l.Node, r.Node, ErrNodeMismatch)
	}
	return l, nil
}

func checkTransfer(s *state, cmd Command, c PlaceTransfer) (*shardRec, error) {
	if c.From == c.To {
		return nil, fmt.Errorf("%v: same node: %w", c, ErrInvalidCommand)
	}
	r, err := checkEpoch(s, cmd, c.Shard, c.Epoch)
	if err != nil {
		return nil, err
	}
	if r.Node != c.From {
		return nil, fmt.Errorf("%v: shard is on node %d: %w", c, r.Node, ErrWrongOwner)
	}
	if err := notMoving(s, cmd, r); err != nil {
		return nil, err
	}
	return r, checkUp(s, cmd, c.To)
}

// checkPause checks a SetPause. An expiry must be a time a log entry can
// hold (after 1970, before 2262); a SetPause that ends a pause with an
// expiry (Paused false, Until set) is the leader ending a pause that
// expired, and applies only while that same pause is in force, so it can
// never end a newer one.
func checkPause(s *state, cmd Command, c SetPause) error {
	if err := needVersion(s, cmd, versionMoves); err != nil {
		return err
	}
	if !c.Until.IsZero() && (unixNano(c.Until) == 0 || c.Until.After(time.Unix(0, math.MaxInt64))) {
		return fmt.Errorf("%v: expiry out of range: %w", cmd, ErrInvalidCommand)
	}
	if !c.Paused && !c.Until.IsZero() && (!s.pause.paused || s.pause.until != unixNano(c.Until)) {
		return fmt.Errorf("%v: the pause changed since it expired: %w", cmd, ErrStaleEpoch)
	}
	return nil
}
