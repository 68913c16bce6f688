package admin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
)

// stub stands in for the leader's admin endpoint: it records each request
// and answers with answer.
type stub struct {
	url  string
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, uri, body string
	header            http.Header
}

func newStub(t *testing.T, answer http.HandlerFunc) *stub {
	t.Helper()
	s := &stub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{method: r.Method, uri: r.URL.RequestURI(), body: string(body), header: r.Header.Clone()})
		s.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *stub) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// jsonAnswer answers status with a JSON body.
func jsonAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// newFollower returns a server that does not lead; raft names s2 as the
// leader, whose admin URL is leaderURL.
func newFollower(t *testing.T, leaderURL string, opts ...envOption) *env {
	t.Helper()
	withURL := func(o *admin.Options) {
		o.AdminURL = func(id raft.ServerID) string {
			if id == "s2" {
				return leaderURL
			}
			return ""
		}
	}
	e := newEnv(t, append([]envOption{withURL}, opts...)...)
	e.raft.setLeader("s2", "127.0.0.1:7002")
	e.node.SetLeader(false)
	return e
}

// serve runs e's handler on a test server and returns its URL.
func serve(t *testing.T, e *env) string {
	t.Helper()
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFollowerForwardsEveryReplicatedWrite(t *testing.T) {
	for _, w := range writes {
		if soft(w.path) {
			continue
		}
		t.Run(method(w.method)+" "+w.path, func(t *testing.T) {
			leader := newEnv(t)
			leader.raft.setLeader("s2", "127.0.0.1:7002")
			if w.path != "/shards" {
				leader.apply(t, placement.CreateShard{Range: placement.KeyRange{}, Node: 1})
			}
			if needsV3(w.path) {
				leader.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion})
			}
			follower := newFollower(t, serve(t, leader))
			before, entries := follower.snapshot(t), len(follower.node.Entries())
			leaderEntries := len(leader.node.Entries())

			body := strings.ReplaceAll(w.body, joinAddr, raftListener(t))
			rec := follower.do(method(w.method), w.path, body, "Bearer "+token)
			if rec.Code/100 != 2 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Header().Get(admin.ForwardedToHeader); got != "s2" {
				t.Errorf("%s %q, want s2", admin.ForwardedToHeader, got)
			}
			follower.unchanged(t, before, entries) // the follower proposed nothing itself
			switch {
			case strings.HasPrefix(w.path, "/raft/"):
				if len(leader.raft.added())+len(leader.raft.removedIDs()) != 1 {
					t.Error("the leader's raft configuration did not change")
				}
			case len(leader.node.Entries()) != leaderEntries+1:
				t.Errorf("the leader proposed %d entries, want 1", len(leader.node.Entries())-leaderEntries)
			}
		})
	}
}

