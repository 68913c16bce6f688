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
