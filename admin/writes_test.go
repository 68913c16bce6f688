package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
	"github.com/ukehi/placement/placementtest"
)

// badRequest is a request that must fail with status and change nothing.
type badRequest struct {
	name   string
	path   string
	body   string
	status int
	want   string // in the error message
}

// requireRejected sends each request and checks that it failed with a JSON
// error and left the map and the raft log alone.
func requireRejected(t *testing.T, e *env, tests []badRequest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, entries := e.snapshot(t), len(e.node.Entries())
			requireError(t, e.post(tt.path, tt.body), tt.status, tt.want)
			e.unchanged(t, before, entries)
		})
	}
}

func TestPostNode(t *testing.T) {
	e := newEnv(t)
	var got struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	}
	decode(t, e.post("/nodes", `{"id": 4}`), http.StatusCreated, &got)
	if got.ID != 4 || got.State != "up" {
		t.Errorf("response %+v", got)
	}
	if n, ok := e.reg.View().Node(4); !ok || n.State != placement.NodeUp {
		t.Errorf("node 4 = %+v, %v", n, ok)
	}
}

func TestPostNodeBadInput(t *testing.T) {
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "malformed", path: "/nodes", body: `{"id": `, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "empty body", path: "/nodes", body: ``, status: http.StatusBadRequest, want: "empty body"},
		{name: "not an object", path: "/nodes", body: `[4]`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "unknown field", path: "/nodes", body: `{"id": 4, "state": "up"}`, status: http.StatusBadRequest, want: "unknown field"},
		{name: "trailing data", path: "/nodes", body: `{"id": 4} {"id": 5}`, status: http.StatusBadRequest, want: "trailing data"},
		{name: "id zero", path: "/nodes", body: `{"id": 0}`, status: http.StatusBadRequest, want: "id must be"},
		{name: "id missing", path: "/nodes", body: `{}`, status: http.StatusBadRequest, want: "id must be"},
		{name: "id negative", path: "/nodes", body: `{"id": -1}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "id too big", path: "/nodes", body: `{"id": 18446744073709551616}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "id a string", path: "/nodes", body: `{"id": "4"}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "exists", path: "/nodes", body: `{"id": 2}`, status: http.StatusConflict, want: "already exists"},
		{name: "too large", path: "/nodes", body: `{"id": 4` + strings.Repeat(" ", 1<<20) + `}`, status: http.StatusRequestEntityTooLarge, want: "too large"},
	})
}

func TestSetNodeState(t *testing.T) {
	tests := []struct {
		path string
		want placement.NodeState
	}{
		{path: "/nodes/2/drain", want: placement.NodeDraining},
		{path: "/nodes/2/down", want: placement.NodeDown},
		{path: "/nodes/2/up", want: placement.NodeUp},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var got struct{ State string }
			decode(t, e.post(tt.path, ""), http.StatusOK, &got)
			if n, _ := e.reg.View().Node(2); n.State != tt.want || got.State != tt.want.String() {
				t.Errorf("node 2 is %v, response %q; want %v", n.State, got.State, tt.want)
			}
		})
	}
}

func TestSetNodeStateBadInput(t *testing.T) {
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "unknown node", path: "/nodes/9/drain", status: http.StatusNotFound, want: "unknown node"},
		{name: "node zero", path: "/nodes/0/down", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "not a number", path: "/nodes/abc/up", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "negative", path: "/nodes/-2/up", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "overflow", path: "/nodes/18446744073709551616/up", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "leading zero", path: "/nodes/01/drain", status: http.StatusBadRequest, want: `node ID "01": want a decimal integer`},
		{name: "plus sign", path: "/nodes/+1/drain", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "hex", path: "/nodes/0x1/drain", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "exponent", path: "/nodes/1e0/drain", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "space", path: "/nodes/%201/drain", status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "zeros", path: "/nodes/00/drain", status: http.StatusBadRequest, want: "want a decimal integer"},
	})
	if rec := e.post("/nodes/2/sideways", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown state: %d, want 404", rec.Code)
	}
}

func TestPostShards(t *testing.T) {
	e := newEnv(t)
	// "" to "m" on node 1, "m" to +inf on node 2 (end omitted), then an
	// explicit ID.
	body := `{"shards": [
		{"start": "", "end": "bQ==", "node": 1},
		{"start": "bQ==", "node": 2, "id": 10}
	]}`
	var got struct{ Created []uint64 }
	decode(t, e.post("/shards", body), http.StatusCreated, &got)
	if len(got.Created) != 2 || got.Created[0] != 1 || got.Created[1] != 10 {
		t.Errorf("created %v, want [1 10]", got.Created)
	}
	if len(e.node.Entries()) != 2 {
		t.Errorf("%d entries, want the node setup and one batch", len(e.node.Entries()))
	}
	s, ok := e.reg.View().Lookup([]byte("zzz"))
	if !ok || s.ID != 10 || s.Node != 2 || !s.Range.Unbounded() {
		t.Errorf("shard for zzz = %v, %v", s, ok)
	}
}

func TestPostShardsBadInputIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t) // covers the whole key space: ["", "b"), ["b", "d"), ["d", +inf)
	e.apply(t, placement.SetNodeState{Node: 3, State: placement.NodeDraining})
	fresh := newEnv(t) // an empty map, for shards that would otherwise fit
	requireRejected(t, e, []badRequest{
		{name: "malformed", path: "/shards", body: `{"shards": [`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "bad base64", path: "/shards", body: `{"shards": [{"start": "!!", "node": 1}]}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "empty list", path: "/shards", body: `{"shards": []}`, status: http.StatusBadRequest, want: "at least one"},
		{name: "node zero", path: "/shards", body: `{"shards": [{"start": "eA==", "node": 0}]}`, status: http.StatusBadRequest, want: "shards[0]: node"},
		{name: "start after end", path: "/shards", body: `{"shards": [{"start": "eg==", "end": "YQ==", "node": 1}]}`, status: http.StatusBadRequest, want: "shards[0]: range"},
		{name: "empty end", path: "/shards", body: `{"shards": [{"start": "", "end": "", "node": 1}]}`, status: http.StatusBadRequest, want: "shards[0]: range"},
		{name: "overlap", path: "/shards", body: `{"shards": [{"start": "eA==", "end": "eQ==", "node": 1}]}`, status: http.StatusConflict, want: "overlaps"},
	})
	requireRejected(t, fresh, []badRequest{
		{name: "overlap inside the batch", path: "/shards",
			body:   `{"shards": [{"start": "YQ==", "end": "Yw==", "node": 1}, {"start": "Yg==", "end": "ZA==", "node": 2}]}`,
			status: http.StatusConflict, want: "shards[1]"},
		{name: "unknown node", path: "/shards",
			body:   `{"shards": [{"start": "YQ==", "end": "Yw==", "node": 1}, {"start": "Yw==", "end": "ZA==", "node": 9}]}`,
			status: http.StatusNotFound, want: "shards[1]"},
		{name: "id reused", path: "/shards",
			body:   `{"shards": [{"id": 5, "start": "YQ==", "end": "Yw==", "node": 1}, {"id": 5, "start": "Yw==", "end": "ZA==", "node": 1}]}`,
			status: http.StatusConflict, want: "shard ID in use"},
	})
	fresh.apply(t, placement.SetNodeState{Node: 3, State: placement.NodeDraining})
	requireRejected(t, fresh, []badRequest{
		{name: "node not up", path: "/shards", body: `{"shards": [{"start": "YQ==", "node": 3}]}`, status: http.StatusConflict, want: "not up"},
	})
}

