package placement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MarshalCommandsJSON encodes cmds as a JSON array of the forms
// MarshalCommandJSON writes, in order: [] when there are none (nil
// included). A command with no form is an error naming its index and
// wrapping ErrInvalidEncoding.
func MarshalCommandsJSON(cmds []Command) ([]byte, error) {
	out := make([]json.RawMessage, len(cmds))
	for i, c := range cmds {
		b, err := MarshalCommandJSON(c)
		if err != nil {
			return nil, fmt.Errorf("placement: commands[%d]: %w", i, err)
		}
		out[i] = b
	}
	return marshalJSON("Commands", out)
}

// UnmarshalCommandsJSON decodes the form MarshalCommandsJSON writes: one
// JSON array, each element decoded as UnmarshalCommandJSON decodes a
// command. Decoding is strict: null, an object or any other value that is
// not an array is an error, and so is trailing data; an element that does
// not decode is an error naming its index ("[2]: ..."). [] gives an empty,
// non-nil slice. Every error wraps ErrInvalidEncoding. It checks the form
// only; whether the commands apply is for ShardRegistry.Apply.
func UnmarshalCommandsJSON(data []byte) ([]Command, error) {
	raw := bytes.TrimSpace(data)
	if isNull(raw) {
		return nil, encodingError("Commands", errors.New("want an array, got null"))
	}
	var cmds []Command
	if err := jsonArray(&cmds, decodeCommand)(raw); err != nil {
		return nil, encodingError("Commands", err)
	}
	return cmds, nil
}
