package placement

import (
	"encoding/json"
	"fmt"
	"time"
)

// String describes the move as "move shard 7@3 from node 1 to node 2".
func (m Move) String() string {
	return fmt.Sprintf("move shard %d@%d from node %d to node %d", m.Shard, m.Epoch, m.From, m.To)
}

// moveJSON is Move's JSON form.
type moveJSON struct {
	Shard ShardID `json:"shard"`
	Epoch uint64  `json:"epoch"`
	From  NodeID  `json:"from"`
	To    NodeID  `json:"to"`
	Began *string `json:"began,omitempty"`
}

// MarshalJSON encodes the move as
//
//	{"shard": 7, "epoch": 3, "from": 1, "to": 2, "began": "2026-12-06T01:02:03.000000004Z"}
//
// with "began" in RFC 3339 with nanoseconds, UTC, and omitted when Began
// is zero.
func (m Move) MarshalJSON() ([]byte, error) {
	j := moveJSON{Shard: m.Shard, Epoch: m.Epoch, From: m.From, To: m.To}
	if !m.Began.IsZero() {
		s := m.Began.UTC().Format(time.RFC3339Nano)
		j.Began = &s
	}
	return marshalJSON("Move", j)
}

// UnmarshalJSON decodes the form MarshalJSON writes. "shard", "epoch",
// "from" and "to" are required, "began" is optional; decoding is strict as
// for Shard.UnmarshalJSON. This is the body of the admin API's
// POST /moves/complete and /moves/abort.
func (m *Move) UnmarshalJSON(data []byte) error {
	v, err := decodeMove(data)
	if err != nil {
		return encodingError("Move", err)
	}
	*m = v
	return nil
}

func decodeMove(data []byte) (Move, error) {
	var m Move
	d := newObjectDecoder(data)
	d.req("shard", jsonValue(&m.Shard))
	d.req("epoch", jsonValue(&m.Epoch))
	d.req("from", jsonValue(&m.From))
	d.req("to", jsonValue(&m.To))
	d.opt("began", func(raw json.RawMessage) error {
		s, err := jsonString(raw)
		if err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		m.Began = t
		return nil
	})
	if err := d.done(); err != nil {
		return Move{}, err
	}
	return m, nil
}