func TestPostStats(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	body := `{"stats": [{"shard": 1, "keys": 10, "bytes": 2048, "load": 2.5, "split_key": "YQ=="}, {"shard": 3, "keys": 5}]}`
	var got struct{ Reported int }
	decode(t, e.post("/stats", body), http.StatusOK, &got)
	if got.Reported != 2 {
		t.Errorf("reported %d", got.Reported)
	}
	st, ok := e.reg.View().Stats(1)
	if !ok || st.Keys != 10 || st.Bytes != 2048 || st.Load != 2.5 || string(st.SplitKey) != "a" {
		t.Errorf("shard 1 stats %+v, %v", st, ok)
	}
}

func TestPostStatsBadInputRecordsNothing(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	requireRejected(t, e, []badRequest{
		{name: "malformed", path: "/stats", body: `{"stats": [{"shard": 1,}]}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "empty list", path: "/stats", body: `{"stats": []}`, status: http.StatusBadRequest, want: "at least one"},
		{name: "negative keys", path: "/stats", body: `{"stats": [{"shard": 1, "keys": -1}]}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "unknown shard after a good one", path: "/stats", body: `{"stats": [{"shard": 1, "keys": 1}, {"shard": 99, "keys": 1}]}`, status: http.StatusNotFound, want: "stats[1]: unknown shard 99"},
		{name: "split key outside", path: "/stats", body: `{"stats": [{"shard": 1, "keys": 1, "split_key": "eg=="}]}`, status: http.StatusBadRequest, want: "not strictly inside"},
		{name: "split key at start", path: "/stats", body: `{"stats": [{"shard": 2, "keys": 1, "split_key": "Yg=="}]}`, status: http.StatusBadRequest, want: "not strictly inside"},
		{name: "negative load", path: "/stats", body: `{"stats": [{"shard": 1, "keys": 1}, {"shard": 2, "load": -1}]}`, status: http.StatusBadRequest, want: "stats[1]: load -1 must be finite"},
		{name: "bytes past any shard", path: "/stats", body: `{"stats": [{"shard": 1, "bytes": 18446744073709551615}]}`, status: http.StatusBadRequest, want: "stats[0]: bytes 18446744073709551615 over"},
	})
	for id := placement.ShardID(1); id <= 3; id++ {
		if st, ok := e.reg.View().Stats(id); ok {
			t.Errorf("shard %d has stats %+v after only bad requests", id, st)
		}
	}
}

