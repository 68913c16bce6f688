package placement

import (
	"encoding/json"
	"fmt"
	"time"
)

// The JSON forms of the explanations, for the admin server's /explain
// routes. Reasons are in words (SkipReason.MarshalText), states by name,
// times RFC 3339, and decoding is strict as for Shard.UnmarshalJSON.

// moveVerdictJSON is MoveVerdict's JSON form.
type moveVerdictJSON struct {
	Node    NodeID      `json:"node"`
	Allowed bool        `json:"allowed"`
	Phase   string      `json:"phase"`
	Reason  *SkipReason `json:"reason,omitempty"`
	Balance Balance     `json:"balance"`
}

// MarshalJSON encodes the verdict as
//
//	{"node": 3, "allowed": false, "phase": "bytes", "reason": "in-flight window full",
//	 "balance": {"count": 0.5, "bytes": 0.3, "load": 0}}
//
// with "reason" omitted when the move is allowed.
func (m MoveVerdict) MarshalJSON() ([]byte, error) {
	out := moveVerdictJSON{Node: m.Node, Allowed: m.Allowed, Phase: m.Phase, Balance: m.Balance}
	if m.Reason != 0 {
		out.Reason = &m.Reason
	}
	return marshalJSON("MoveVerdict", out)
}

// UnmarshalJSON decodes the form MarshalJSON writes; "reason" is
// required exactly when "allowed" is false.
func (m *MoveVerdict) UnmarshalJSON(data []byte) error {
	v, err := decodeMoveVerdict(data)
	if err != nil {
		return encodingError("MoveVerdict", err)
	}
	*m = v
	return nil
}

func decodeMoveVerdict(data []byte) (MoveVerdict, error) {
	var m MoveVerdict
	d := newObjectDecoder(data)
	d.req("node", jsonValue(&m.Node))
	d.req("allowed", jsonValue(&m.Allowed))
	d.req("phase", jsonText(&m.Phase))
	d.opt("reason", jsonSkipReason(&m.Reason))
	d.req("balance", func(raw json.RawMessage) (err error) {
		m.Balance, err = decodeBalance(raw)
		return err
	})
	if err := d.done(); err != nil {
		return MoveVerdict{}, err
	}
	if m.Allowed != (m.Reason == 0) {
		return MoveVerdict{}, fmt.Errorf("allowed is %v but reason is %q: a reason is given exactly when the move is refused", m.Allowed, m.Reason)
	}
	return m, nil
}

// shardExplanationJSON is ShardExplanation's JSON form.
type shardExplanationJSON struct {
	Shard         Shard         `json:"shard"`
	OwnerState    NodeState     `json:"owner_state"`
	Stats         Stats         `json:"stats"`
	StatsKnown    bool          `json:"stats_known"`
	Bytes         float64       `json:"bytes"`
	Load          float64       `json:"load"`
	Hot           bool          `json:"hot"`
	SplitDue      bool          `json:"split_due"`
	RecentlySplit bool          `json:"recently_split"`
	MovedAt       *time.Time    `json:"moved_at,omitempty"`
	Left          NodeID        `json:"left,omitempty"`
	CoolingUntil  *time.Time    `json:"cooling_until,omitempty"`
	Balance       Balance       `json:"balance"`
	Candidates    []MoveVerdict `json:"candidates"`
}

