package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/go-metrics"
	metricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
	"github.com/ukehi/placement/admin/client"
)

type placementJSON struct {
	NextShardID uint64  `json:"next_shard_id"`
	Imbalance   float64 `json:"imbalance"`
	Nodes       []struct {
		ID     uint64 `json:"id"`
		State  string `json:"state"`
		Shards int    `json:"shards"`
	} `json:"nodes"`
	Shards []struct {
		ID    uint64  `json:"id"`
		Start []byte  `json:"start"`
		End   *[]byte `json:"end"`
		Range string  `json:"range"`
		Node  uint64  `json:"node"`
		Epoch uint64  `json:"epoch"`
	} `json:"shards"`
}

func TestGetPlacement(t *testing.T) {
	e := newEnv(t)
	e.apply(t,
		placement.CreateShard{Range: placement.KeyRange{End: []byte{0x00, 0xff}}, Node: 1},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte{0x00, 0xff}}, Node: 2},
		placement.SetNodeState{Node: 3, State: placement.NodeDraining},
	)
	var got placementJSON
	decode(t, e.do(http.MethodGet, "/placement", "", ""), http.StatusOK, &got)

	if got.NextShardID != 3 || len(got.Nodes) != 3 || len(got.Shards) != 2 {
		t.Fatalf("got %+v", got)
	}
	if n := got.Nodes[2]; n.ID != 3 || n.State != "draining" || n.Shards != 0 {
		t.Errorf("node 3 = %+v", n)
	}
	if got.Imbalance != 0 {
		t.Errorf("imbalance %v, want 0 (one shard on each up node)", got.Imbalance)
	}
	first, second := got.Shards[0], got.Shards[1]
	if first.Start == nil || len(first.Start) != 0 || first.End == nil || string(*first.End) != "\x00\xff" {
		t.Errorf("first shard keys: start %v end %v", first.Start, first.End)
	}
	if first.Range != `["", "\x00\xff")` {
		t.Errorf("first range %s", first.Range)
	}
	if second.End != nil || second.Range != `["\x00\xff", +inf)` || second.Node != 2 || second.Epoch != 1 {
		t.Errorf("second shard %+v: want unbounded end as null", second)
	}
	if !strings.Contains(e.do(http.MethodGet, "/placement", "", "").Body.String(), `"end":null`) {
		t.Error(`unbounded end not encoded as null`)
	}
}

func TestGetPlacementIsDeterministic(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	a.seedShards(t)
	b.seedShards(t)
	ra, rb := a.do(http.MethodGet, "/placement", "", ""), b.do(http.MethodGet, "/placement", "", "")
	if ra.Body.String() != rb.Body.String() {
		t.Errorf("same log, different bodies:\n%s\n%s", ra.Body, rb.Body)
	}
}

func TestGetPlan(t *testing.T) {
	e := newEnv(t)
	// Six shards on node 1, none on nodes 2 and 3: rebalancing moves four.
	var cmds []placement.Command
	for i := range 6 {
		rng := placement.KeyRange{Start: []byte{byte(i)}, End: []byte{byte(i + 1)}}
		cmds = append(cmds, placement.CreateShard{Range: rng, Node: 1})
	}
	e.apply(t, cmds...)
	e.sched.PauseLocal()

	var got struct {
		Leader, Paused, Rebalancing bool
		Imbalance                   float64
		Balance                     struct{ Count, Bytes, Load float64 }
		MinMoves                    int `json:"min_moves"`
		Commands                    []struct{ Op, Text string }
		Reasons                     []string
		Skipped                     []struct {
			Reason string
			Count  int
		}
	}
	decode(t, e.do(http.MethodGet, "/plan", "", ""), http.StatusOK, &got)
	// The dry run's four transfers reach the stop band, so the plan ends
	// rebalancing.
	if !got.Leader || !got.Paused || got.Rebalancing || got.MinMoves != 4 || got.Imbalance != 3 ||
		got.Balance.Count != 3 || got.Balance.Bytes != 0 || got.Balance.Load != 0 {
		t.Errorf("plan %+v", got)
	}
	if len(got.Commands) == 0 || got.Commands[0].Op != "transfer" || !strings.HasPrefix(got.Commands[0].Text, "transfer ") {
		t.Errorf("commands %+v", got.Commands)
	}
	// One reason a command, in words, naming the command's shard.
	if len(got.Reasons) != len(got.Commands) {
		t.Fatalf("%d reasons for %d commands: %q", len(got.Reasons), len(got.Commands), got.Reasons)
	}
	for i, r := range got.Reasons {
		shard, _, _ := strings.Cut(strings.TrimPrefix(got.Commands[i].Text, "transfer "), "@")
		if !strings.HasPrefix(r, "move shard "+shard+" (stats unknown) from node 1 to node ") || !strings.Contains(r, ": count gap between the nodes ") {
			t.Errorf("reason %d %q for %q", i, r, got.Commands[i].Text)
		}
	}
	var reasons []string
	for _, s := range got.Skipped {
		reasons = append(reasons, s.Reason)
	}
	if !strings.Contains(strings.Join(reasons, ","), "stats unknown") {
		t.Errorf("skip reasons %v, want 'stats unknown' in words", reasons)
	}
	if len(e.node.Entries()) != 2 { // the setup's nodes and shards
		t.Error("a dry run proposed something")
	}
}

