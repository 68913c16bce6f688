package client_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
	"github.com/ukehi/placement/admin/client"
	"github.com/ukehi/placement/placementtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "s3cret-token-0123456789"

// waitLong bounds every wait of these tests: generous, for -race on two
// busy cores.
const waitLong = 20 * time.Second

// cluster is three hashicorp/raft servers (in-memory transport), each
// with its FSM, Scheduler (ticked by hand) and admin handler on an
// httptest server. The map is at the newest format version, with up nodes
// 1, 2 and 3 and shards 1 ["", "m") and 2 ["m", +inf) on node 1.
type cluster struct {
	*placementtest.Cluster
	mu   sync.Mutex
	srv  []*httptest.Server
	urls map[raft.ServerID]string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	pc, err := placementtest.NewCluster(placementtest.ClusterOptions{ManualTicks: true, RaftTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pc.Shutdown) // after the servers close (cleanups run last first)
	c := &cluster{Cluster: pc, urls: map[raft.ServerID]string{}}
	for _, s := range pc.Servers {
		h, err := admin.New(admin.Options{
			Scheduler: s.Scheduler, Registry: s.Registry, Node: s.Node, Raft: s.Raft, ID: s.ID, Token: token,
			AdminURL: c.adminURL, ApplyTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		c.mu.Lock()
		c.srv = append(c.srv, srv)
		c.urls[s.ID] = srv.URL
		c.mu.Unlock()
	}
	c.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion},
		placement.AddNode{Node: 1}, placement.AddNode{Node: 2}, placement.AddNode{Node: 3},
		placement.CreateShard{Range: placement.KeyRange{End: []byte("m")}, Node: 1},
		placement.CreateShard{Range: placement.KeyRange{Start: []byte("m")}, Node: 1})
	return c
}

func (c *cluster) adminURL(id raft.ServerID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[id]
}

// apply commits cmds through the leader, failing on any rejection.
func (c *cluster) apply(t *testing.T, cmds ...placement.Command) {
	t.Helper()
	results, err := c.Apply(waitLong, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range results {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// leaderFirst returns the admin URLs, the leader's first.
func (c *cluster) leaderFirst(t *testing.T) []string {
	t.Helper()
	leader, err := c.WaitLeader(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{c.srv[leader].URL}
	for i, s := range c.srv {
		if i != leader {
			urls = append(urls, s.URL)
		}
	}
	return urls
}

// kill stops server i: its admin endpoint first (which waits for the
// requests it is serving), then its raft.
func (c *cluster) kill(i int) {
	c.srv[i].Close()
	c.Kill(i)
}

// newClient returns a client of servers with retries enough to outlast an
// election on a loaded machine.
func newClient(t *testing.T, servers []string, hc *http.Client) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{
		Servers: servers, Token: token, HTTPClient: hc,
		Attempts: 60, Backoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.CloseIdleConnections)
	return cl
}

// moveOf returns the move of shard s in moves.
func moveOf(moves []placement.Move, s placement.ShardID) (placement.Move, bool) {
	for _, m := range moves {
		if m.Shard == s {
			return m, true
		}
	}
	return placement.Move{}, false
}

// beginMove moves shard s from node 1 to node to through the leader and
// returns the move in flight.
func (c *cluster) beginMove(t *testing.T, s placement.ShardID, to placement.NodeID) placement.Move {
	t.Helper()
	leader, err := c.WaitLeader(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := c.Servers[leader].Registry.View().Shard(s)
	c.apply(t, placement.PlaceTransfer{Shard: s, Epoch: sh.Epoch, From: sh.Node, To: to})
	leader, _ = c.WaitLeader(waitLong)
	m, ok := moveOf(collect(c.Servers[leader].Registry.View()), s)
	if !ok {
		t.Fatalf("shard %d is not moving", s)
	}
	return m
}

func collect(v placement.View) []placement.Move {
	var out []placement.Move
	for m := range v.Moves() {
		out = append(out, m)
	}
	return out
}
