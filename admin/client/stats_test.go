package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/client"
)

// Stats go to every server, in batches, each once; one server's failure
// does not keep them from the others, and the error names it.
func TestReportStatsToEveryServer(t *testing.T) {
	ok1, ok2 := newStub(t, reply(http.StatusOK, `{"reported": 2}`)), newStub(t, reply(http.StatusOK, `{"reported": 2}`))
	behind := newStub(t, reply(http.StatusNotFound, `{"error": "stats[0]: unknown shard 3"}`))
	cl, err := client.New(client.Config{Servers: []string{ok1.URL, behind.URL, ok2.URL}, Token: token, StatsBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.CloseIdleConnections)
	stats := []client.ShardStats{
		{Shard: 1, Stats: placement.Stats{Keys: 1, Bytes: 10}},
		{Shard: 2, Stats: placement.Stats{Keys: 2, Bytes: 20, Load: 0.5}},
		{Shard: 3, Stats: placement.Stats{Keys: 3, Bytes: 30, SplitKey: []byte("k")}},
	}
	err = cl.ReportStats(context.Background(), stats)
	if err == nil || !strings.Contains(err.Error(), behind.URL) || strings.Contains(err.Error(), ok1.URL) {
		t.Errorf("error %v, want it to name %s only", err, behind.URL)
	}
	want := []string{
		`POST /stats {"stats":[{"shard":1,"keys":1,"bytes":10,"load":0,"split_key":null},{"shard":2,"keys":2,"bytes":20,"load":0.5,"split_key":null}]}`,
		`POST /stats {"stats":[{"shard":3,"keys":3,"bytes":30,"load":0,"split_key":"aw=="}]}`,
	}
	for _, s := range []*stub{ok1, behind, ok2} {
		if got := s.requests(); !slices.Equal(got, want) {
			t.Errorf("%s got %q, want %q", s.URL, got, want)
		}
	}
	if err := cl.ReportNodeStats(context.Background(), 4, 1<<40); err == nil {
		t.Error("ReportNodeStats: no error from the server that answered 404")
	}
	if got := ok2.requests(); got[len(got)-1] != `POST /nodes/4/stats {"capacity":1099511627776}` {
		t.Errorf("node stats: %q", got[len(got)-1])
	}
}

// Heartbeat sends a round at once and then every interval, reports a
// round's error, and returns when ctx ends.
func TestHeartbeatStopsWithItsContext(t *testing.T) {
	ok, failing := newStub(t, reply(http.StatusOK, `{}`)), newStub(t, reply(http.StatusNotFound, `{"error": "unknown node 4"}`))
	cl := quickClient(t, ok.URL, failing.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rounds, failures := 0, 0
	err := cl.Heartbeat(ctx, time.Millisecond, func() client.Report {
		rounds++
		if rounds == 3 {
			cancel()
		}
		return client.Report{Node: 4, Capacity: 1, Shards: []client.ShardStats{{Shard: 1}}}
	}, func(error) { failures++ })
	if !errors.Is(err, context.Canceled) || rounds != 3 {
		t.Errorf("Heartbeat: %v after %d rounds, want context.Canceled after 3", err, rounds)
	}
	if failures != 2 { // the third round's ctx ended: not reported
		t.Errorf("%d failures reported, want 2", failures)
	}
	if n := len(ok.requests()); n < 4 {
		t.Errorf("%d requests at the healthy server, want 2 a round", n)
	}
}

// Progress is soft state like the stats: it goes to every server once,
// and one server's failure is named without keeping it from the others.
func TestReportProgressToEveryServer(t *testing.T) {
	ok := newStub(t, reply(http.StatusOK, `{}`))
	behind := newStub(t, reply(http.StatusNotFound, `{"error": "shard 7 is not moving", "code": "not-moving"}`))
	cl, err := client.New(client.Config{Servers: []string{ok.URL, behind.URL}, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.CloseIdleConnections)
	m := placement.Move{Shard: 7, Epoch: 3, From: 1, To: 2}
	err = cl.ReportProgress(context.Background(), m, 1<<20)
	if err == nil || !strings.Contains(err.Error(), behind.URL) || strings.Contains(err.Error(), ok.URL) {
		t.Errorf("error %v, want it to name %s only", err, behind.URL)
	}
	want := []string{`POST /moves/progress {"shard":7,"epoch":3,"from":1,"to":2,"copied":1048576}`}
	for _, s := range []*stub{ok, behind} {
		if got := s.requests(); !slices.Equal(got, want) {
			t.Errorf("%s got %q, want %q", s.URL, got, want)
		}
	}
}

// Pressure goes to every server once, and a heartbeat sends it only when
// its Report has one.
func TestReportPressureToEveryServer(t *testing.T) {
	ok := newStub(t, reply(http.StatusOK, `{}`))
	behind := newStub(t, reply(http.StatusNotFound, `{"error": "report pressure for node 4: unknown node"}`))
	cl := quickClient(t, ok.URL, behind.URL)
	err := cl.ReportPressure(context.Background(), 4, 0.75)
	if err == nil || !strings.Contains(err.Error(), behind.URL) || strings.Contains(err.Error(), ok.URL) {
		t.Errorf("error %v, want it to name %s only", err, behind.URL)
	}
	want := []string{`POST /nodes/4/pressure {"pressure":0.75}`}
	for _, s := range []*stub{ok, behind} {
		if got := s.requests(); !slices.Equal(got, want) {
			t.Errorf("%s got %q, want %q", s.URL, got, want)
		}
	}

	hb := newStub(t, reply(http.StatusOK, `{}`))
	cl = quickClient(t, hb.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	half, rounds := 0.5, 0
	_ = cl.Heartbeat(ctx, time.Millisecond, func() client.Report {
		rounds++
		r := client.Report{Node: 4, Capacity: 1}
		switch rounds {
		case 2:
			r.Pressure = &half
		case 3:
			cancel() // this round sends nothing
		}
		return r
	}, func(error) {})
	got := slices.DeleteFunc(hb.requests(), func(s string) bool { return !strings.Contains(s, "/nodes/4/") })
	want = []string{`POST /nodes/4/stats {"capacity":1}`, `POST /nodes/4/stats {"capacity":1}`, `POST /nodes/4/pressure {"pressure":0.5}`}
	if !slices.Equal(got, want) {
		t.Errorf("heartbeat sent %q, want %q", got, want)
	}
}