func TestPostNodeStats(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	var got struct{ Capacity uint64 }
	decode(t, e.post("/nodes/1/stats", `{"capacity": 4096}`), http.StatusOK, &got)
	if ns, _ := e.reg.View().NodeStats(1); got.Capacity != 4096 || ns.Capacity != 4096 {
		t.Errorf("answered %+v, recorded %+v", got, ns)
	}
	requireRejected(t, e, []badRequest{
		{name: "unknown node", path: "/nodes/99/stats", body: `{"capacity": 1}`, status: http.StatusNotFound, want: "unknown node"},
		{name: "bad ID", path: "/nodes/x/stats", body: `{"capacity": 1}`, status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "leading zero", path: "/nodes/01/stats", body: `{"capacity": 1}`, status: http.StatusBadRequest, want: "want a decimal integer"},
		{name: "negative", path: "/nodes/1/stats", body: `{"capacity": -1}`, status: http.StatusBadRequest, want: "malformed JSON"},
	})
	if ns, _ := e.reg.View().NodeStats(1); ns.Capacity != 4096 {
		t.Errorf("bad requests changed the capacity to %d", ns.Capacity)
	}
}

func TestPostPressure(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	var got struct{ Pressure float64 }
	decode(t, e.post("/nodes/1/pressure", `{"pressure": 0.75}`), http.StatusOK, &got)
	if p, _ := e.reg.View().Pressure(1); got.Pressure != 0.75 || p != 0.75 {
		t.Errorf("answered %+v, recorded %v", got, p)
	}
	requireRejected(t, e, []badRequest{
		{name: "unknown node", path: "/nodes/99/pressure", body: `{"pressure": 0.5}`, status: http.StatusNotFound, want: "unknown node"},
		{name: "missing", path: "/nodes/1/pressure", body: `{}`, status: http.StatusBadRequest, want: "pressure is required"},
		{name: "null", path: "/nodes/1/pressure", body: `{"pressure": null}`, status: http.StatusBadRequest, want: "pressure is required"},
		{name: "above 1", path: "/nodes/1/pressure", body: `{"pressure": 1.5}`, status: http.StatusBadRequest, want: "not in [0, 1]"},
		{name: "negative", path: "/nodes/1/pressure", body: `{"pressure": -0.1}`, status: http.StatusBadRequest, want: "not in [0, 1]"},
		{name: "a string", path: "/nodes/1/pressure", body: `{"pressure": "high"}`, status: http.StatusBadRequest, want: "malformed JSON"},
	})
	if p, _ := e.reg.View().Pressure(1); p != 0.75 {
		t.Errorf("bad requests changed the pressure to %v", p)
	}
}