func TestGetStatus(t *testing.T) {
	e := newEnv(t, func(o *admin.Options) {
		o.AdminURL = func(id raft.ServerID) string { return "http://admin-of-" + string(id) }
	})
	var got client.Status // the typed form the client decodes
	decode(t, e.do(http.MethodGet, "/status", "", ""), http.StatusOK, &got)
	if got.FormatVersion != e.reg.View().FormatVersion() || got.FormatVersionMax != placement.FormatVersion {
		t.Errorf("format versions %d, %d; want %d, %d", got.FormatVersion, got.FormatVersionMax, e.reg.View().FormatVersion(), placement.FormatVersion)
	}
	if got.ID != "s1" || !got.Leader || got.Term != 1 || got.Raft["applied_index"] != "7" {
		t.Errorf("status %+v", got)
	}
	if got.LeaderID != "s1" || got.LeaderAddr != "127.0.0.1:7001" || got.LeaderAdmin != "http://admin-of-s1" {
		t.Errorf("leader fields %+v", got)
	}
}

// /status shows the churn budget: what moved in the hour (a move in
// flight counts) against what the replicated policy allows.
func TestGetStatusChurn(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	p := placement.DefaultPolicy()
	p.ChurnShardsPerHour = 0.5
	e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion},
		placement.SetPolicy{Policy: p, MaxActionsPerTick: 5})
	var got client.Status
	decode(t, e.do(http.MethodGet, "/status", "", ""), http.StatusOK, &got)
	if c := got.Churn; c.Shards != 0 || !c.ShardsLimited || c.BytesLimited || c.AllowedShards != 1 || c.Spent || !c.Open {
		t.Errorf("churn before a move %+v", c)
	}
	s, _ := e.reg.View().Shard(1)
	e.apply(t, placement.PlaceTransfer{Shard: 1, Epoch: s.Epoch, From: 1, To: 3})
	decode(t, e.do(http.MethodGet, "/status", "", ""), http.StatusOK, &got)
	if c := got.Churn; c.Shards != 1 || !c.Spent {
		t.Errorf("churn with a move in flight %+v", c)
	}
}

func TestGetMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	sink, err := metricsprom.NewPrometheusSinkFrom(metricsprom.PrometheusOpts{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(&metrics.Config{FilterDefault: true, TimerGranularity: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	m.IncrCounter([]string{"placement", "ticks"}, 3)
	e := newEnv(t, func(o *admin.Options) { o.Gatherer = reg })

	rec := e.do(http.MethodGet, "/metrics", "", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "placement_ticks 3") {
		t.Errorf("status %d, body:\n%s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want Prometheus text", ct)
	}
}

func TestReadsNeedNoTokenAndWrongMethodsAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/placement", "/plan", "/status", "/metrics"} {
		if rec := e.do(http.MethodGet, path, "", ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d", path, rec.Code)
		}
		if rec := e.post(path, ""); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", path, rec.Code)
		}
	}
	if rec := e.do(http.MethodGet, "/nodes", "", ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /nodes: %d, want 405", rec.Code)
	}
}

func TestNewRequiresOptions(t *testing.T) {
	e := newEnv(t)
	full := admin.Options{Scheduler: e.sched, Registry: e.reg, Node: e.node, Raft: e.raft, Token: token}
	tests := []struct {
		name   string
		change func(*admin.Options)
	}{
		{name: "no token", change: func(o *admin.Options) { o.Token = "" }},
		{name: "no scheduler", change: func(o *admin.Options) { o.Scheduler = nil }},
		{name: "no registry", change: func(o *admin.Options) { o.Registry = nil }},
		{name: "no node", change: func(o *admin.Options) { o.Node = nil }},
		{name: "no raft", change: func(o *admin.Options) { o.Raft = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := full
			tt.change(&o)
			if _, err := admin.New(o); err == nil {
				t.Error("New accepted incomplete options")
			}
		})
	}
	if _, err := admin.New(full); err != nil {
		t.Errorf("New(full) = %v", err)
	}
}
