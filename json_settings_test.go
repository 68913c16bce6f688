package placement

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPolicyJSON(t *testing.T) {
	p := DefaultPolicy()
	p.MoveTimeout = 90 * time.Second
	p.InstantMoves = true
	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.Contains(t, string(b), `"move_timeout":"1m30s"`)
	var got Policy
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, p, got)

	for name, bad := range map[string]string{
		"missing field":  strings.Replace(string(b), `"instant_moves":true`, `"x":1`, 1),
		"unknown field":  strings.Replace(string(b), `}`, `,"extra":1}`, 1),
		"wrong case":     strings.Replace(string(b), `"stop_band"`, `"Stop_Band"`, 1),
		"bad duration":   strings.Replace(string(b), `"1m30s"`, `"soon"`, 1),
		"negative count": strings.Replace(string(b), `"merge_embargo":3`, `"merge_embargo":-3`, 1),
	} {
		require.ErrorIs(t, json.Unmarshal([]byte(bad), &got), ErrInvalidEncoding, name)
	}
}

// A value of the wrong kind is named by its field and described in JSON's
// words, never by a Go type, and the input is not repeated.
func TestPolicyJSONValueErrors(t *testing.T) {
	b, err := json.Marshal(DefaultPolicy())
	require.NoError(t, err)
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{name: "negative count", from: `"merge_embargo":3`, to: `"merge_embargo":-3`,
			want: `field "merge_embargo": want an integer from 0 to 4294967295`},
		{name: "fraction of a count", from: `"split_keys":100000`, to: `"split_keys":1.5`,
			want: `field "split_keys": want an integer from 0 to 18446744073709551615`},
		{name: "string for a ratio", from: `"stop_band":0.05`, to: `"stop_band":"x"`,
			want: `field "stop_band": want a number`},
		{name: "null for a bool", from: `"instant_moves":false`, to: `"instant_moves":null`,
			want: `field "instant_moves": want true or false`},
		{name: "fraction of an int", from: `"max_moves_per_node":5`, to: `"max_moves_per_node":5.5`,
			want: `field "max_moves_per_node": want an integer`},
		{name: "bad duration", from: `"move_timeout":"10m0s"`, to: `"move_timeout":"soonish-and-long"`,
			want: `field "move_timeout": want a duration such as "10m0s"`},
		{name: "number for a duration", from: `"down_timeout":"0s"`, to: `"down_timeout":5`,
			want: `field "down_timeout": want a duration such as "10m0s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(b), tc.from, tc.to, 1)
			require.NotEqual(t, string(b), bad)
			var got Policy
			err := json.Unmarshal([]byte(bad), &got)
			require.ErrorIs(t, err, ErrInvalidEncoding)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "Go ")
			require.NotContains(t, err.Error(), "soonish")
		})
	}
}
