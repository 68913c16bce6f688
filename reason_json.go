package placement

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// The JSON and text forms of Reason, Phase and Dimension, strict as the
// forms of json.go.

// MarshalText returns the phase's name, as String does. A number with no
// phase is an error.
func (p Phase) MarshalText() ([]byte, error) { return marshalName("Phase", phaseNames[:], p) }

// UnmarshalText sets the phase from its name, exactly as String returns
// it. Any other text is an error.
func (p *Phase) UnmarshalText(text []byte) error {
	return unmarshalName("Phase", phaseNames[:], text, p)
}

// MarshalText returns the dimension's name, as String does. A number with
// no dimension is an error.
func (d Dimension) MarshalText() ([]byte, error) {
	return marshalName("Dimension", dimensionNames[:], d)
}

// UnmarshalText sets the dimension from its name, exactly as String
// returns it. Any other text is an error.
func (d *Dimension) UnmarshalText(text []byte) error {
	return unmarshalName("Dimension", dimensionNames[:], text, d)
}

// nameOf returns v's name in names (indexed by value), or "" if it has
// none.
func nameOf[T ~uint8](names []string, v T) string {
	if int(v) < len(names) {
		return names[v]
	}
	return ""
}

// marshalName is the text form of an enumeration of type what whose names
// are indexed by value: v's name, or an error for a value with none.
func marshalName[T ~uint8](what string, names []string, v T) ([]byte, error) {
	name := nameOf(names, v)
	if name == "" {
		return nil, encodingError(what, fmt.Errorf("%s(%d) has no name", what, uint8(v)))
	}
	return []byte(name), nil
}

// unmarshalName sets *p to the value whose name is text; the empty name is
// never one.
func unmarshalName[T ~uint8](what string, names []string, text []byte, p *T) error {
	if i := slices.Index(names, string(text)); i >= 0 && len(text) > 0 {
		*p = T(i)
		return nil
	}
	return encodingError(what, fmt.Errorf("unknown %s %q", what, text))
}

// reasonsMatch checks a decoded plan's reasons: none, or one per command,
// each for its command.
func reasonsMatch(p Plan) error {
	if p.Reasons == nil {
		return nil
	}
	if len(p.Reasons) != len(p.Commands) {
		return fmt.Errorf("%d reasons for %d commands", len(p.Reasons), len(p.Commands))
	}
	for i, r := range p.Reasons {
		if !reflect.DeepEqual(r.Command, p.Commands[i]) {
			return fmt.Errorf("reason %d is for %v, not command %d (%v)", i, r.Command, i, p.Commands[i])
		}
	}
	return nil
}

// reasonJSON is Reason's JSON form.
type reasonJSON struct {
	Command   json.RawMessage `json:"command"`
	Phase     Phase           `json:"phase"`
	Dimension Dimension       `json:"dimension"`
	Before    float64         `json:"before"`
	After     float64         `json:"after"`
	Gain      float64         `json:"gain"`
	Pair      bool            `json:"pair"`
	Bytes     uint64          `json:"bytes"`
	Keys      uint64          `json:"keys"`
	Load      float64         `json:"load"`
	Estimated bool            `json:"estimated"`
	Threshold float64         `json:"threshold"`
	Left      int             `json:"left"`
	Partner   ShardID         `json:"partner"`
	Text      string          `json:"text"`
}

// MarshalJSON encodes the reason as an object: "command" (as
// MarshalCommandJSON writes it), "phase" and "dimension" by name, the
// figures "before", "after", "gain" (Gain), "pair", "bytes", "keys",
// "load", "estimated", "threshold", "left" and "partner", and "text", the
// reason in words (String). A reason with no command, or a phase or
// dimension with no name, is an error.
func (r Reason) MarshalJSON() ([]byte, error) {
	if r.Command == nil {
		return nil, encodingError("Reason", fmt.Errorf("no command"))
	}
	cmd, err := MarshalCommandJSON(r.Command)
	if err != nil {
		return nil, err
	}
	return marshalJSON("Reason", reasonJSON{
		Command: cmd, Phase: r.Phase, Dimension: r.Dimension,
		Before: r.Before, After: r.After, Gain: r.Gain(), Pair: r.Pair,
		Bytes: r.Bytes, Keys: r.Keys, Load: r.Load, Estimated: r.Estimated,
		Threshold: r.Threshold, Left: r.Left, Partner: r.Partner, Text: r.String(),
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes, every field
// required. "gain" and "text" are derived: each must be what the other
// fields give (Gain, String). Decoding is strict as for
// Shard.UnmarshalJSON.
func (r *Reason) UnmarshalJSON(data []byte) error {
	v, err := decodeReason(data)
	if err != nil {
		return encodingError("Reason", err)
	}
	*r = v
	return nil
}

func decodeReason(data []byte) (Reason, error) {
	var r Reason
	var gain float64
	var text string
	d := newObjectDecoder(data)
	d.req("command", func(raw json.RawMessage) (err error) {
		r.Command, err = decodeCommand(raw)
		return err
	})
	d.req("phase", jsonValue(&r.Phase))
	d.req("dimension", jsonValue(&r.Dimension))
	d.req("before", jsonValue(&r.Before))
	d.req("after", jsonValue(&r.After))
	d.req("gain", jsonValue(&gain))
	d.req("pair", jsonValue(&r.Pair))
	d.req("bytes", jsonValue(&r.Bytes))
	d.req("keys", jsonValue(&r.Keys))
	d.req("load", jsonValue(&r.Load))
	d.req("estimated", jsonValue(&r.Estimated))
	d.req("threshold", jsonValue(&r.Threshold))
	d.req("left", jsonValue(&r.Left))
	d.req("partner", jsonValue(&r.Partner))
	d.req("text", jsonValue(&text))
	if err := d.done(); err != nil {
		return Reason{}, err
	}
	if gain != r.Gain() {
		return Reason{}, fmt.Errorf("gain %v is not before − after (%v)", gain, r.Gain())
	}
	if text != r.String() {
		return Reason{}, fmt.Errorf("text %q is not the reason's (%q)", text, r.String())
	}
	return r, nil
}
