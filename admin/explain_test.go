package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ukehi/placement"
)

// skewed seeds shards 1-3 (two on node 1, one on node 2) with stats, so
// that node 1 is over-full and node 3 empty.
func (e *env) skewed(t *testing.T) {
	t.Helper()
	e.seedShards(t)
	for id := placement.ShardID(1); id <= 3; id++ {
		if err := e.reg.ReportStats(id, placement.Stats{Keys: 1000, Bytes: 64 << 20}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExplainShard(t *testing.T) {
	e := newEnv(t)
	e.skewed(t)
	var got placement.ShardExplanation
	decode(t, e.do(http.MethodGet, "/explain/shards/1", "", ""), http.StatusOK, &got)
	want, err := e.sched.Explain(1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Shard.ID != 1 || len(got.Candidates) != len(want.Candidates) || len(got.Candidates) == 0 {
		t.Fatalf("answer %+v, want %+v", got, want)
	}
	if got.Candidates[0].Node != 3 {
		t.Errorf("best candidate node %d, want the empty node 3", got.Candidates[0].Node)
	}
}

func TestExplainNode(t *testing.T) {
	e := newEnv(t)
	e.skewed(t)
	e.apply(t, placement.SetNodeState{Node: 2, State: placement.NodeDraining})
	var got placement.NodeExplanation
	decode(t, e.do(http.MethodGet, "/explain/nodes/2", "", ""), http.StatusOK, &got)
	if got.Node.ID != 2 || got.Node.State != placement.NodeDraining {
		t.Errorf("answer %+v, want draining node 2", got)
	}
}

func TestForecast(t *testing.T) {
	e := newEnv(t)
	e.skewed(t)
	var got struct {
		Moves      int    `json:"moves"`
		BytesMoved uint64 `json:"bytes_moved"`
		Converged  bool   `json:"converged"`
		Summary    string `json:"summary"`
	}
	before, entries := e.snapshot(t), len(e.node.Entries())
	// Draining node 1 moves its two shards off it.
	decode(t, e.post("/forecast?copy_rate=1048576&tick=10s", `[{"type":"set-node-state","node":1,"state":"draining"}]`), http.StatusOK, &got)
	if got.Moves != 2 || got.BytesMoved != 128<<20 || !got.Converged || !strings.Contains(got.Summary, "moves 2") {
		t.Errorf("forecast %+v, want node 1's two shards moved", got)
	}
	e.unchanged(t, before, entries)
}

func TestExplainAndForecastRefuseBadInput(t *testing.T) {
	e := newEnv(t)
	e.skewed(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{http.MethodGet, "/explain/shards/9", "", http.StatusNotFound, "unknown shard"},
		{http.MethodGet, "/explain/shards/01", "", http.StatusBadRequest, "leading zeros"},
		{http.MethodGet, "/explain/nodes/9", "", http.StatusNotFound, "unknown node"},
		{http.MethodGet, "/explain/nodes/x", "", http.StatusBadRequest, "node ID"},
		{http.MethodPost, "/forecast", `{"type":"add-node","node":9}`, http.StatusBadRequest, "JSON array of commands"},
		{http.MethodPost, "/forecast", `[{"type":"add-node","node":1}]`, http.StatusConflict, "exists"},
		{http.MethodPost, "/forecast", `[{"type":"set-node-state","node":9,"state":"draining"}]`, http.StatusNotFound, "node"},
		{http.MethodPost, "/forecast?copy_rate=-1", `[]`, http.StatusBadRequest, "copy_rate"},
		{http.MethodPost, "/forecast?tick=soon", `[]`, http.StatusBadRequest, "tick"},
		{http.MethodPost, "/forecast?rate=1", `[]`, http.StatusBadRequest, "unknown query parameter"},
	} {
		rec := e.do(c.method, c.path, c.body, "Bearer "+token)
		var body struct {
			Error string `json:"error"`
		}
		decode(t, rec, c.status, &body)
		if !strings.Contains(body.Error, c.want) {
			t.Errorf("%s %s %s: error %q, want it to say %q", c.method, c.path, c.body, body.Error, c.want)
		}
	}
	if rec := e.do(http.MethodPost, "/forecast", `[]`, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST /forecast without the token: %d, want 401", rec.Code)
	}
}

func TestJournal(t *testing.T) {
	e := newEnv(t)
	e.skewed(t)
	var got struct {
		Entries []struct {
			Term   uint64 `json:"term"`
			Time   string `json:"time"`
			Reason struct {
				Phase string `json:"phase"`
				Text  string `json:"text"`
			} `json:"reason"`
		} `json:"entries"`
	}
	decode(t, e.do(http.MethodGet, "/journal", "", ""), http.StatusOK, &got)
	if len(got.Entries) != 0 {
		t.Fatalf("journal before any tick: %+v", got)
	}
	rep, err := e.sched.Tick(context.Background())
	if err != nil || len(rep.Commands) == 0 {
		t.Fatalf("tick: %+v, %v; want commands applied", rep, err)
	}
	decode(t, e.do(http.MethodGet, "/journal", "", ""), http.StatusOK, &got)
	journal := e.sched.Journal()
	if len(got.Entries) != len(journal) || len(journal) == 0 {
		t.Fatalf("GET /journal: %d entries, Scheduler.Journal %d", len(got.Entries), len(journal))
	}
	for i, je := range journal {
		if got.Entries[i].Reason.Text != je.Reason.String() || got.Entries[i].Time == "" {
			t.Errorf("entry %d: %+v, want %q", i, got.Entries[i], je.Reason.String())
		}
	}
	decode(t, e.do(http.MethodGet, "/journal?limit=1", "", ""), http.StatusOK, &got)
	if len(got.Entries) != 1 || got.Entries[0].Reason.Text != journal[len(journal)-1].Reason.String() {
		t.Errorf("?limit=1: %+v, want the newest entry", got.Entries)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?n=1"} {
		requireError(t, e.do(http.MethodGet, "/journal"+q, "", ""), http.StatusBadRequest, "")
	}
}