// MarshalJSON encodes the explanation as an object with the fields
// "shard" (Shard.MarshalJSON), "owner_state", "stats"
// (Stats.MarshalJSON), "stats_known", "bytes", "load", "hot",
// "split_due", "recently_split", "moved_at", "left" and "cooling_until"
// (each omitted when zero; times RFC 3339), "balance" and "candidates"
// (MoveVerdict.MarshalJSON each, best first).
func (e ShardExplanation) MarshalJSON() ([]byte, error) {
	return marshalJSON("ShardExplanation", shardExplanationJSON{
		Shard: e.Shard, OwnerState: e.OwnerState, Stats: e.Stats, StatsKnown: e.StatsKnown,
		Bytes: e.Bytes, Load: e.Load, Hot: e.Hot, SplitDue: e.SplitDue, RecentlySplit: e.RecentlySplit,
		MovedAt: timeOrNil(e.MovedAt), Left: e.Left, CoolingUntil: timeOrNil(e.CoolingUntil),
		Balance: e.Balance, Candidates: e.Candidates,
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes, the fields
// MarshalJSON may omit optional, strictly as for Shard.UnmarshalJSON.
func (e *ShardExplanation) UnmarshalJSON(data []byte) error {
	var v ShardExplanation
	d := newObjectDecoder(data)
	d.req("shard", func(raw json.RawMessage) (err error) { v.Shard, err = decodeShard(raw); return err })
	d.req("owner_state", jsonNodeState(&v.OwnerState))
	d.req("stats", func(raw json.RawMessage) (err error) { v.Stats, err = decodeStats(raw); return err })
	d.req("stats_known", jsonValue(&v.StatsKnown))
	d.req("bytes", jsonValue(&v.Bytes))
	d.req("load", jsonValue(&v.Load))
	d.req("hot", jsonValue(&v.Hot))
	d.req("split_due", jsonValue(&v.SplitDue))
	d.req("recently_split", jsonValue(&v.RecentlySplit))
	d.opt("moved_at", jsonValue(&v.MovedAt))
	d.opt("left", jsonValue(&v.Left))
	d.opt("cooling_until", jsonValue(&v.CoolingUntil))
	d.req("balance", func(raw json.RawMessage) (err error) { v.Balance, err = decodeBalance(raw); return err })
	d.req("candidates", jsonArray(&v.Candidates, decodeMoveVerdict))
	if err := d.done(); err != nil {
		return encodingError("ShardExplanation", err)
	}
	*e = v
	return nil
}

// nodeExplanationJSON is NodeExplanation's JSON form.
type nodeExplanationJSON struct {
	Node          Node        `json:"node"`
	MovesOut      int         `json:"moves_out"`
	MovesIn       int         `json:"moves_in"`
	BytesOut      float64     `json:"bytes_out"`
	BytesIn       float64     `json:"bytes_in"`
	OutWindowFull bool        `json:"out_window_full"`
	InWindowFull  bool        `json:"in_window_full"`
	Pressure      float64     `json:"pressure"`
	Left          int         `json:"left"`
	LeftBytes     float64     `json:"left_bytes"`
	NothingLeft   bool        `json:"nothing_left"`
	Held          []HeldShard `json:"held"`
	FullWindows   []NodeID    `json:"full_windows"`
	Target        NodeAmounts `json:"target"`
	Amount        NodeAmounts `json:"amount"`
	Ratio         NodeAmounts `json:"ratio"`
	Roles         []NodeRole  `json:"roles"`
}

// MarshalJSON encodes the explanation as an object with the fields
// "node" (Node.MarshalJSON), "moves_out", "moves_in", "bytes_out",
// "bytes_in", "out_window_full", "in_window_full", "pressure" (optional
// when decoding: 0 if absent), "left", "left_bytes",
// "nothing_left", "held" (HeldShard.MarshalJSON each), "full_windows",
// "target", "amount", "ratio" ({"count": ..., "bytes": ..., "load": ...}
// each) and "roles" ({"phase": "bytes", "role": "source"} each); a nil
// list is null.
func (e NodeExplanation) MarshalJSON() ([]byte, error) {
	return marshalJSON("NodeExplanation", nodeExplanationJSON(e))
}

// UnmarshalJSON decodes the form MarshalJSON writes, every field
// required, strictly as for Shard.UnmarshalJSON.
func (e *NodeExplanation) UnmarshalJSON(data []byte) error {
	var v NodeExplanation
	d := newObjectDecoder(data)
	d.req("node", func(raw json.RawMessage) (err error) { v.Node, err = decodeNode(raw); return err })
	d.req("moves_out", jsonValue(&v.MovesOut))
	d.req("moves_in", jsonValue(&v.MovesIn))
	d.req("bytes_out", jsonValue(&v.BytesOut))
	d.req("bytes_in", jsonValue(&v.BytesIn))
	d.req("out_window_full", jsonValue(&v.OutWindowFull))
	d.req("in_window_full", jsonValue(&v.InWindowFull))
	d.opt("pressure", jsonValue(&v.Pressure))
	d.req("left", jsonValue(&v.Left))
	d.req("left_bytes", jsonValue(&v.LeftBytes))
	d.req("nothing_left", jsonValue(&v.NothingLeft))
	d.req("held", jsonArray(&v.Held, decodeHeldShard))
	d.req("full_windows", jsonArray(&v.FullWindows, func(b []byte) (n NodeID, err error) { err = jsonValue(&n)(b); return n, err }))
	d.req("target", jsonAmounts(&v.Target))
	d.req("amount", jsonAmounts(&v.Amount))
	d.req("ratio", jsonAmounts(&v.Ratio))
	d.req("roles", jsonArray(&v.Roles, decodeNodeRole))
	if err := d.done(); err != nil {
		return encodingError("NodeExplanation", err)
	}
	*e = v
	return nil
}

// heldShardJSON is HeldShard's JSON form.
type heldShardJSON struct {
	Shard    ShardID    `json:"shard"`
	Reason   SkipReason `json:"reason"`
	MovingTo NodeID     `json:"moving_to,omitempty"`
}

// MarshalJSON encodes the shard as {"shard": 4, "reason": "shard is
// moving", "moving_to": 2}, "moving_to" omitted when 0. A reason with no
// words is an error.
func (h HeldShard) MarshalJSON() ([]byte, error) {
	return marshalJSON("HeldShard", heldShardJSON(h))
}

// UnmarshalJSON decodes the form MarshalJSON writes, strictly as for
// Shard.UnmarshalJSON.
func (h *HeldShard) UnmarshalJSON(data []byte) error {
	v, err := decodeHeldShard(data)
	if err != nil {
		return encodingError("HeldShard", err)
	}
	*h = v
	return nil
}

func decodeHeldShard(data []byte) (HeldShard, error) {
	var h HeldShard
	d := newObjectDecoder(data)
	d.req("shard", jsonValue(&h.Shard))
	d.req("reason", jsonSkipReason(&h.Reason))
	d.opt("moving_to", jsonValue(&h.MovingTo))
	return h, d.done()
}

// nodeRoleJSON is NodeRole's JSON form.
type nodeRoleJSON struct {
	Phase string `json:"phase"`
	Role  string `json:"role"`
}

func decodeNodeRole(data []byte) (NodeRole, error) {
	var r NodeRole
	d := newObjectDecoder(data)
	d.req("phase", jsonText(&r.Phase))
	d.req("role", jsonText(&r.Role))
	return r, d.done()
}

// nodeAmountsJSON is NodeAmounts' JSON form.
type nodeAmountsJSON struct {
	Count float64 `json:"count"`
	Bytes float64 `json:"bytes"`
	Load  float64 `json:"load"`
}

// MarshalJSON encodes the role as {"phase": "bytes", "role": "source"}.
func (r NodeRole) MarshalJSON() ([]byte, error) { return marshalJSON("NodeRole", nodeRoleJSON(r)) }

// MarshalJSON encodes the amounts as {"count": 5, "bytes": 1e9, "load": 2}.
func (a NodeAmounts) MarshalJSON() ([]byte, error) {
	return marshalJSON("NodeAmounts", nodeAmountsJSON(a))
}

func jsonAmounts(p *NodeAmounts) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		var a NodeAmounts
		d := newObjectDecoder(raw)
		d.req("count", jsonValue(&a.Count))
		d.req("bytes", jsonValue(&a.Bytes))
		d.req("load", jsonValue(&a.Load))
		if err := d.done(); err != nil {
			return err
		}
		*p = a
		return nil
	}
}

// jsonText decodes a JSON string; null is an error.
func jsonText(p *string) func(json.RawMessage) error {
	return func(raw json.RawMessage) (err error) {
		*p, err = jsonString(raw)
		return err
	}
}

// jsonSkipReason decodes a skip reason in words.
func jsonSkipReason(p *SkipReason) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		name, err := jsonString(raw)
		if err == nil {
			*p, err = parseSkipReason(name)
		}
		return err
	}
}

// timeOrNil is t, or nil when t is zero (omitted from a form).
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
