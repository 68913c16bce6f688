package placement

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// A strict decoder of JSON objects, on which the forms of json.go are
// built: each member is asked for by its exact name, and a duplicate, an
// unknown or a missing required member, a null where none is allowed, or
// trailing data is an error.

// objectDecoder decodes the members of one JSON object by exact name. It
// keeps the first error; done reports it, or a member no call asked for.
type objectDecoder struct {
	members map[string]json.RawMessage
	err     error
	// notObject is set when the input is not one well-formed object: done
	// reports err then, rather than fields missing.
	notObject bool
}

// newObjectDecoder splits data, which must be exactly one JSON object, into
// its members. A name that appears twice is an error.
func newObjectDecoder(data []byte) *objectDecoder {
	d := &objectDecoder{members: map[string]json.RawMessage{}}
	if err := d.parse(data); err != nil {
		d.err, d.notObject = err, true
	}
	return d
}

func (d *objectDecoder) parse(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err == io.EOF {
		return errors.New("no JSON value")
	}
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("want a JSON object, got %s", describeToken(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok {
			return fmt.Errorf("want a field name, got %s", describeToken(tok))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		if _, dup := d.members[name]; dup {
			return fmt.Errorf("duplicate field %q", name)
		}
		d.members[name] = bytes.TrimSpace(raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// describeToken names a JSON token for errors.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return string(v)
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// req decodes the required member name with decode.
func (d *objectDecoder) req(name string, decode func(json.RawMessage) error) {
	d.member(name, true, decode)
}

// opt decodes the member name with decode if it is present.
func (d *objectDecoder) opt(name string, decode func(json.RawMessage) error) {
	d.member(name, false, decode)
}

func (d *objectDecoder) member(name string, required bool, decode func(json.RawMessage) error) {
	if d.notObject {
		return
	}
	raw, ok := d.members[name]
	if !ok {
		if required && d.err == nil {
			d.err = fmt.Errorf("missing field %q", name)
		}
		return
	}
	delete(d.members, name) // known, even if a previous field failed
	if d.err != nil {
		return
	}
	if err := decode(raw); err != nil {
		d.err = fmt.Errorf("field %q: %w", name, err)
	}
}

// done returns the first error: the input not being an object, then a
// member that no req or opt call asked for, then the first field's error.
func (d *objectDecoder) done() error {
	if d.notObject {
		return d.err
	}
	if len(d.members) > 0 {
		names := make([]string, 0, len(d.members))
		for name := range d.members {
			names = append(names, name)
		}
		slices.Sort(names)
		return fmt.Errorf("unknown field %q (names are case-sensitive)", names[0])
	}
	return d.err
}

var errNull = errors.New("null is not allowed here")

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// jsonValue decodes a number or a boolean into *p; null is an error.
func jsonValue[T any](p *T) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		if isNull(raw) {
			return errNull
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		*p = v
		return nil
	}
}

// jsonString decodes a JSON string; anything else is an error.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errors.New("want a string")
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// jsonBytes decodes a key in canonical standard base64 (non-nil, even when
// empty), or null into nil when nullable.
func jsonBytes(p *[]byte, nullable bool) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		if isNull(raw) {
			if !nullable {
				return errNull
			}
			*p = nil
			return nil
		}
		s, err := jsonString(raw)
		if err != nil {
			return errors.New("want a base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || base64.StdEncoding.EncodeToString(b) != s {
			return fmt.Errorf("%q is not canonical standard base64", s)
		}
		if b == nil {
			b = []byte{}
		}
		*p = b
		return nil
	}
}

// jsonArray decodes a JSON array with decode for each element: null gives
// a nil slice, [] an empty one. A null element is an error (decode's).
func jsonArray[T any](p *[]T, decode func([]byte) (T, error)) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		if isNull(raw) {
			*p = nil
			return nil
		}
		if len(raw) == 0 || raw[0] != '[' {
			return errors.New("want an array")
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return err
		}
		out := make([]T, len(elems))
		for i, e := range elems {
			v, err := decode(e)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = v
		}
		*p = out
		return nil
	}
}