func TestForwardSendsTheRequestAndRelaysTheAnswer(t *testing.T) {
	leader := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.Header().Set("X-Unrelated", "dropped")
		jsonAnswer(http.StatusConflict, `{"error": "node already exists"}`+"\n")(w, nil)
	})
	follower := newFollower(t, leader.url+"/") // a trailing slash is fine
	req := httptest.NewRequest(http.MethodPost, "/nodes?dry=1", strings.NewReader(`{"id": 7}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "not=forwarded")
	rec := httptest.NewRecorder()
	follower.h.ServeHTTP(rec, req)

	requireError(t, rec, http.StatusConflict, "node already exists")
	if rec.Body.String() != `{"error": "node already exists"}`+"\n" {
		t.Errorf("body %q, want the leader's bytes", rec.Body)
	}
	if rec.Header().Get("Retry-After") != "3" || rec.Header().Get("X-Unrelated") != "" {
		t.Errorf("headers %v", rec.Header())
	}
	got := leader.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests reached the leader", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.uri != "/nodes?dry=1" || r.body != `{"id": 7}` {
		t.Errorf("leader got %s %s %q", r.method, r.uri, r.body)
	}
	if r.header.Get("Authorization") != "Bearer "+token || r.header.Get("Content-Type") != "application/json" ||
		r.header.Get(admin.ForwardedHeader) != "s1" || r.header.Get("Cookie") != "" {
		t.Errorf("leader got headers %v", r.header)
	}
}

func TestForwardIsOneHop(t *testing.T) {
	leader := newStub(t, jsonAnswer(http.StatusCreated, `{}`))
	follower := newFollower(t, leader.url)
	req := httptest.NewRequest(http.MethodPost, "/nodes", strings.NewReader(`{"id": 7}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(admin.ForwardedHeader, "s3")
	rec := httptest.NewRecorder()
	follower.h.ServeHTTP(rec, req)
	requireError(t, rec, http.StatusMisdirectedRequest, "not the leader")
	if n := len(leader.requests()); n != 0 {
		t.Errorf("a forwarded write was forwarded again (%d requests)", n)
	}
}

func TestForwardNeedsAKnownLeader(t *testing.T) {
	leader := newStub(t, jsonAnswer(http.StatusCreated, `{}`))
	follower := newFollower(t, leader.url)
	follower.raft.setLeader("", "")
	rec := follower.post("/nodes", `{"id": 7}`)
	requireError(t, rec, http.StatusServiceUnavailable, "no leader")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// A leader whose admin URL is unknown is named, not asked.
	follower.raft.setLeader("s3", "127.0.0.1:7003")
	requireError(t, follower.post("/nodes", `{"id": 7}`), http.StatusMisdirectedRequest, "not the leader")
	if n := len(leader.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestForwardWithoutCredentialsIsRefusedLocally(t *testing.T) {
	leader := newStub(t, jsonAnswer(http.StatusCreated, `{}`))
	follower := newFollower(t, leader.url)
	requireError(t, follower.do(http.MethodPost, "/nodes", `{"id": 7}`, "Bearer wrong-token-0123456789"), http.StatusUnauthorized, "bearer token")
	requireError(t, follower.post("/nodes", `{"id": 7`+strings.Repeat(" ", 1<<20)+`}`), http.StatusRequestEntityTooLarge, "too large")
	if n := len(leader.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestSoftWritesStayLocal(t *testing.T) {
	leader := newStub(t, jsonAnswer(http.StatusOK, `{}`))
	follower := newFollower(t, leader.url)
	follower.node.SetLeader(true) // to seed its map
	follower.seedShards(t)
	follower.node.SetLeader(false)
	decode(t, follower.post("/stats", `{"stats": [{"shard": 1, "keys": 5}]}`), http.StatusOK, &struct{}{})
	decode(t, follower.post("/nodes/1/stats", `{"capacity": 9}`), http.StatusOK, &struct{}{})
	if st, ok := follower.reg.View().Stats(1); !ok || st.Keys != 5 {
		t.Errorf("stats %+v, %v", st, ok)
	}
	if n := len(leader.requests()); n != 0 {
		t.Errorf("%d soft writes forwarded", n)
	}
}

// TestLeaderChangesMidRequest covers a leader that changes while a write is
// on its way. The write is forwarded only when it is known not to have been
// proposed, and at most once.
func TestLeaderChangesMidRequest(t *testing.T) {
	t.Run("the leader asked no longer leads", func(t *testing.T) {
		// The old leader answers 421 naming the new one; the follower
		// relays that rather than forwarding a second time.
		old := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Placement-Leader-Id", "s3")
			jsonAnswer(http.StatusMisdirectedRequest, `{"error": "not the leader", "leader_id": "s3"}`)(w, nil)
		})
		follower := newFollower(t, old.url)
		var got struct {
			LeaderID string `json:"leader_id"`
		}
		rec := follower.post("/nodes", `{"id": 7}`)
		decode(t, rec, http.StatusMisdirectedRequest, &got)
		if got.LeaderID != "s3" || rec.Header().Get("X-Placement-Leader-Id") != "s3" {
			t.Errorf("answer %s, headers %v", rec.Body, rec.Header())
		}
		if n := len(old.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("the leader asked no longer leads, and raft names the new one", func(t *testing.T) {
		// The old leader did not propose the write (421), and raft on
		// the follower names s3 by now: the write goes to s3, once.
		next := newStub(t, jsonAnswer(http.StatusCreated, `{"id": 7}`))
		var follower *env
		old := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			follower.raft.setLeader("s3", "127.0.0.1:7003")
			jsonAnswer(http.StatusMisdirectedRequest, `{"error": "not the leader", "leader_id": "s3"}`)(w, nil)
		})
		urls := map[raft.ServerID]string{"s2": old.url, "s3": next.url}
		follower = newFollower(t, old.url, func(o *admin.Options) {
			o.AdminURL = func(id raft.ServerID) string { return urls[id] }
		})
		rec := follower.post("/nodes", `{"id": 7}`)
		decode(t, rec, http.StatusCreated, &struct{}{})
		if got := rec.Header().Get(admin.ForwardedToHeader); got != "s3" {
			t.Errorf("forwarded to %q, want s3", got)
		}
		if n, m := len(old.requests()), len(next.requests()); n != 1 || m != 1 {
			t.Errorf("%d and %d requests, want 1 and 1", n, m)
		}
	})
	t.Run("the leader lost leadership with the write in flight", func(t *testing.T) {
		old := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			jsonAnswer(http.StatusServiceUnavailable, `{"error": "outcome unknown, the write may still apply", "outcome": "unknown"}`)(w, nil)
		})
		follower := newFollower(t, old.url)
		requireOutcomeUnknown(t, follower.post("/nodes", `{"id": 7}`))
	})
	t.Run("leadership moved before this server proposed", func(t *testing.T) {
		// This server led when the write arrived; raft refused the
		// proposal (nothing reached the log) and names s2 now: the write
		// goes to s2, which applies it.
		leader := newEnv(t)
		leader.raft.setLeader("s2", "127.0.0.1:7002")
		e := newFollower(t, serve(t, leader))
		e.node.SetLeader(true)
		e.node.FailApply(1, raft.ErrNotLeader, false)
		before, entries := e.snapshot(t), len(e.node.Entries())
		decode(t, e.post("/nodes", `{"id": 7}`), http.StatusCreated, &struct{}{})
		if _, ok := leader.reg.View().Node(7); !ok {
			t.Error("the new leader did not add node 7")
		}
		e.unchanged(t, before, entries)
	})
	t.Run("leadership lost after this server proposed", func(t *testing.T) {
		// The entry may commit under the new leader: forwarding could
		// apply it twice, so the answer is 503, outcome unknown.
		leader := newStub(t, jsonAnswer(http.StatusCreated, `{}`))
		e := newFollower(t, leader.url)
		e.node.SetLeader(true)
		e.node.FailApply(1, raft.ErrLeadershipLost, true)
		requireOutcomeUnknown(t, e.post("/nodes", `{"id": 7}`))
		if n := len(leader.requests()); n != 0 {
			t.Errorf("a write in doubt was forwarded (%d requests)", n)
		}
	})
}

func TestForwardFailures(t *testing.T) {
	t.Run("leader unreachable", func(t *testing.T) {
		follower := newFollower(t, "http://"+deadAddress(t))
		rec := follower.post("/nodes", `{"id": 7}`)
		var body struct{ Error, Outcome string }
		decode(t, rec, http.StatusServiceUnavailable, &body)
		if !strings.Contains(body.Error, "cannot be reached; the write was not sent") || body.Outcome != "" {
			t.Errorf("answer %s", rec.Body)
		}
	})
	t.Run("no answer in time", func(t *testing.T) {
		leader := newStub(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		follower := newFollower(t, leader.url, func(o *admin.Options) { o.ApplyTimeout = 50 * time.Millisecond })
		requireOutcomeUnknown(t, follower.post("/nodes", `{"id": 7}`))
	})
	t.Run("answer not JSON", func(t *testing.T) {
		leader := newStub(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "404 page not found", http.StatusNotFound) })
		follower := newFollower(t, leader.url)
		requireError(t, follower.post("/nodes", `{"id": 7}`), http.StatusBadGateway, `server "s2", answered 404 without a JSON body`)
	})
	t.Run("redirects are not followed", func(t *testing.T) {
		elsewhere := newStub(t, jsonAnswer(http.StatusCreated, `{}`))
		leader := newStub(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.url+"/nodes", http.StatusTemporaryRedirect)
		})
		follower := newFollower(t, leader.url)
		requireError(t, follower.post("/nodes", `{"id": 7}`), http.StatusBadGateway, "answered 307")
		if n := len(elsewhere.requests()); n != 0 {
			t.Error("the token followed a redirect")
		}
	})
	t.Run("answer too large", func(t *testing.T) {
		leader := newStub(t, jsonAnswer(http.StatusOK, `"`+strings.Repeat("x", 2<<20)+`"`))
		follower := newFollower(t, leader.url)
		requireError(t, follower.post("/nodes", `{"id": 7}`), http.StatusBadGateway, "too large")
	})
}
