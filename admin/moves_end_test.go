package admin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
)

// requireEnded checks a 200 from a move's end.
func requireEnded(t *testing.T, rec *httptest.ResponseRecorder, m placement.Move, outcome string) {
	t.Helper()
	var got moveEnded
	decode(t, rec, http.StatusOK, &got)
	if !got.Move.Began.Equal(m.Began) || got.Move.Shard != m.Shard || got.Move.Epoch != m.Epoch ||
		got.Move.From != m.From || got.Move.To != m.To || got.Outcome != outcome {
		t.Errorf("answer %+v, want %v %s", got, m, outcome)
	}
}

// requireCode checks a rejection: its status and its code.
func requireCode(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var got codedError
	decode(t, rec, status, &got)
	if got.Code != code || got.Error == "" {
		t.Errorf("answer %s, want code %q", rec.Body, code)
	}
}

// requireOwner checks that shard s is on node n with no move in flight.
func (e *env) requireOwner(t *testing.T, s placement.ShardID, n placement.NodeID) {
	t.Helper()
	sh, ok := e.reg.View().Shard(s)
	if !ok || sh.Node != n || sh.MovingTo != 0 {
		t.Errorf("shard %d: %+v, want it on node %d, not moving", s, sh, n)
	}
}

// Both formats with two-phase moves: at 3 the command does not name its
// target, and the leader's map tells a retried completion from an abort.
var moveFormats = []uint64{3, placement.FormatVersion}

// Each end, retried after it applied, answers as it did; the other end
// after it is a definite no, and the map stays as the first end left it.
func TestMoveEndsAreIdempotent(t *testing.T) {
	for _, c := range []struct {
		path, outcome, other string
		owner                placement.NodeID
	}{
		{path: "/moves/complete", outcome: "completed", other: "/moves/abort", owner: 3},
		{path: "/moves/abort", outcome: "aborted", other: "/moves/complete", owner: 1},
	} {
		for _, version := range moveFormats {
			t.Run(c.path+" format "+formatName(version), func(t *testing.T) {
				e := newEnv(t)
				m := e.beginMove(t, version, 1, 1, 3)
				requireEnded(t, e.post(c.path, moveBody(t, m)), m, c.outcome)
				e.requireOwner(t, 1, c.owner)
				// Its answer lost, the host asks again: the same answer.
				requireEnded(t, e.post(c.path, moveBody(t, m)), m, c.outcome)
				requireCode(t, e.post(c.other, moveBody(t, m)), http.StatusConflict, "stale-epoch")
				e.requireOwner(t, 1, c.owner)
			})
		}
	}
}

func TestMoveEndRejections(t *testing.T) {
	e := newEnv(t)
	m := e.beginMove(t, placement.FormatVersion, 1, 1, 3)
	unknown := m
	unknown.Shard = 99
	requireCode(t, e.post("/moves/complete", moveBody(t, unknown)), http.StatusNotFound, "unknown-shard")
	requireCode(t, e.post("/moves/abort", moveBody(t, unknown)), http.StatusNotFound, "unknown-shard")
	still := placement.Move{Shard: 2, Epoch: 1, From: 1, To: 3} // shard 2 is not moving
	if sh, _ := e.reg.View().Shard(2); sh.Epoch != still.Epoch {
		still.Epoch = sh.Epoch
	}
	requireCode(t, e.post("/moves/complete", moveBody(t, still)), http.StatusConflict, "not-moving")
	// Abort of a move that is not in flight, the shard on its source: the
	// copy may be discarded, which is what an abort answers.
	requireEnded(t, e.post("/moves/abort", moveBody(t, still)), still, "aborted")
	if sh, _ := e.reg.View().Shard(1); sh.MovingTo != 3 {
		t.Errorf("shard 1: %+v, want it moving to 3", sh)
	}
	// Every rejection carries its code, on any route.
	requireCode(t, e.post("/nodes", `{"id": 1}`), http.StatusConflict, "node-exists")
}

func TestMoveEndRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	m := e.beginMove(t, placement.FormatVersion, 1, 1, 3)
	before, entries := e.snapshot(t), len(e.node.Entries())
	for _, c := range []struct{ name, body, want string }{
		{name: "empty", body: "", want: "empty body"},
		{name: "null", body: "null", want: "want an object"},
		{name: "missing epoch", body: `{"shard": 1, "from": 1, "to": 3}`, want: "epoch: missing"},
		{name: "unknown field", body: `{"shard": 1, "epoch": 2, "from": 1, "to": 3, "node": 1}`, want: "unknown field"},
		{name: "field case", body: `{"Shard": 1, "epoch": 2, "from": 1, "to": 3}`, want: "unknown field"},
		{name: "duplicate", body: `{"shard": 1, "shard": 1, "epoch": 2, "from": 1, "to": 3}`, want: "duplicate"},
		{name: "negative", body: `{"shard": -1, "epoch": 2, "from": 1, "to": 3}`, want: `field "shard"`},
		{name: "shard 0", body: `{"shard": 0, "epoch": 2, "from": 1, "to": 3}`, want: "IDs >= 1"},
		{name: "same node", body: `{"shard": 1, "epoch": 2, "from": 3, "to": 3}`, want: "different"},
		{name: "began", body: `{"shard": 1, "epoch": 2, "from": 1, "to": 3, "began": "today"}`, want: "began"},
		{name: "trailing", body: moveBody(t, m) + "{}", want: "trailing"},
	} {
		for _, path := range []string{"/moves/complete", "/moves/abort"} {
			t.Run(c.name+" "+path, func(t *testing.T) {
				requireError(t, e.post(path, c.body), http.StatusBadRequest, c.want)
			})
		}
	}
	for _, path := range []string{"/moves/complete", "/moves/abort"} {
		requireError(t, e.do(http.MethodPost, path, moveBody(t, m), ""), http.StatusUnauthorized, "bearer token")
	}
	e.unchanged(t, before, entries)
}

// A completion whose answer was lost with leadership (it applied) answers
// 503, outcome unknown; the retry, on the leader, answers 200.
func TestMoveEndInDoubtThenRetried(t *testing.T) {
	e := newEnv(t)
	m := e.beginMove(t, placement.FormatVersion, 1, 1, 3)
	e.node.FailApply(1, raft.ErrLeadershipLost, true)
	var got codedError
	decode(t, e.post("/moves/complete", moveBody(t, m)), http.StatusServiceUnavailable, &got)
	if got.Outcome != "unknown" {
		t.Errorf("answer %+v, want outcome unknown", got)
	}
	e.requireOwner(t, 1, 3)
	requireEnded(t, e.post("/moves/complete", moveBody(t, m)), m, "completed")
}

func TestFollowerForwardsMoveEnds(t *testing.T) {
	leader := newEnv(t)
	leader.raft.setLeader("s2", "127.0.0.1:7002")
	m := leader.beginMove(t, placement.FormatVersion, 1, 1, 3)
	follower := newFollower(t, serve(t, leader)) // its map has no move: it must not judge
	before, entries := follower.snapshot(t), len(follower.node.Entries())
	for _, c := range []struct{ path, outcome string }{{"/moves/complete", "completed"}, {"/moves/complete", "completed"}} {
		rec := follower.post(c.path, moveBody(t, m))
		requireEnded(t, rec, m, c.outcome)
		if got := rec.Header().Get(admin.ForwardedToHeader); got != "s2" {
			t.Errorf("%s %q, want s2", admin.ForwardedToHeader, got)
		}
	}
	leader.requireOwner(t, 1, 3)
	rec := follower.post("/moves/abort", moveBody(t, m))
	requireCode(t, rec, http.StatusConflict, "stale-epoch")
	follower.unchanged(t, before, entries)
}

func formatName(v uint64) string { return string(rune('0' + v)) }
