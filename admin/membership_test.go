package admin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

func TestRaftJoin(t *testing.T) {
	e := newEnv(t)
	addr := raftListener(t)
	var got struct{ ID, Addr string }
	decode(t, e.post("/raft/join", `{"id": "s4", "addr": "`+addr+`"}`), http.StatusOK, &got)
	if got.ID != "s4" || got.Addr != addr {
		t.Errorf("answer %+v", got)
	}
	if got := e.raft.added(); len(got) != 1 || got[0].ID != "s4" || string(got[0].Address) != addr {
		t.Errorf("AddVoter calls %v", got)
	}
	// Joining again at the same address is a no-op success: a joining
	// server may retry.
	decode(t, e.post("/raft/join", `{"id": "s4", "addr": "`+addr+`"}`), http.StatusOK, &got)
	if n := len(e.raft.configuration()); n != 4 {
		t.Errorf("%d servers, want 4", n)
	}
}

func TestRaftJoinBadInput(t *testing.T) {
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "malformed", path: "/raft/join", body: `{"id":`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "no id", path: "/raft/join", body: `{"addr": "127.0.0.1:7004"}`, status: http.StatusBadRequest, want: "id must be"},
		{name: "long id", path: "/raft/join", body: `{"id": "` + strings.Repeat("x", 200) + `", "addr": "127.0.0.1:7004"}`, status: http.StatusBadRequest, want: "id must be"},
		{name: "no port", path: "/raft/join", body: `{"id": "s4", "addr": "127.0.0.1"}`, status: http.StatusBadRequest, want: "addr"},
		{name: "no host", path: "/raft/join", body: `{"id": "s4", "addr": ":7004"}`, status: http.StatusBadRequest, want: "no host"},
		{name: "port zero", path: "/raft/join", body: `{"id": "s4", "addr": "127.0.0.1:0"}`, status: http.StatusBadRequest, want: "port"},
		{name: "port too big", path: "/raft/join", body: `{"id": "s4", "addr": "127.0.0.1:70000"}`, status: http.StatusBadRequest, want: "port"},
		{name: "nothing listens", path: "/raft/join", body: `{"id": "s4", "addr": "` + deadAddress(t) + `"}`, status: http.StatusBadRequest, want: "does not answer (connection refused)"},
		{name: "re-address without replace", path: "/raft/join", body: `{"id": "s2", "addr": "` + raftListener(t) + `"}`, status: http.StatusConflict, want: `send "replace": true`},
		{name: "another server's address", path: "/raft/join", body: `{"id": "s4", "addr": "127.0.0.1:7003"}`, status: http.StatusConflict, want: `belongs to server "s3"`},
	})
	if got := e.raft.added(); len(got) != 0 {
		t.Errorf("AddVoter called for bad input: %v", got)
	}
}

func TestRaftJoinReplace(t *testing.T) {
	e := newEnv(t)
	addr := raftListener(t)
	decode(t, e.post("/raft/join", `{"id": "s2", "addr": "`+addr+`", "replace": true}`), http.StatusOK, &struct{}{})
	for _, s := range e.raft.configuration() {
		if s.ID == "s2" && string(s.Address) != addr {
			t.Errorf("s2 is at %s, want %s", s.Address, addr)
		}
	}
}

func TestRaftJoinErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		bump    bool
		status  int
		outcome string
	}{
		{name: "refused: not the leader", err: raft.ErrNotLeader, status: http.StatusMisdirectedRequest},
		{name: "leadership lost", err: raft.ErrLeadershipLost, status: http.StatusServiceUnavailable, outcome: "unknown"},
		{name: "configuration changed meanwhile", bump: true, status: http.StatusConflict},
		{name: "other failure", err: raft.ErrUnsupportedProtocol, status: http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.raft.addVoterErr = tt.err
			if tt.err != nil {
				e.raft.setLeader("s2", "127.0.0.1:7002") // raft's refusal: another leads now
			}
			if tt.bump {
				e.raft.beforeEdit = e.raft.bump
			}
			rec := e.post("/raft/join", `{"id": "s4", "addr": "`+raftListener(t)+`"}`)
			var body struct{ Error, Outcome string }
			decode(t, rec, tt.status, &body)
			if body.Outcome != tt.outcome {
				t.Errorf("outcome %q, want %q: %s", body.Outcome, tt.outcome, rec.Body)
			}
			if len(e.raft.configuration()) != 3 {
				t.Error("the configuration changed")
			}
		})
	}
}