func TestPostClusterVersion(t *testing.T) {
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "beyond this build", path: "/cluster/version", body: `{"version": 9}`, status: http.StatusConflict, want: "format version not enabled"},
	})
	var got struct{ Version uint64 }
	decode(t, e.post("/cluster/version", `{"version": 2}`), http.StatusOK, &got)
	if got.Version != 2 || e.reg.View().FormatVersion() != 2 {
		t.Errorf("answered %d, registry at %d", got.Version, e.reg.View().FormatVersion())
	}
	requireRejected(t, e, []badRequest{
		{name: "lower", path: "/cluster/version", body: `{"version": 1}`, status: http.StatusConflict, want: "format version not enabled"},
	})
}

func TestPauseAndResume(t *testing.T) {
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "before format 3", path: "/pause", status: http.StatusConflict, want: "format version not enabled"},
	})
	e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion})
	var got struct {
		Paused bool
		Until  string
	}
	decode(t, e.post("/pause", ""), http.StatusOK, &got)
	if !got.Paused || got.Until != "" || !e.sched.Paused() || !e.reg.View().Pause().Paused {
		t.Errorf("pause did not pause: %+v", got)
	}
	decode(t, e.post("/resume", ""), http.StatusOK, &got)
	if got.Paused || e.sched.Paused() {
		t.Error("resume did not resume")
	}
	before := time.Now()
	decode(t, e.post("/pause", `{"ttl": "90s"}`), http.StatusOK, &got)
	until := e.reg.View().Pause().Until
	if !got.Paused || got.Until == "" || until.Before(before.Add(90*time.Second)) || until.After(time.Now().Add(90*time.Second)) {
		t.Errorf("pause with a TTL: %+v, until %v", got, until)
	}
	got.Paused, got.Until = false, ""
	decode(t, e.post("/pause", `{}`), http.StatusOK, &got)
	if !got.Paused || got.Until != "" || !e.reg.View().Pause().Until.IsZero() {
		t.Errorf("pause with {}: %+v, want no expiry", got)
	}
	requireRejected(t, e, []badRequest{
		{name: "ttl past the range", path: "/pause", body: `{"ttl": "2562047h"}`, status: http.StatusBadRequest, want: "at most"},
		{name: "bad ttl", path: "/pause", body: `{"ttl": "soon"}`, status: http.StatusBadRequest, want: "positive duration"},
		{name: "negative ttl", path: "/pause", body: `{"ttl": "-1m"}`, status: http.StatusBadRequest, want: "positive duration"},
		{name: "ttl of the wrong case", path: "/pause", body: `{"TTL": "1m"}`, status: http.StatusBadRequest, want: "TTL"},
	})
}

