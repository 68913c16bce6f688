package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/ukehi/placement"
)

// POST /moves/progress records a copy's bytes on the server that gets it
// (soft, like /stats), which then keeps the move past its size's deadline
// only while the figure grows; it refuses a move not in flight here with
// 404 and a body that is not a move with "copied" with 400.
func TestPostProgress(t *testing.T) {
	e := newEnv(t)
	m := e.beginMove(t, placement.FormatVersion, 1, 1, 3)
	body := strings.TrimSuffix(moveBody(t, m), "}") + `,"copied":1048576}`
	rec := e.post("/moves/progress", body)
	var got struct {
		Move   placement.Move `json:"move"`
		Copied uint64         `json:"copied"`
	}
	decode(t, rec, http.StatusOK, &got)
	require.Equal(t, uint64(1<<20), got.Copied)
	require.Equal(t, m.Shard, got.Move.Shard)

	e.node.SetLeader(false)
	decode(t, e.post("/moves/progress", body), http.StatusOK, &got) // soft: a follower records it too

	stale := m
	stale.Epoch++
	for _, tc := range []struct {
		name, body, want string
		status           int
	}{
		{name: "not in flight", body: strings.TrimSuffix(moveBody(t, stale), "}") + `,"copied":1}`, status: http.StatusNotFound, want: "not in flight on this server"},
		{name: "copied missing", body: moveBody(t, m), status: http.StatusBadRequest, want: "copied: missing"},
		{name: "epoch missing", body: `{"shard":1,"from":1,"to":3,"copied":1}`, status: http.StatusBadRequest, want: "epoch: missing"},
		{name: "copied negative", body: strings.TrimSuffix(moveBody(t, m), "}") + `,"copied":-1}`, status: http.StatusBadRequest, want: "copied"},
		{name: "unknown field", body: strings.TrimSuffix(moveBody(t, m), "}") + `,"copied":1,"rate":2}`, status: http.StatusBadRequest, want: "rate"},
		{name: "same node twice", body: `{"shard":1,"epoch":1,"from":3,"to":3,"copied":1}`, status: http.StatusBadRequest, want: "from and to different"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, e.post("/moves/progress", tc.body), tc.status, tc.want)
		})
	}
}
