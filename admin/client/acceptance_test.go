package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/client"
)

// The leader goes away while a client writes: its writes go on, on the
// new leader, found through the other servers.
func TestWritesSurviveLeaderFailover(t *testing.T) {
	c := newCluster(t)
	cl := newClient(t, c.leaderFirst(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLong)
	defer cancel()
	old, err := c.WaitLeader(waitLong)
	if err != nil {
		t.Fatal(err)
	}

	// The writer adds nodes one after another; after its third success
	// the leader is killed, and it stops after five more.
	killed := make(chan struct{})
	third := make(chan struct{})
	type result struct {
		added   []placement.NodeID
		inDoubt int
		err     error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		killedAt := -1 // successes before the writer saw the kill
		for id := placement.NodeID(10); killedAt < 0 || len(r.added)-killedAt < 5; id++ {
			err := cl.AddNode(ctx, id)
			switch {
			case err == nil:
				r.added = append(r.added, id)
				if len(r.added) == 3 {
					close(third)
				}
			case errors.Is(err, client.ErrOutcomeUnknown):
				r.inDoubt++ // it may have applied: counted neither way
			default:
				r.err = fmt.Errorf("node %d: %w", id, err)
				return
			}
			select {
			case <-killed:
				if killedAt < 0 {
					killedAt = len(r.added)
				}
			default:
			}
		}
	}()
	<-third
	c.kill(old)
	close(killed)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("%d writes succeeded, %d in doubt", len(r.added), r.inDoubt)
	// Each write has a connection of its own, so a write is in doubt only
	// if the server took it; at most the one in flight when the kill came.
	if r.inDoubt > 1 {
		t.Errorf("%d writes in doubt, want at most the one the kill met", r.inDoubt)
	}
	now, err := c.WaitLeader(waitLong)
	if err != nil || now == old {
		t.Fatalf("leader %d (was %d): %v", now, old, err)
	}
	if err := c.WaitIdentical(waitLong); err != nil {
		t.Fatal(err)
	}
	v := c.Servers[now].Registry.View()
	for _, id := range r.added {
		if _, ok := v.Node(id); !ok {
			t.Errorf("node %d, added, is not in the new leader's map", id)
		}
	}
}

// A long poll started before a move begins answers with the move.
func TestWatchMovesWakesOnANewMove(t *testing.T) {
	c := newCluster(t)
	cl := newClient(t, c.leaderFirst(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLong)
	defer cancel()
	moves, token, err := cl.WatchMoves(ctx, 0)
	if err != nil || len(moves) != 0 || token == 0 {
		t.Fatalf("first answer: %v, token %d, %v", moves, token, err)
	}
	var got []placement.Move
	var next uint64
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		got, next, err = cl.WatchMoves(ctx, token)
	}()
	want := c.beginMove(t, 1, 2)
	<-polled // bounded by ctx
	if err != nil || next <= token {
		t.Fatalf("long poll: token %d (was %d), %v", next, token, err)
	}
	if m, ok := moveOf(got, 1); !ok || m.To != 2 || m.Epoch != want.Epoch {
		t.Errorf("long poll answered %v, want %v", got, want)
	}
}

// inDoubt lets the first POST /moves/complete reach the server, and then
// replaces its answer with a 503 "outcome": "unknown", as a leader that
// lost leadership with the entry in flight answers.
type inDoubt struct {
	base      http.RoundTripper
	completes atomic.Int32
}

func (d *inDoubt) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.base.RoundTrip(req)
	if err != nil || req.URL.Path != "/moves/complete" || d.completes.Add(1) > 1 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusServiceUnavailable, Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"error": "outcome unknown", "outcome": "unknown"}`)),
	}, nil
}

// A completion whose answer is lost is retried, and the retry, after the
// completion applied, answers success.
func TestCompleteTransferRetriedAfterAnAnswerInDoubt(t *testing.T) {
	c := newCluster(t)
	d := &inDoubt{base: http.DefaultTransport.(*http.Transport).Clone()}
	hc := &http.Client{Transport: d}
	t.Cleanup(hc.CloseIdleConnections)
	cl := newClient(t, c.leaderFirst(t), hc)
	m := c.beginMove(t, 2, 3)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := cl.CompleteTransfer(ctx, m); err != nil {
		t.Fatalf("CompleteTransfer: %v", err)
	}
	if n := d.completes.Load(); n != 2 {
		t.Errorf("%d completions sent, want 2 (the first's answer lost)", n)
	}
	if err := c.WaitIdentical(waitLong); err != nil {
		t.Fatal(err)
	}
	leader, _ := c.WaitLeader(waitLong)
	if sh, _ := c.Servers[leader].Registry.View().Shard(2); sh.Node != 3 || sh.MovingTo != 0 {
		t.Errorf("shard 2: %v, want it on node 3", sh)
	}
	// The abort that follows is a definite no, mapped to the sentinels.
	err := cl.AbortTransfer(ctx, m)
	if !errors.Is(err, placement.ErrStaleEpoch) || !errors.Is(err, placement.ErrRejected) {
		t.Errorf("AbortTransfer after the completion: %v, want ErrStaleEpoch", err)
	}
}
