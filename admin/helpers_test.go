package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
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

const token = "s3cret-token-0123456789"

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
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	reg := placement.NewShardRegistry()
	node := placementtest.NewFakeRaft(placement.NewFSM(reg).ApplyEntry)
	node.SetLeader(true)
	sched, err := placement.New(node, reg, placement.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{reg: reg, node: node, sched: sched, raft: newFakeRaft()}
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
func (e *env) apply(t testing.TB, cmds ...placement.Command) {
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

// fakeRaft is admin.Raft without raft: a fixed leader, and a configuration
// of voters s1, s2 and s3 at 127.0.0.1:7001 to 7003 that AddVoter and RemoveServer change at
// once (their futures resolve with addVoterErr and removeErr; an error
// leaves the configuration alone). Each change raises the configuration's
// index, and a change with a stale prevIndex fails as raft's does.
type fakeRaft struct {
	mu          sync.Mutex
	leaderID    raft.ServerID
	leaderAddr  raft.ServerAddress
	addVoterErr error
	removeErr   error
	configErr   error
	beforeEdit  func() // called, unlocked, before each change: another change may come first
	servers     []raft.Server
	index       uint64
	voters      []raft.Server // every AddVoter that succeeded
	removed     []raft.ServerID
}

func newFakeRaft() *fakeRaft {
	return &fakeRaft{
		leaderID: "s1", leaderAddr: "127.0.0.1:7001", index: 1,
		servers: []raft.Server{
			{Suffrage: raft.Voter, ID: "s1", Address: "127.0.0.1:7001"},
			{Suffrage: raft.Voter, ID: "s2", Address: "127.0.0.1:7002"},
			{Suffrage: raft.Voter, ID: "s3", Address: "127.0.0.1:7003"},
		},
	}
}

func (f *fakeRaft) LeaderWithID() (raft.ServerAddress, raft.ServerID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leaderAddr, f.leaderID
}

func (f *fakeRaft) setLeader(id raft.ServerID, addr raft.ServerAddress) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leaderID, f.leaderAddr = id, addr
}

func (f *fakeRaft) GetConfiguration() raft.ConfigurationFuture {
	f.mu.Lock()
	defer f.mu.Unlock()
	return configFutureOf{servers: append([]raft.Server(nil), f.servers...), index: f.index, err: f.configErr}
}

// change applies edit to the configuration unless err or a stale
// prevIndex says otherwise.
func (f *fakeRaft) change(prevIndex uint64, err error, edit func()) raft.IndexFuture {
	if f.beforeEdit != nil {
		f.beforeEdit()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		return indexFuture{err: err}
	}
	if prevIndex > 0 && prevIndex != f.index {
		return indexFuture{err: fmt.Errorf("configuration changed since %d (latest is %d)", prevIndex, f.index)}
	}
	edit()
	f.index++
	return indexFuture{}
}

func (f *fakeRaft) AddVoter(id raft.ServerID, addr raft.ServerAddress, prevIndex uint64, _ time.Duration) raft.IndexFuture {
	return f.change(prevIndex, f.addVoterErr, func() {
		f.voters = append(f.voters, raft.Server{ID: id, Address: addr})
		for i, s := range f.servers {
			if s.ID == id {
				f.servers[i] = raft.Server{Suffrage: raft.Voter, ID: id, Address: addr}
				return
			}
		}
		f.servers = append(f.servers, raft.Server{Suffrage: raft.Voter, ID: id, Address: addr})
	})
}

func (f *fakeRaft) RemoveServer(id raft.ServerID, prevIndex uint64, _ time.Duration) raft.IndexFuture {
	return f.change(prevIndex, f.removeErr, func() {
		f.removed = append(f.removed, id)
		f.servers = slices.DeleteFunc(f.servers, func(s raft.Server) bool { return s.ID == id })
	})
}

// bump stands for another configuration change.
func (f *fakeRaft) bump() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
}

func (f *fakeRaft) Stats() map[string]string {
	return map[string]string{"state": "Leader", "applied_index": "7"}
}

func (f *fakeRaft) added() []raft.Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]raft.Server(nil), f.voters...)
}

func (f *fakeRaft) removedIDs() []raft.ServerID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]raft.ServerID(nil), f.removed...)
}

func (f *fakeRaft) configuration() []raft.Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]raft.Server(nil), f.servers...)
}

type indexFuture struct{ err error }

func (f indexFuture) Error() error  { return f.err }
func (f indexFuture) Index() uint64 { return 0 }

type configFutureOf struct {
	servers []raft.Server
	index   uint64
	err     error
}

func (f configFutureOf) Error() error  { return f.err }
func (f configFutureOf) Index() uint64 { return f.index }
func (f configFutureOf) Configuration() raft.Configuration {
	return raft.Configuration{Servers: f.servers}
}

// raftListener returns the address of a listener that accepts and drops
// connections, standing in for a joining server's raft transport, and
// closes it when the test ends.
func raftListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// deadAddress returns a loopback address where nothing listens: a port
// that was free a moment ago.
func deadAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

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
