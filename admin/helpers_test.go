package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
	"github.com/ukehi/placement/placementtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "s3cret-token"

// env is one server's admin handler over a registry, with a fake raft that
// commits at once, and no scheduler loop running.
type env struct {
	reg   *placement.ShardRegistry
	node  *placementtest.FakeRaft
	raft  *fakeRaft
	sched *placement.Scheduler
	h     http.Handler
}

type envOption func(*admin.Options)

// newEnv returns a leader whose map holds up nodes 1, 2 and 3 and no shards.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	reg := placement.NewShardRegistry()
	node := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	node.SetLeader(true)
	sched, err := placement.New(node, reg, placement.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{reg: reg, node: node, sched: sched, raft: &fakeRaft{leaderID: "s1", leaderAddr: "127.0.0.1:7001"}}
	o := admin.Options{
		Scheduler: sched,
		Registry:  reg,
		Node:      node,
		Raft:      e.raft,
		ID:        "s1",
		Token:     token,
	}
	for _, f := range opts {
		f(&o)
	}
	if e.h, err = admin.New(o); err != nil {
		t.Fatal(err)
	}
	e.apply(t, placement.AddNode{Node: 1}, placement.AddNode{Node: 2}, placement.AddNode{Node: 3})
	return e
}

// apply commits cmds through the fake raft, failing on any rejection.
func (e *env) apply(t *testing.T, cmds ...placement.Command) {
	t.Helper()
	resp, err := e.node.Apply(context.Background(), placement.Encode(cmds...))
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(resp.([]error)...); err != nil {
		t.Fatal(err)
	}
}

// seedShards creates shards [“”, "b"), ["b", "d"), ["d", +inf) on nodes 1,
// 1 and 2, with IDs 1, 2, 3.
func (e *env) seedShards(t *testing.T) {
	t.Helper()
	e.apply(t,
		placement.CreateShard{Range: placement.KeyRange{End: []byte("b")}, Node: 1},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte("b"), End: []byte("d")}, Node: 1},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte("d")}, Node: 2},
	)
}

// snapshot returns the replicated map as bytes: equal bytes, equal maps.
func (e *env) snapshot(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.reg.View().WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unchanged fails the test if the map or the raft log moved since before.
func (e *env) unchanged(t *testing.T, before []byte, entries int) {
	t.Helper()
	if !bytes.Equal(e.snapshot(t), before) {
		t.Error("the map changed")
	}
	if got := len(e.node.Entries()); got != entries {
		t.Errorf("%d entries proposed, want none", got-entries)
	}
}

// do sends one request; auth is the Authorization header ("" for none).
func (e *env) do(method, path, body, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// post sends an authorized POST.
func (e *env) post(path, body string) *httptest.ResponseRecorder {
	return e.do(http.MethodPost, path, body, "Bearer "+token)
}

// decode decodes a JSON response body into v after checking the status.
func decode(t *testing.T, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
}

// requireError checks an error response: the status, a JSON body with a
// non-empty error that contains want.
func requireError(t *testing.T, rec *httptest.ResponseRecorder, status int, want string) {
	t.Helper()
	var body struct{ Error string }
	decode(t, rec, status, &body)
	if body.Error == "" || !strings.Contains(body.Error, want) {
		t.Errorf("error %q, want it to contain %q", body.Error, want)
	}
}

// fakeRaft is admin.Raft without raft: a fixed leader, recorded AddVoter
// calls whose futures resolve at once with addVoterErr.
type fakeRaft struct {
	mu          sync.Mutex
	leaderID    raft.ServerID
	leaderAddr  raft.ServerAddress
	addVoterErr error
	voters      []raft.Server
}

func (f *fakeRaft) LeaderWithID() (raft.ServerAddress, raft.ServerID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leaderAddr, f.leaderID
}

func (f *fakeRaft) AddVoter(id raft.ServerID, addr raft.ServerAddress, _ uint64, _ time.Duration) raft.IndexFuture {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addVoterErr == nil {
		f.voters = append(f.voters, raft.Server{ID: id, Address: addr})
	}
	return indexFuture{err: f.addVoterErr}
}

func (f *fakeRaft) Stats() map[string]string {
	return map[string]string{"state": "Leader", "applied_index": "7"}
}

func (f *fakeRaft) added() []raft.Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]raft.Server(nil), f.voters...)
}

type indexFuture struct{ err error }

func (f indexFuture) Error() error  { return f.err }
func (f indexFuture) Index() uint64 { return 0 }

// stuckNode is a RaftNode whose Apply never commits: it waits for its
// context, as raft does when it cannot reach a quorum.
type stuckNode struct{ *placementtest.FakeRaft }

func (stuckNode) Apply(ctx context.Context, _ []byte) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// racingNode is a leader on which another write commits just before each
// proposal: the proposal passes the handler's checks and is then rejected
// by the FSM.
type racingNode struct {
	*placementtest.FakeRaft
	first placement.Command
}

func (n racingNode) Apply(ctx context.Context, entry []byte) (any, error) {
	if _, err := n.FakeRaft.Apply(ctx, placement.Encode(n.first)); err != nil {
		return nil, err
	}
	return n.FakeRaft.Apply(ctx, entry)
}