func TestPolicy(t *testing.T) {
	e := newEnv(t)
	var got struct {
		Policy            placement.Policy `json:"policy"`
		MaxActionsPerTick int              `json:"max_actions_per_tick"`
		Replicated        bool             `json:"replicated"`
	}
	decode(t, e.do(http.MethodGet, "/policy", "", ""), http.StatusOK, &got)
	if got.Replicated || got.MaxActionsPerTick != placement.DefaultConfig().MaxActionsPerTick || got.Policy != placement.DefaultPolicy() {
		t.Errorf("GET /policy before any PUT: %+v", got)
	}
	e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion})
	p := placement.DefaultPolicy()
	p.StopBand = 0.01
	body, _ := json.Marshal(map[string]any{"policy": p, "max_actions_per_tick": 2})
	decode(t, e.do(http.MethodPut, "/policy", string(body), "Bearer "+token), http.StatusOK, &got)
	if !got.Replicated || got.MaxActionsPerTick != 2 || got.Policy != p {
		t.Errorf("PUT /policy answered %+v", got)
	}
	if rp, ok := e.reg.View().Policy(); !ok || rp.Policy != p || rp.MaxActionsPerTick != 2 {
		t.Errorf("replicated policy %+v, %v", rp, ok)
	}
	for name, bad := range map[string]string{
		"missing field":  strings.Replace(string(body), `"stop_band":0.01,`, ``, 1),
		"invalid policy": strings.Replace(string(body), `"stop_band":0.01`, `"stop_band":0.9`, 1),
		"zero actions":   strings.Replace(string(body), `"max_actions_per_tick":2`, `"max_actions_per_tick":0`, 1),
		"wrong case":     strings.Replace(string(body), `"policy"`, `"Policy"`, 1),
		"extra key":      strings.Replace(string(body), `{"max`, `{"x":1,"max`, 1),
		"duplicate key":  strings.Replace(string(body), `{"max`, `{"policy":{},"max`, 1),
	} {
		rec := e.do(http.MethodPut, "/policy", bad, "Bearer "+token)
		msg := rec.Body.String()
		// No Go identifiers: the policy's fields by their JSON names.
		if rec.Code != http.StatusBadRequest || strings.Contains(msg, "StopBand") || strings.Contains(msg, "Policy.") ||
			strings.Contains(msg, "uint64") || len(msg) > 300 {
			t.Errorf("%s: %d %s", name, rec.Code, msg)
		}
		if name == "invalid policy" && !strings.Contains(msg, "stop_band") {
			t.Errorf("invalid policy: %s, want the field named stop_band", msg)
		}
	}

	// GET /policy's answer goes back as it is.
	rec := e.do(http.MethodGet, "/policy", "", "")
	decode(t, e.do(http.MethodPut, "/policy", rec.Body.String(), "Bearer "+token), http.StatusOK, &got)
}

func TestLocalPause(t *testing.T) {
	e := newEnv(t) // format version 1: the replicated pause is refused
	var got struct{ Paused bool }
	decode(t, e.post("/pause/local", ""), http.StatusOK, &got)
	if !got.Paused || !e.sched.Paused() || e.reg.View().Pause().Paused {
		t.Errorf("local pause: %+v", got)
	}
	decode(t, e.post("/resume/local", ""), http.StatusOK, &got)
	if got.Paused || e.sched.Paused() {
		t.Errorf("local resume: %+v", got)
	}
}

// writes lists one valid request per write endpoint. The join's address
// is joinAddr, to be replaced by a live one where the join must succeed.
var writes = []struct{ method, path, body string }{
	{path: "/nodes", body: `{"id": 7}`},
	{path: "/nodes/1/drain"},
	{path: "/nodes/1/down"},
	{path: "/nodes/1/up"},
	{path: "/cluster/version", body: `{"version": 2}`},
	{path: "/nodes/1/lost"},
	{method: http.MethodDelete, path: "/nodes/3"},
	{path: "/shards", body: `{"shards": [{"start": "", "node": 1}]}`},
	{path: "/stats", body: `{"stats": [{"shard": 1, "keys": 1}]}`},
	{path: "/nodes/1/stats", body: `{"capacity": 1}`},
	{path: "/nodes/1/pressure", body: `{"pressure": 0.5}`},
	{path: "/pause"},
	{path: "/pause", body: `{"ttl": "10m"}`},
	{path: "/resume"},
	{method: http.MethodPut, path: "/policy", body: policyJSON},
	{path: "/raft/join", body: `{"id": "s4", "addr": "` + joinAddr + `"}`},
	{method: http.MethodDelete, path: "/raft/servers/s3"},
}

const joinAddr = "127.0.0.1:7004"