func TestDeleteRaftServer(t *testing.T) {
	e := newEnv(t)
	del := func(id string) *httptest.ResponseRecorder {
		return e.do(http.MethodDelete, "/raft/servers/"+id, "", "Bearer "+token)
	}
	var got struct {
		ID      string
		Removed bool
	}
	decode(t, del("s3"), http.StatusOK, &got)
	if got.ID != "s3" || !got.Removed || len(e.raft.configuration()) != 2 {
		t.Errorf("answer %+v, configuration %v", got, e.raft.configuration())
	}
	requireError(t, del("s3"), http.StatusNotFound, `no raft server "s3"`)
	requireError(t, del(strings.Repeat("x", 200)), http.StatusBadRequest, "1 to 128 bytes")
	decode(t, del("s2"), http.StatusOK, &got)
	requireError(t, del("s1"), http.StatusConflict, "last voter")
	if c := e.raft.configuration(); len(c) != 1 || c[0].ID != "s1" {
		t.Errorf("configuration %v", c)
	}
	if ids := e.raft.removedIDs(); len(ids) != 2 || ids[0] != "s3" || ids[1] != "s2" {
		t.Errorf("RemoveServer calls %v", ids)
	}
}

func TestDeleteRaftServerErrors(t *testing.T) {
	for _, tt := range []struct {
		err     error
		status  int
		outcome string
	}{
		{err: raft.ErrLeadershipLost, status: http.StatusServiceUnavailable, outcome: "unknown"},
		{err: raft.ErrNotLeader, status: http.StatusMisdirectedRequest},
		{err: errors.New("disk on fire"), status: http.StatusInternalServerError},
	} {
		t.Run(tt.err.Error(), func(t *testing.T) {
			e := newEnv(t)
			e.raft.removeErr = tt.err
			e.raft.setLeader("s2", "127.0.0.1:7002")
			var body struct{ Error, Outcome string }
			decode(t, e.do(http.MethodDelete, "/raft/servers/s3", "", "Bearer "+token), tt.status, &body)
			if body.Outcome != tt.outcome || strings.Contains(body.Error, "fire") {
				t.Errorf("answer %+v", body)
			}
		})
	}
}

// A server removed from the raft configuration knows no leader and never
// will: a write there is answered 410 with no Retry-After, since retrying
// cannot help, for replicated state (which it cannot propose nor forward)
// and membership alike. A member with no leader still answers 503, retry.
func TestWriteToARemovedServer(t *testing.T) {
	e := newEnv(t)
	e.node.SetLeader(false)
	e.raft.setLeader("", "")
	e.raft.mu.Lock()
	e.raft.servers = e.raft.servers[1:] // s1, this server, is gone
	e.raft.mu.Unlock()
	for _, w := range []struct{ method, path, body string }{
		{path: "/nodes", body: `{"id": 7}`},
		{path: "/nodes/1/drain"},
		{method: http.MethodDelete, path: "/raft/servers/s2"},
		{method: http.MethodPut, path: "/policy", body: policyJSON},
	} {
		method := w.method
		if method == "" {
			method = http.MethodPost
		}
		t.Run(method+" "+w.path, func(t *testing.T) {
			rec := e.do(method, w.path, w.body, "Bearer "+token)
			requireError(t, rec, http.StatusGone, `server "s1" is not a member of the raft configuration`)
			if ra := rec.Header().Get("Retry-After"); ra != "" {
				t.Errorf("Retry-After %q on an answer that retrying cannot change", ra)
			}
		})
	}

	t.Run("member without a leader", func(t *testing.T) {
		e := newEnv(t)
		e.node.SetLeader(false)
		e.raft.setLeader("", "")
		rec := e.post("/nodes", `{"id": 7}`)
		requireError(t, rec, http.StatusServiceUnavailable, "no leader known")
		if rec.Header().Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
	t.Run("configuration unreadable", func(t *testing.T) {
		e := newEnv(t)
		e.node.SetLeader(false)
		e.raft.setLeader("", "")
		e.raft.mu.Lock()
		e.raft.configErr = raft.ErrRaftShutdown
		e.raft.mu.Unlock()
		requireError(t, e.post("/nodes", `{"id": 7}`), http.StatusServiceUnavailable, "no leader known")
	})
}
