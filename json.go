package placement

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// ErrInvalidEncoding is wrapped by every error of the JSON and text forms
// of this package's types: the UnmarshalJSON and UnmarshalText methods,
// UnmarshalCommandJSON and UnmarshalCommandsJSON return it for input that
// is not the form (see Shard.UnmarshalJSON for the rules), and the
// MarshalJSON and MarshalText methods, MarshalCommandJSON and
// MarshalCommandsJSON for a value that has none, such as an undefined
// NodeState or an empty KeyRange.
var ErrInvalidEncoding = errors.New("placement: invalid encoding")

// encodingError wraps ErrInvalidEncoding, naming the type concerned.
func encodingError(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalidEncoding, what, err)
}

// marshalJSON is json.Marshal with its errors wrapping ErrInvalidEncoding.
// An error of a nested value's MarshalJSON already wraps it, and is
// returned as it is.
func marshalJSON(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		var me *json.MarshalerError
		if errors.As(err, &me) && errors.Is(me.Err, ErrInvalidEncoding) {
			return nil, me.Err
		}
		return nil, encodingError(what, err)
	}
	return b, nil
}

// ---- NodeState, CommandType and SkipReason: text forms ----

// MarshalText returns the state's name, as String does: "up", "draining",
// "down" or "lost". An undefined state has no name, and is an error.
func (s NodeState) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, encodingError("NodeState", fmt.Errorf("%v has no name", s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText sets the state from its name: exactly "up", "draining",
// "down" or "lost". Any other text, in another case too, is an error.
func (s *NodeState) UnmarshalText(text []byte) error {
	v, err := parseNodeState(string(text))
	if err != nil {
		return encodingError("NodeState", err)
	}
	*s = v
	return nil
}

func parseNodeState(name string) (NodeState, error) {
	for s := NodeUp; s.Valid(); s++ {
		if s.String() == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown node state %q (want up, draining, down or lost)", name)
}

// commandTypeNames are the commands' names: the first word of each
// command's String.
var commandTypeNames = [...]string{
	TypeAddNode:          "add-node",
	TypeSetNodeState:     "set-node-state",
	TypeRemoveNode:       "remove-node",
	TypeCreateShard:      "create-shard",
	TypePlaceSplit:       "split",
	TypePlaceMerge:       "merge",
	TypePlaceTransfer:    "transfer",
	TypeSetRebalancing:   "set-rebalancing",
	TypeSetFormatVersion: "set-format-version",
	TypeCompleteTransfer: "complete-transfer",
	TypeAbortTransfer:    "abort-transfer",
	TypeSetPause:         "set-pause",
	TypeSetPolicy:        "set-policy",
}

// String returns the command's name, the first word of the command's own
// String: "add-node", "set-node-state", "remove-node", "create-shard",
// "split", "merge", "transfer", "set-rebalancing", "set-format-version",
// "complete-transfer", "abort-transfer", "set-pause" or "set-policy";
// "CommandType(n)" for a number
// with no command.
func (t CommandType) String() string {
	if int(t) < len(commandTypeNames) && commandTypeNames[t] != "" {
		return commandTypeNames[t]
	}
	return "CommandType(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText returns the command's name, as String does. A number with
// no command is an error.
func (t CommandType) MarshalText() ([]byte, error) {
	if int(t) >= len(commandTypeNames) || commandTypeNames[t] == "" {
		return nil, encodingError("CommandType", fmt.Errorf("%v has no name", t))
	}
	return []byte(commandTypeNames[t]), nil
}

// UnmarshalText sets the type from a command's name, as String returns
// it. Any other text is an error.
func (t *CommandType) UnmarshalText(text []byte) error {
	v, err := parseCommandType(string(text))
	if err != nil {
		return encodingError("CommandType", err)
	}
	*t = v
	return nil
}

func parseCommandType(name string) (CommandType, error) {
	if name != "" {
		if i := slices.Index(commandTypeNames[:], name); i >= 0 {
			return CommandType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown command type %q", name)
}

// MarshalText returns the reason in words, as String does ("stats
// unknown"). A reason with no words is an error.
func (r SkipReason) MarshalText() ([]byte, error) {
	if int(r) >= len(skipNames) || skipNames[r] == "" {
		return nil, encodingError("SkipReason", fmt.Errorf("%v has no name", r))
	}
	return []byte(skipNames[r]), nil
}

// UnmarshalText sets the reason from its words, exactly as String returns
// them. Any other text is an error.
func (r *SkipReason) UnmarshalText(text []byte) error {
	v, err := parseSkipReason(string(text))
	if err != nil {
		return encodingError("SkipReason", err)
	}
	*r = v
	return nil
}

func parseSkipReason(name string) (SkipReason, error) {
	if name != "" {
		if i := slices.Index(skipNames[:], name); i >= 0 {
			return SkipReason(i), nil
		}
	}
	return 0, fmt.Errorf("unknown skip reason %q", name)
}

// ---- KeyRange ----

// keyRangeJSON is KeyRange's JSON form.
type keyRangeJSON struct {
	Start []byte `json:"start"`
	End   []byte `json:"end"`
}

// MarshalJSON encodes the range as {"start": ..., "end": ...} with both
// keys in standard base64 (keys are arbitrary bytes, and base64 carries
// them exactly). Start is "" at the beginning of the key space, whether it
// is nil or empty; End is null when the range is unbounded. An empty range
// (not Valid) is an error.
func (r KeyRange) MarshalJSON() ([]byte, error) {
	if !r.Valid() {
		return nil, encodingError("KeyRange", fmt.Errorf("%v is empty: start must be below end", r))
	}
	start := r.Start
	if start == nil {
		start = []byte{}
	}
	return marshalJSON("KeyRange", keyRangeJSON{Start: start, End: r.End})
}

// UnmarshalJSON decodes the form MarshalJSON writes. Both fields are
// required; a "start" of "" gives a nil Start, and an "end" of null a nil
// (unbounded) End. An empty range (not Valid) is an error, and decoding is
// strict as for Shard.UnmarshalJSON.
func (r *KeyRange) UnmarshalJSON(data []byte) error {
	v, err := decodeKeyRange(data)
	if err != nil {
		return encodingError("KeyRange", err)
	}
	*r = v
	return nil
}

func decodeKeyRange(data []byte) (KeyRange, error) {
	var r KeyRange
	d := newObjectDecoder(data)
	d.req("start", jsonBytes(&r.Start, false))
	d.req("end", jsonBytes(&r.End, true))
	if err := d.done(); err != nil {
		return KeyRange{}, err
	}
	if len(r.Start) == 0 {
		r.Start = nil
	}
	if !r.Valid() {
		return KeyRange{}, fmt.Errorf("range %v is empty: start must be below end", r)
	}
	return r, nil
}

// ---- Node ----

// nodeJSON is Node's JSON form.
type nodeJSON struct {
	ID     NodeID    `json:"id"`
	State  NodeState `json:"state"`
	Shards int       `json:"shards"`
}

// MarshalJSON encodes the node as {"id": 1, "state": "up", "shards": 3},
// the state by name (NodeState.MarshalText). An undefined state is an
// error.
func (n Node) MarshalJSON() ([]byte, error) {
	if !n.State.Valid() {
		return nil, encodingError("Node", fmt.Errorf("node %d: %v has no name", n.ID, n.State))
	}
	return marshalJSON("Node", nodeJSON(n))
}

// UnmarshalJSON decodes the form MarshalJSON writes, every field
// required. An unknown state name is an error, and decoding is strict as
// for Shard.UnmarshalJSON.
func (n *Node) UnmarshalJSON(data []byte) error {
	v, err := decodeNode(data)
	if err != nil {
		return encodingError("Node", err)
	}
	*n = v
	return nil
}

func decodeNode(data []byte) (Node, error) {
	var n Node
	d := newObjectDecoder(data)
	d.req("id", jsonValue(&n.ID))
	d.req("state", jsonNodeState(&n.State))
	d.req("shards", jsonValue(&n.Shards))
	if err := d.done(); err != nil {
		return Node{}, err
	}
	return n, nil
}

// ---- Shard ----

// shardJSON is Shard's JSON form.
type shardJSON struct {
	ID       ShardID  `json:"id"`
	Range    KeyRange `json:"range"`
	Node     NodeID   `json:"node"`
	Epoch    uint64   `json:"epoch"`
	MovingTo NodeID   `json:"moving_to,omitempty"`
}

// MarshalJSON encodes the shard as
//
//	{"id": 7, "range": {"start": "YQ==", "end": null}, "node": 2, "epoch": 3, "moving_to": 4}
//
// with the range as KeyRange.MarshalJSON writes it, and "moving_to"
// omitted when MovingTo is 0 (no move in flight). An empty range is an
// error.
func (s Shard) MarshalJSON() ([]byte, error) {
	return marshalJSON("Shard", shardJSON(s))
}

// UnmarshalJSON decodes the form MarshalJSON writes. Every field but
// "moving_to" is required.
//
// Decoding the JSON forms of this package is strict: the input must be
// one JSON object (null is an error, not a no-op) with no trailing data;
// field names must match exactly, case included, and appear at most once;
// unknown fields, missing required fields and null where the form has no
// null are errors; IDs and counts must be JSON integers in range; keys must
// be canonical standard base64; and an empty range, an unknown node state,
// skip reason or command type, or a load that is negative is an error.
// Every error these methods return wraps ErrInvalidEncoding
// (json.Unmarshal reports malformed JSON itself, before calling them). The
// receiver changes only when decoding succeeds.
func (s *Shard) UnmarshalJSON(data []byte) error {
	v, err := decodeShard(data)
	if err != nil {
		return encodingError("Shard", err)
	}
	*s = v
	return nil
}

func decodeShard(data []byte) (Shard, error) {
	var s Shard
	d := newObjectDecoder(data)
	d.req("id", jsonValue(&s.ID))
	d.req("range", jsonKeyRange(&s.Range))
	d.req("node", jsonValue(&s.Node))
	d.req("epoch", jsonValue(&s.Epoch))
	d.opt("moving_to", jsonValue(&s.MovingTo))
	if err := d.done(); err != nil {
		return Shard{}, err
	}
	return s, nil
}

// ---- Stats ----

// statsJSON is Stats' JSON form.
type statsJSON struct {
	Keys      uint64  `json:"keys"`
	Bytes     uint64  `json:"bytes"`
	Load      float64 `json:"load"`
	Estimated bool    `json:"estimated"`
	SplitKey  []byte  `json:"split_key"`
}

// MarshalJSON encodes the stats as
//
//	{"keys": 10, "bytes": 4096, "load": 1.5, "estimated": false, "split_key": "bQ=="}
//
// with the split key in standard base64, null when SplitKey is nil (no
// hint) and "" when it is empty. A Load that is negative, NaN or infinite
// is an error.
func (s Stats) MarshalJSON() ([]byte, error) {
	if err := checkLoad(s.Load); err != nil {
		return nil, encodingError("Stats", err)
	}
	return marshalJSON("Stats", statsJSON(s))
}

// UnmarshalJSON decodes the form MarshalJSON writes, every field
// required. A negative load is an error, and decoding is strict as for
// Shard.UnmarshalJSON.
func (s *Stats) UnmarshalJSON(data []byte) error {
	v, err := decodeStats(data)
	if err != nil {
		return encodingError("Stats", err)
	}
	*s = v
	return nil
}

func decodeStats(data []byte) (Stats, error) {
	var s Stats
	d := newObjectDecoder(data)
	d.req("keys", jsonValue(&s.Keys))
	d.req("bytes", jsonValue(&s.Bytes))
	d.req("load", func(raw json.RawMessage) error {
		if err := jsonValue(&s.Load)(raw); err != nil {
			return err
		}
		return checkLoad(s.Load)
	})
	d.req("estimated", jsonValue(&s.Estimated))
	d.req("split_key", jsonBytes(&s.SplitKey, true))
	if err := d.done(); err != nil {
		return Stats{}, err
	}
	return s, nil
}

// checkLoad accepts what Stats.Load documents: finite and at least zero.
func checkLoad(load float64) error {
	if !(load >= 0) || math.IsInf(load, 1) {
		return fmt.Errorf("load %v must be finite and >= 0", load)
	}
	return nil
}

// ---- Skip, Balance and Plan ----

// skipJSON is Skip's JSON form.
type skipJSON struct {
	Reason SkipReason `json:"reason"`
	Shard  ShardID    `json:"shard,omitempty"`
	Node   NodeID     `json:"node,omitempty"`
	Count  int        `json:"count,omitempty"`
}

// MarshalJSON encodes the skip as {"reason": "node not up", "shard": 4,
// "node": 2, "count": 1}, the reason in words (SkipReason.MarshalText) and
// "shard", "node" and "count" each omitted when 0, as String omits them. A
// reason with no words is an error.
func (s Skip) MarshalJSON() ([]byte, error) {
	if _, err := s.Reason.MarshalText(); err != nil {
		return nil, err
	}
	return marshalJSON("Skip", skipJSON(s))
}

// UnmarshalJSON decodes the form MarshalJSON writes: "reason" is required,
// the other fields are 0 when absent. Unknown reasons are an error, and
// decoding is strict as for Shard.UnmarshalJSON.
func (s *Skip) UnmarshalJSON(data []byte) error {
	v, err := decodeSkip(data)
	if err != nil {
		return encodingError("Skip", err)
	}
	*s = v
	return nil
}

func decodeSkip(data []byte) (Skip, error) {
	var s Skip
	d := newObjectDecoder(data)
	d.req("reason", func(raw json.RawMessage) error {
		name, err := jsonString(raw)
		if err == nil {
			s.Reason, err = parseSkipReason(name)
		}
		return err
	})
	d.opt("shard", jsonValue(&s.Shard))
	d.opt("node", jsonValue(&s.Node))
	d.opt("count", jsonValue(&s.Count))
	if err := d.done(); err != nil {
		return Skip{}, err
	}
	return s, nil
}

// balanceJSON is Balance's JSON form.
type balanceJSON struct {
	Count float64 `json:"count"`
	Bytes float64 `json:"bytes"`
	Load  float64 `json:"load"`
}

// MarshalJSON encodes the spreads as {"count": 0.5, "bytes": 0.25,
// "load": 0}.
func (b Balance) MarshalJSON() ([]byte, error) {
	return marshalJSON("Balance", balanceJSON(b))
}

// UnmarshalJSON decodes the form MarshalJSON writes, every field
// required, strictly as for Shard.UnmarshalJSON.
func (b *Balance) UnmarshalJSON(data []byte) error {
	v, err := decodeBalance(data)
	if err != nil {
		return encodingError("Balance", err)
	}
	*b = v
	return nil
}

func decodeBalance(data []byte) (Balance, error) {
	var b Balance
	d := newObjectDecoder(data)
	d.req("count", jsonValue(&b.Count))
	d.req("bytes", jsonValue(&b.Bytes))
	d.req("load", jsonValue(&b.Load))
	if err := d.done(); err != nil {
		return Balance{}, err
	}
	return b, nil
}

// planJSON is Plan's JSON form.
type planJSON struct {
	Commands        []json.RawMessage `json:"commands"`
	Reasons         []Reason          `json:"reasons"`
	Skipped         []Skip            `json:"skipped"`
	Imbalance       float64           `json:"imbalance"`
	Balance         Balance           `json:"balance"`
	Rebalancing     bool              `json:"rebalancing"`
	RebalancingLoad bool              `json:"rebalancing_load"`
	MinMoves        int               `json:"min_moves"`
	MinBytes        uint64            `json:"min_bytes"`
}

// MarshalJSON encodes the plan as an object with the fields "commands"
// (each as MarshalCommandJSON writes it), "reasons" (each as
// Reason.MarshalJSON writes it), "skipped" (each as
// Skip.MarshalJSON writes it), "imbalance", "balance"
// (Balance.MarshalJSON), "rebalancing", "rebalancing_load", "min_moves"
// and "min_bytes". A nil Commands, Reasons or Skipped is null, an empty
// one [].
func (p Plan) MarshalJSON() ([]byte, error) {
	out := planJSON{
		Reasons:         p.Reasons,
		Skipped:         p.Skipped,
		Imbalance:       p.Imbalance,
		Balance:         p.Balance,
		Rebalancing:     p.Rebalancing,
		RebalancingLoad: p.RebalancingLoad,
		MinMoves:        p.MinMoves,
		MinBytes:        p.MinBytes,
	}
	if p.Commands != nil {
		out.Commands = make([]json.RawMessage, len(p.Commands))
		for i, c := range p.Commands {
			b, err := MarshalCommandJSON(c)
			if err != nil {
				return nil, err
			}
			out.Commands[i] = b
		}
	}
	return marshalJSON("Plan", out)
}

// UnmarshalJSON decodes the form MarshalJSON writes, every field
// required but "reasons" (absent from plans encoded before it was added,
// and then nil), with the commands decoded by UnmarshalCommandJSON.
// Reasons, when not null, are one per command, each for its command.
// Decoding is strict as for Shard.UnmarshalJSON.
func (p *Plan) UnmarshalJSON(data []byte) error {
	v, err := decodePlan(data)
	if err != nil {
		return encodingError("Plan", err)
	}
	*p = v
	return nil
}

func decodePlan(data []byte) (Plan, error) {
	var p Plan
	d := newObjectDecoder(data)
	d.req("commands", jsonArray(&p.Commands, decodeCommand))
	d.opt("reasons", jsonArray(&p.Reasons, decodeReason))
	d.req("skipped", jsonArray(&p.Skipped, decodeSkip))
	d.req("imbalance", jsonValue(&p.Imbalance))
	d.req("balance", func(raw json.RawMessage) (err error) {
		p.Balance, err = decodeBalance(raw)
		return err
	})
	d.req("rebalancing", jsonValue(&p.Rebalancing))
	d.req("rebalancing_load", jsonValue(&p.RebalancingLoad))
	d.req("min_moves", jsonValue(&p.MinMoves))
	d.req("min_bytes", jsonValue(&p.MinBytes))
	if err := d.done(); err != nil {
		return Plan{}, err
	}
	if err := reasonsMatch(p); err != nil {
		return Plan{}, err
	}
	return p, nil
}

// ---- Commands ----

// The commands' JSON forms: "type" first, then the fields in snake case.
type (
	addNodeJSON struct {
		Type CommandType `json:"type"`
		Node NodeID      `json:"node"`
	}
	setNodeStateJSON struct {
		Type  CommandType `json:"type"`
		Node  NodeID      `json:"node"`
		State NodeState   `json:"state"`
	}
	createShardJSON struct {
		Type  CommandType `json:"type"`
		ID    ShardID     `json:"id"`
		Range KeyRange    `json:"range"`
		Node  NodeID      `json:"node"`
	}
	placeSplitJSON struct {
		Type     CommandType `json:"type"`
		Shard    ShardID     `json:"shard"`
		Epoch    uint64      `json:"epoch"`
		SplitKey []byte      `json:"split_key"`
	}
	placeMergeJSON struct {
		Type       CommandType `json:"type"`
		Left       ShardID     `json:"left"`
		LeftEpoch  uint64      `json:"left_epoch"`
		Right      ShardID     `json:"right"`
		RightEpoch uint64      `json:"right_epoch"`
	}
	placeTransferJSON struct {
		Type  CommandType `json:"type"`
		Shard ShardID     `json:"shard"`
		Epoch uint64      `json:"epoch"`
		From  NodeID      `json:"from"`
		To    NodeID      `json:"to"`
	}
	// completeJSON is CompleteTransfer's form: "to" only when named.
	completeJSON struct {
		Type  CommandType `json:"type"`
		Shard ShardID     `json:"shard"`
		Epoch uint64      `json:"epoch"`
		To    NodeID      `json:"to,omitempty"`
	}
	// shardEpochJSON is AbortTransfer's form.
	shardEpochJSON struct {
		Type  CommandType `json:"type"`
		Shard ShardID     `json:"shard"`
		Epoch uint64      `json:"epoch"`
	}
	setRebalancingJSON struct {
		Type  CommandType `json:"type"`
		Bytes bool        `json:"bytes"`
		Load  bool        `json:"load"`
	}
	setFormatVersionJSON struct {
		Type    CommandType `json:"type"`
		Version uint64      `json:"version"`
	}
)

// MarshalCommandJSON encodes a command as a JSON object: "type", the
// command's name (CommandType.MarshalText), then its fields in snake case.
// IDs, epochs and versions are numbers, keys standard base64 and node
// states names:
//
//	{"type": "add-node", "node": 4}
//	{"type": "set-node-state", "node": 4, "state": "draining"}
//	{"type": "remove-node", "node": 4}
//	{"type": "create-shard", "id": 0, "range": {"start": "", "end": null}, "node": 1}
//	{"type": "split", "shard": 7, "epoch": 3, "split_key": "bQ=="}
//	{"type": "merge", "left": 7, "left_epoch": 3, "right": 8, "right_epoch": 1}
//	{"type": "transfer", "shard": 7, "epoch": 3, "from": 1, "to": 2}
//	{"type": "complete-transfer", "shard": 7, "epoch": 4}
//	{"type": "abort-transfer", "shard": 7, "epoch": 4}
//	{"type": "set-rebalancing", "bytes": true, "load": false}
//	{"type": "set-format-version", "version": 3}
//	{"type": "set-pause", "paused": true, "until": "2026-12-01T10:00:00Z"}
//	{"type": "set-policy", "policy": {...Policy's form...}, "max_actions_per_tick": 5}
//
// A split's "split_key" is null when SplitKey is nil. A command of a type
// this package does not define (or a pointer to one), an undefined node
// state and an empty range are errors.
func MarshalCommandJSON(c Command) ([]byte, error) {
	var v any
	switch c := c.(type) {
	case AddNode:
		v = addNodeJSON{c.Type(), c.Node}
	case SetNodeState:
		if !c.State.Valid() {
			return nil, encodingError("Command", fmt.Errorf("%v: %v has no name", c, c.State))
		}
		v = setNodeStateJSON{c.Type(), c.Node, c.State}
	case RemoveNode:
		v = addNodeJSON{c.Type(), c.Node}
	case CreateShard:
		v = createShardJSON{c.Type(), c.ID, c.Range, c.Node}
	case PlaceSplit:
		v = placeSplitJSON{c.Type(), c.Shard, c.Epoch, c.SplitKey}
	case PlaceMerge:
		v = placeMergeJSON{c.Type(), c.Left, c.LeftEpoch, c.Right, c.RightEpoch}
	case PlaceTransfer:
		v = placeTransferJSON{c.Type(), c.Shard, c.Epoch, c.From, c.To}
	case CompleteTransfer:
		v = completeJSON{c.Type(), c.Shard, c.Epoch, c.To}
	case AbortTransfer:
		v = shardEpochJSON{c.Type(), c.Shard, c.Epoch}
	case SetRebalancing:
		v = setRebalancingJSON{c.Type(), c.Bytes, c.Load}
	case SetFormatVersion:
		v = setFormatVersionJSON{c.Type(), c.Version}
	case SetPause:
		v = pauseJSON(c)
	case SetPolicy:
		v = setPolicyJSON{c.Type(), c.Policy, c.MaxActionsPerTick}
	default:
		return nil, encodingError("Command", fmt.Errorf("unknown command %T", c))
	}
	return marshalJSON("Command", v)
}

// UnmarshalCommandJSON decodes a command from the form MarshalCommandJSON
// writes, into the command's value type (AddNode, PlaceTransfer, ...).
// Every field of the type is required ("split_key" may be null), and
// decoding is strict as for Shard.UnmarshalJSON: an unknown "type", an
// unknown node state and an empty range are errors. It checks the form
// only; whether the command applies is for ShardRegistry.Apply.
func UnmarshalCommandJSON(data []byte) (Command, error) {
	c, err := decodeCommand(data)
	if err != nil {
		return nil, encodingError("Command", err)
	}
	return c, nil
}

func decodeCommand(data []byte) (Command, error) {
	d := newObjectDecoder(data)
	var typ CommandType
	d.req("type", func(raw json.RawMessage) error {
		name, err := jsonString(raw)
		if err == nil {
			typ, err = parseCommandType(name)
		}
		return err
	})
	if d.err != nil {
		// Not an object, or no valid type: the other fields cannot be
		// judged, so they are not reported as unknown.
		return nil, d.err
	}
	var c Command
	switch typ {
	case TypeAddNode:
		var v AddNode
		d.req("node", jsonValue(&v.Node))
		c = v
	case TypeSetNodeState:
		var v SetNodeState
		d.req("node", jsonValue(&v.Node))
		d.req("state", jsonNodeState(&v.State))
		c = v
	case TypeRemoveNode:
		var v RemoveNode
		d.req("node", jsonValue(&v.Node))
		c = v
	case TypeCreateShard:
		var v CreateShard
		d.req("id", jsonValue(&v.ID))
		d.req("range", jsonKeyRange(&v.Range))
		d.req("node", jsonValue(&v.Node))
		c = v
	case TypePlaceSplit:
		var v PlaceSplit
		d.req("shard", jsonValue(&v.Shard))
		d.req("epoch", jsonValue(&v.Epoch))
		d.req("split_key", jsonBytes(&v.SplitKey, true))
		c = v
	case TypePlaceMerge:
		var v PlaceMerge
		d.req("left", jsonValue(&v.Left))
		d.req("left_epoch", jsonValue(&v.LeftEpoch))
		d.req("right", jsonValue(&v.Right))
		d.req("right_epoch", jsonValue(&v.RightEpoch))
		c = v
	case TypePlaceTransfer:
		var v PlaceTransfer
		d.req("shard", jsonValue(&v.Shard))
		d.req("epoch", jsonValue(&v.Epoch))
		d.req("from", jsonValue(&v.From))
		d.req("to", jsonValue(&v.To))
		c = v
	case TypeCompleteTransfer:
		var v CompleteTransfer
		d.req("shard", jsonValue(&v.Shard))
		d.req("epoch", jsonValue(&v.Epoch))
		d.opt("to", jsonValue(&v.To))
		c = v
	case TypeAbortTransfer:
		var v AbortTransfer
		d.req("shard", jsonValue(&v.Shard))
		d.req("epoch", jsonValue(&v.Epoch))
		c = v
	case TypeSetRebalancing:
		var v SetRebalancing
		d.req("bytes", jsonValue(&v.Bytes))
		d.req("load", jsonValue(&v.Load))
		c = v
	case TypeSetFormatVersion:
		var v SetFormatVersion
		d.req("version", jsonValue(&v.Version))
		c = v
	case TypeSetPause:
		c = decodePause(d)
	case TypeSetPolicy:
		c = decodeSetPolicy(d)
	default:
		// A name in commandTypeNames with no case above.
		return nil, fmt.Errorf("command type %v has no JSON form", typ)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return c, nil
}

// ---- Members of the forms above ----

// jsonNodeState decodes a node state by name.
func jsonNodeState(p *NodeState) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		name, err := jsonString(raw)
		if err == nil {
			*p, err = parseNodeState(name)
		}
		return err
	}
}

// jsonKeyRange decodes a KeyRange's form.
func jsonKeyRange(p *KeyRange) func(json.RawMessage) error {
	return func(raw json.RawMessage) (err error) {
		*p, err = decodeKeyRange(raw)
		return err
	}
}
