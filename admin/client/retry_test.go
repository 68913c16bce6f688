package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/client"
)

// stub is an admin server that answers each request with answer and
// records what it got.
type stub struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD /path?query body"
}

func newStub(t *testing.T, answer http.HandlerFunc) *stub {
	t.Helper()
	s := &stub{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		s.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// reply answers status with a JSON body and headers given as pairs.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp reads the request and drops the connection without an answer.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// deadURL is an admin URL where nothing listens: a server's, closed.
func deadURL() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

func quickClient(t *testing.T, servers ...string) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{Servers: servers, Token: token, Attempts: 4, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.CloseIdleConnections)
	return cl
}

const unknownOutcome = `{"error": "outcome unknown", "outcome": "unknown"}`

func TestWriteInDoubtIsNotRetried(t *testing.T) {
	for name, answer := range map[string]http.HandlerFunc{
		"503 outcome unknown":           reply(http.StatusServiceUnavailable, unknownOutcome),
		"connection lost after sending": hangUp,
	} {
		t.Run(name, func(t *testing.T) {
			s, other := newStub(t, answer), newStub(t, reply(http.StatusCreated, `{}`))
			err := quickClient(t, s.URL, other.URL).AddNode(context.Background(), 7)
			if !errors.Is(err, client.ErrOutcomeUnknown) {
				t.Errorf("AddNode: %v, want ErrOutcomeUnknown", err)
			}
			if n, m := len(s.requests()), len(other.requests()); n != 1 || m != 0 {
				t.Errorf("%d and %d requests, want 1 and 0", n, m)
			}
		})
	}
}

// Failures that prove the write was not proposed move it to the next
// server; a 421 that names the leader sends it there.
func TestWriteMovesOnWhenNotProposed(t *testing.T) {
	leader := newStub(t, reply(http.StatusCreated, `{}`))
	for name, answer := range map[string]http.HandlerFunc{
		"503 no leader": reply(http.StatusServiceUnavailable, `{"error": "no leader known"}`),
		"410 removed":   reply(http.StatusGone, `{"error": "not a member"}`),
		"421 naming the leader": reply(http.StatusMisdirectedRequest, `{"error": "not the leader"}`,
			"X-Placement-Leader-Admin", leader.URL+"/"),
	} {
		t.Run(name, func(t *testing.T) {
			s, unused := newStub(t, answer), newStub(t, reply(http.StatusInternalServerError, `{"error": "asked"}`))
			servers := []string{s.URL, leader.URL}
			if strings.HasPrefix(name, "421") {
				servers = []string{s.URL, unused.URL, leader.URL} // the 421 skips the one between
			}
			cl := quickClient(t, servers...)
			before := len(leader.requests())
			if err := cl.AddNode(context.Background(), 7); err != nil {
				t.Fatal(err)
			}
			// The next call starts at the server that answered.
			if err := cl.Resume(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n, m := len(s.requests()), len(leader.requests())-before; n != 1 || m != 2 || len(unused.requests()) != 0 {
				t.Errorf("%d, %d and %d requests, want 1, 2 and 0", n, m, len(unused.requests()))
			}
		})
	}
	t.Run("no connection", func(t *testing.T) {
		cl := quickClient(t, deadURL(), leader.URL)
		if err := cl.AddNode(context.Background(), 7); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReadsAndMoveEndsRetryInDoubt(t *testing.T) {
	var calls sync.Mutex
	first := true
	flaky := func(w http.ResponseWriter, r *http.Request) {
		calls.Lock()
		drop := first
		first = false
		calls.Unlock()
		if drop {
			hangUp(w, r)
			return
		}
		reply(http.StatusOK, `{"index": 5, "moves": [], "leader": true, "move": {"shard": 1, "epoch": 2, "from": 1, "to": 2}, "outcome": "completed"}`)(w, r)
	}
	for name, f := range map[string]func(*client.Client) error{
		"moves": func(cl *client.Client) error { _, err := cl.Moves(context.Background(), 0); return err },
		"complete": func(cl *client.Client) error {
			return cl.CompleteTransfer(context.Background(), placement.Move{Shard: 1, Epoch: 2, From: 1, To: 2})
		},
		"abort": func(cl *client.Client) error {
			return cl.AbortTransfer(context.Background(), placement.Move{Shard: 1, Epoch: 2, From: 1, To: 2})
		},
	} {
		t.Run(name, func(t *testing.T) {
			calls.Lock()
			first = true
			calls.Unlock()
			s := newStub(t, flaky)
			if err := f(quickClient(t, s.URL)); err != nil {
				t.Fatal(err)
			}
			if n := len(s.requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

// Rejections map back to the placement sentinels, each wrapping
// ErrRejected; a code newer than the client still reads as a rejection.
func TestRejectionsMapToSentinels(t *testing.T) {
	for code, want := range map[string]error{
		"stale-epoch":     placement.ErrStaleEpoch,
		"not-moving":      placement.ErrNotMoving,
		"unknown-shard":   placement.ErrUnknownShard,
		"node-exists":     placement.ErrNodeExists,
		"from-the-future": placement.ErrRejected,
	} {
		t.Run(code, func(t *testing.T) {
			s := newStub(t, reply(http.StatusConflict, fmt.Sprintf(`{"error": "placement: command rejected: x", "code": %q}`, code)))
			err := quickClient(t, s.URL).CompleteTransfer(context.Background(), placement.Move{Shard: 1, Epoch: 2, From: 1, To: 2})
			var e *client.Error
			if !errors.Is(err, want) || !errors.Is(err, placement.ErrRejected) || !errors.As(err, &e) || e.Status != http.StatusConflict {
				t.Errorf("error %v, want %v", err, want)
			}
			if n := len(s.requests()); n != 1 {
				t.Errorf("%d requests, want 1: a rejection is final", n)
			}
		})
	}
	s := newStub(t, reply(http.StatusBadRequest, `{"error": "malformed"}`))
	err := quickClient(t, s.URL).AddNode(context.Background(), 7)
	if err == nil || errors.Is(err, placement.ErrRejected) || errors.Is(err, client.ErrOutcomeUnknown) {
		t.Errorf("400: %v", err)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	s := newStub(t, reply(http.StatusServiceUnavailable, `{"error": "no leader known"}`))
	err := quickClient(t, s.URL).AddNode(context.Background(), 7)
	if !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("error %v, want ErrUnavailable", err)
	}
	if n := len(s.requests()); n != 4 {
		t.Errorf("%d tries, want Attempts, 4", n)
	}
}

func TestContextEndsTheCall(t *testing.T) {
	arrived := make(chan struct{}, 1)
	s := newStub(t, func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := quickClient(t, s.URL).Moves(ctx, 0)
		done <- err
	}()
	<-arrived // the request is at the server
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestWatchMovesTokens(t *testing.T) {
	leader := newStub(t, reply(http.StatusOK, `{"index": 9, "moves": [{"shard": 4, "epoch": 2, "from": 1, "to": 3}], "leader": true}`))
	follower := newStub(t, reply(http.StatusOK, `{"index": 7, "moves": [], "leader": false, "leader_admin": "`+leader.URL+`"}`))
	cl := quickClient(t, follower.URL, leader.URL)
	moves, token, err := cl.WatchMoves(context.Background(), 0)
	if err != nil || len(moves) != 0 || token != 8 {
		t.Fatalf("first: %v, %d, %v", moves, token, err)
	}
	moves, token, err = cl.WatchMoves(context.Background(), token)
	if err != nil || len(moves) != 1 || moves[0].Shard != 4 || token != 10 {
		t.Fatalf("second: %v, %d, %v", moves, token, err)
	}
	if got := follower.requests(); len(got) != 1 || got[0] != "GET /moves" {
		t.Errorf("follower got %v", got)
	}
	if got := leader.requests(); len(got) != 1 || got[0] != "GET /moves?index=7&wait=20s" {
		t.Errorf("leader got %v, want the poll (the follower named it)", got)
	}
}