// policyJSON is a valid PUT /policy body: the default policy, 3 actions.
var policyJSON = func() string {
	p, err := json.Marshal(placement.DefaultPolicy())
	if err != nil {
		panic(err)
	}
	return `{"policy": ` + string(p) + `, "max_actions_per_tick": 3}`
}()

// needsV3 reports whether a write proposes a command of format version 3.
func needsV3(path string) bool {
	return path == "/nodes/1/lost" || path == "/pause" || path == "/resume" || path == "/policy"
}

// soft reports whether a write is of soft, per-server state: applied where
// it is received, never forwarded.
func soft(path string) bool {
	return path == "/stats" || path == "/nodes/1/stats" || path == "/nodes/1/pressure"
}

func method(m string) string {
	if m == "" {
		return http.MethodPost
	}
	return m
}

func TestForwardedWriteAtAFollowerGets421(t *testing.T) {
	e := newEnv(t, func(o *admin.Options) {
		o.AdminURL = func(id raft.ServerID) string { return "http://admin-of-" + string(id) }
	})
	e.raft.setLeader("s2", "127.0.0.1:7002")
	e.node.SetLeader(false)
	for _, w := range writes {
		if soft(w.path) {
			continue
		}
		t.Run(w.path, func(t *testing.T) {
			before, entries := e.snapshot(t), len(e.node.Entries())
			req := httptest.NewRequest(method(w.method), w.path, strings.NewReader(w.body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set(admin.ForwardedHeader, "s3")
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			var got struct {
				LeaderID    string `json:"leader_id"`
				LeaderAddr  string `json:"leader_addr"`
				LeaderAdmin string `json:"leader_admin"`
			}
			decode(t, rec, http.StatusMisdirectedRequest, &got)
			if got.LeaderID != "s2" || got.LeaderAddr != "127.0.0.1:7002" || got.LeaderAdmin != "http://admin-of-s2" {
				t.Errorf("body %s", rec.Body)
			}
			if rec.Header().Get("X-Placement-Leader-Id") != "s2" || rec.Header().Get("X-Placement-Leader-Admin") != "http://admin-of-s2" {
				t.Errorf("headers %v", rec.Header())
			}
			e.unchanged(t, before, entries)
		})
	}
}

func TestFollowerWithoutAdminURLsGets421(t *testing.T) {
	e := newEnv(t)
	e.raft.setLeader("s2", "127.0.0.1:7002")
	e.node.SetLeader(false)
	var got struct {
		LeaderID    string `json:"leader_id"`
		LeaderAdmin string `json:"leader_admin"`
	}
	decode(t, e.post("/nodes", `{"id": 7}`), http.StatusMisdirectedRequest, &got)
	if got.LeaderID != "s2" || got.LeaderAdmin != "" {
		t.Errorf("answer %+v", got)
	}
}

func TestNoLeaderKnown(t *testing.T) {
	e := newEnv(t)
	e.raft.leaderID, e.raft.leaderAddr = "", ""
	e.node.SetLeader(false)
	rec := e.post("/nodes", `{"id": 7}`)
	requireError(t, rec, http.StatusServiceUnavailable, "no leader")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestStatsWorkOnAFollower(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	e.node.SetLeader(false)
	if rec := e.post("/stats", `{"stats": [{"shard": 1, "keys": 1}]}`); rec.Code != http.StatusOK {
		t.Errorf("stats on a follower: %d %s", rec.Code, rec.Body)
	}
}

func TestApplyFailures(t *testing.T) {
	// An outcome in doubt is 503 with "outcome": "unknown", never the 421
	// of the not-leader family that ErrLeadershipLost also belongs to: a
	// client that followed a 421 could apply the write twice.
	for _, cause := range []error{raft.ErrLeadershipLost, raft.ErrAbortedByRestore, raft.ErrRaftShutdown} {
		t.Run(cause.Error(), func(t *testing.T) {
			e := newEnv(t, func(o *admin.Options) {
				o.AdminURL = func(id raft.ServerID) string { return "http://admin-of-" + string(id) }
			})
			e.raft.setLeader("s2", "127.0.0.1:7002") // a new leader, which must not be asked
			e.node.FailApply(1, placement.WrapRaftError("apply", cause), false)
			before, entries := e.snapshot(t), len(e.node.Entries())
			requireOutcomeUnknown(t, e.post("/nodes", `{"id": 7}`))
			e.unchanged(t, before, entries)
		})
	}
	t.Run("timeout", func(t *testing.T) {
		e := newEnv(t, func(o *admin.Options) {
			o.Node = stuckNode{o.Node.(*placementtest.FakeRaft)}
			o.ApplyTimeout = 20 * time.Millisecond
		})
		requireOutcomeUnknown(t, e.post("/nodes", `{"id": 7}`))
	})
	t.Run("refused before the log, no admin URL", func(t *testing.T) {
		e := newEnv(t)
		e.raft.setLeader("s2", "127.0.0.1:7002")
		e.node.FailApply(1, placement.WrapRaftError("apply", raft.ErrNotLeader), false)
		requireError(t, e.post("/nodes", `{"id": 7}`), http.StatusMisdirectedRequest, "not the leader")
	})
}

// requireOutcomeUnknown checks a 503 for a write that may still apply.
func requireOutcomeUnknown(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body struct{ Error, Outcome string }
	decode(t, rec, http.StatusServiceUnavailable, &body)
	if body.Outcome != "unknown" || !strings.Contains(body.Error, "outcome unknown") {
		t.Errorf("body %s", rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestFSMRejectionAfterARace(t *testing.T) {
	tests := []struct {
		name   string
		first  placement.Command
		path   string
		body   string
		status int
		want   string
	}{
		{name: "node added meanwhile", first: placement.AddNode{Node: 7},
			path: "/nodes", body: `{"id": 7}`, status: http.StatusConflict, want: "already exists"},
		{name: "shard created meanwhile", first: placement.CreateShard{Range: placement.KeyRange{Start: []byte("m")}, Node: 1},
			path: "/shards", body: `{"shards": [{"start": "", "end": "bQ==", "node": 1}, {"start": "bQ==", "node": 2}]}`,
			status: http.StatusConflict, want: "1 of 2 shards created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fake *placementtest.FakeRaft
			e := newEnv(t, func(o *admin.Options) {
				fake = o.Node.(*placementtest.FakeRaft)
				o.Node = racingNode{FakeRaft: fake, first: tt.first}
			})
			requireError(t, e.post(tt.path, tt.body), tt.status, tt.want)
		})
	}
}

func TestDeleteNode(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t) // nodes 1 and 2 own shards; node 3 is empty
	del := func(path string) *httptest.ResponseRecorder {
		return e.do(http.MethodDelete, path, "", "Bearer "+token)
	}
	var got struct {
		ID      uint64
		Removed bool
	}
	decode(t, del("/nodes/3"), http.StatusOK, &got)
	if _, ok := e.reg.View().Node(3); ok || got.ID != 3 || !got.Removed {
		t.Errorf("answer %+v; node 3 still there: %v", got, ok)
	}
	before, entries := e.snapshot(t), len(e.node.Entries())
	requireError(t, del("/nodes/1"), http.StatusConflict, "node still owns shards")
	requireError(t, del("/nodes/3"), http.StatusNotFound, "unknown node")
	requireError(t, del("/nodes/03"), http.StatusBadRequest, "want a decimal integer")
	requireError(t, del("/nodes/0"), http.StatusBadRequest, "want a decimal integer")
	e.unchanged(t, before, entries)

	// An empty node that a shard is moving into is not empty either.
	e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion}, placement.AddNode{Node: 4})
	s, _ := e.reg.View().Shard(3)
	e.apply(t, placement.PlaceTransfer{Shard: 3, Epoch: s.Epoch, From: s.Node, To: 4})
	requireError(t, del("/nodes/4"), http.StatusConflict, "node still owns shards")
	if _, ok := e.reg.View().Node(4); !ok {
		t.Error("node 4 removed with a move into it")
	}
}
