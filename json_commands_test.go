package placement

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every command's form, in one array, round trips to the same values in
// the same order; the array is exactly the single forms joined.
func TestJSONCommandsRoundTrip(t *testing.T) {
	cmds := make([]Command, len(jsCommands))
	forms := make([]string, len(jsCommands))
	for i, tc := range jsCommands {
		cmds[i], forms[i] = tc.cmd, tc.want
	}
	b, err := MarshalCommandsJSON(cmds)
	require.NoError(t, err)
	require.Equal(t, "["+strings.Join(forms, ",")+"]", string(b))
	got, err := UnmarshalCommandsJSON(b)
	require.NoError(t, err)
	require.Equal(t, cmds, got)

	for _, none := range [][]Command{nil, {}} {
		b, err := MarshalCommandsJSON(none)
		require.NoError(t, err)
		require.Equal(t, "[]", string(b))
		got, err := UnmarshalCommandsJSON(b)
		require.NoError(t, err)
		require.NotNil(t, got)
		require.Empty(t, got)
	}
	got, err = UnmarshalCommandsJSON([]byte(" \n[ {\"type\": \"add-node\", \"node\": 1} ]\n"))
	require.NoError(t, err)
	require.Equal(t, []Command{AddNode{Node: 1}}, got)
}

// Decoding is strict, and an element's error names its index.
func TestJSONCommandsStrict(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "null", in: "null", want: "want an array, got null"},
		{name: "empty", in: "", want: "want an array"},
		{name: "object", in: `{"type":"add-node","node":1}`, want: "want an array"},
		{name: "number", in: "3", want: "want an array"},
		{name: "trailing data", in: `[] []`, want: "invalid character"},
		{name: "unterminated", in: `[{"type":"add-node","node":1}`, want: "unexpected end"},
		{name: "null element", in: `[{"type":"add-node","node":1}, null]`, want: "[1]: want a JSON object, got null"},
		{name: "bad element", in: `[{"type":"add-node","node":1}, {"type":"add-node","node":1,"x":2}]`, want: `[1]: unknown field "x"`},
		{name: "unknown type", in: `[{"type":"teleport"}]`, want: `[0]: field "type": unknown command type "teleport"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnmarshalCommandsJSON([]byte(tc.in))
			require.ErrorIs(t, err, ErrInvalidEncoding)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, got)
		})
	}
}

// A command with no form fails the whole array, naming its index.
func TestJSONCommandsMarshalRejects(t *testing.T) {
	_, err := MarshalCommandsJSON([]Command{AddNode{Node: 1}, jsFakeCommand{}})
	require.ErrorIs(t, err, ErrInvalidEncoding)
	require.ErrorContains(t, err, "commands[1]")
	_, err = MarshalCommandsJSON([]Command{nil})
	require.ErrorIs(t, err, ErrInvalidEncoding)
	require.ErrorContains(t, err, "commands[0]")
}
