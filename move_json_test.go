package placement

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMoveJSONRoundTrip(t *testing.T) {
	m := Move{Shard: 7, Epoch: 3, From: 1, To: 2, Began: time.Date(2026, 12, 6, 1, 2, 3, 4, time.UTC)}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.JSONEq(t, `{"shard":7,"epoch":3,"from":1,"to":2,"began":"2026-12-06T01:02:03.000000004Z"}`, string(b))
	var back Move
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, m.Began.Equal(back.Began))
	back.Began = m.Began
	require.Equal(t, m, back)

	// Began is omitted when zero, and optional on input.
	m.Began = time.Time{}
	b, err = json.Marshal(m)
	require.NoError(t, err)
	require.JSONEq(t, `{"shard":7,"epoch":3,"from":1,"to":2}`, string(b))
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, m, back)
	require.Equal(t, "move shard 7@3 from node 1 to node 2", m.String())
}

func TestMoveJSONIsStrict(t *testing.T) {
	for _, in := range []string{
		`{"shard":7,"epoch":3,"from":1}`,                         // "to" missing
		`{"shard":7,"epoch":3,"from":1,"to":2,"To":2}`,           // unknown field
		`{"shard":7,"epoch":3,"from":1,"to":2,"to":3}`,           // twice
		`{"shard":7,"epoch":3,"from":1,"to":null}`,               // null
		`{"shard":-7,"epoch":3,"from":1,"to":2}`,                 // negative
		`{"shard":7,"epoch":3,"from":1,"to":2,"began":"monday"}`, // not RFC 3339
		`{"shard":7,"epoch":3,"from":1,"to":2} {}`,               // trailing data
		`[]`,
	} {
		var m Move
		err := m.UnmarshalJSON([]byte(in))
		require.ErrorIs(t, err, ErrInvalidEncoding, in)
	}
}
