//go:build e2e

// End-to-end tests: real node processes, raft over TCP on loopback, logs on
// disk, a leader killed with SIGKILL. Run with
//
//	go test -tags e2e -count=1 ./examples/node/
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ukehi/placement"
)

// skewedShards is a POST /shards body: 40 shards covering the key space,
// 20 on data node 1, 12 on node 2, 8 on node 3 and none on node 4.
func skewedShards() string {
	owners := slices.Repeat([]int{1}, 20)
	owners = append(owners, slices.Repeat([]int{2}, 12)...)
	return shardsBody(append(owners, slices.Repeat([]int{3}, 8)...))
}

// shardsBody is a POST /shards body: len(owners) shards covering the key
// space in order, shard i on data node owners[i].
func shardsBody(owners []int) string {
	type shard struct {
		Start []byte  `json:"start"`
		End   *[]byte `json:"end"`
		Node  int     `json:"node"`
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "k%02d", i) }
	var shards []shard
	for i, node := range owners {
		s := shard{Start: []byte{}, Node: node}
		if i > 0 {
			s.Start = key(i)
		}
		if i < len(owners)-1 {
			end := key(i + 1)
			s.End = &end
		}
		shards = append(shards, s)
	}
	b, _ := json.Marshal(map[string]any{"shards": shards})
	return string(b)
}

// statsFor is a POST /stats body giving every shard a middling size: under
// the split thresholds and over the merge ones, so only transfers happen.
func statsFor(ids []uint64) string {
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf(`{"shard": %d, "keys": 20000, "bytes": 67108864}`, id))
	}
	return `{"stats": [` + strings.Join(parts, ",") + `]}`
}

func TestThreeNodesBalanceSurviveLeaderKillAndAgree(t *testing.T) {
	began := time.Now()
	bin := buildNode(t)
	t.Logf("built the node binary in %v", time.Since(began).Round(time.Millisecond))
	c := startBootstrapped(t, bin, 3)
	leader := c.waitLeader()
	t.Logf("%v: %s leads", time.Since(began).Round(time.Millisecond), c.procs[leader].id)

	for id := 1; id <= 4; id++ {
		c.write(-1, "/nodes", fmt.Sprintf(`{"id": %d}`, id), http.StatusCreated)
	}
	var created struct{ Created []uint64 }
	if err := json.Unmarshal(c.write(-1, "/shards", skewedShards(), http.StatusCreated), &created); err != nil || len(created.Created) != 40 {
		t.Fatalf("created %v, %v", created.Created, err)
	}
	c.waitIdentical(40)
	// Every voter's build reads the newest format, so the leader raises the
	// cluster's version by itself (Config.ClusterFormat over /status).
	c.waitFormat(placement.FormatVersion)
	// Stats are soft state: every server needs them, since any may lead.
	for _, p := range c.procs {
		if code, body, err := call(http.MethodPost, p.url+"/stats", testToken, statsFor(created.Created)); err != nil || code != http.StatusOK {
			t.Fatalf("stats to %s: %d %s %v", p.id, code, body, err)
		}
	}
	c.waitBalanced(leader, 4, 40)
	t.Logf("%v: balanced over 4 data nodes", time.Since(began).Round(time.Millisecond))
	// Make sure the victim has a snapshot, so its restart restores one.
	c.waitFor("a snapshot on the leader", func() (bool, string) {
		_, err := c.snapshotIndex(leader)
		return err == nil, fmt.Sprint(err)
	})

	victim := leader
	c.kill(victim)
	leader = c.waitLeader()
	t.Logf("%v: killed %s; %s leads", time.Since(began).Round(time.Millisecond), c.procs[victim].id, c.procs[leader].id)
	c.write(-1, "/nodes", `{"id": 5}`, http.StatusCreated) // empty: work for the new leader
	c.waitBalanced(leader, 5, 40)
	t.Logf("%v: new leader balanced over 5 data nodes", time.Since(began).Round(time.Millisecond))

	c.start(victim)
	m := c.waitIdentical(40)
	if len(m.Nodes) != 5 || m.Imbalance > stopBand {
		t.Errorf("agreed map has %d nodes, imbalance %v", len(m.Nodes), m.Imbalance)
	}
	if _, err := c.snapshotIndex(victim); err != nil {
		t.Errorf("restarted %s: %v", c.procs[victim].id, err)
	}
	t.Logf("%v: restarted %s; all three maps identical", time.Since(began).Round(time.Millisecond), c.procs[victim].id)

	// A clean stop, the leader first so that it hands over leadership.
	leader = c.waitLeader()
	c.terminate(leader)
	for i := range c.procs {
		if i != leader {
			c.terminate(i)
		}
	}
	t.Logf("%v: all stopped with exit 0", time.Since(began).Round(time.Millisecond))
}

// writeEndpoints are valid requests to every write endpoint; the method is
// POST unless given.
var writeEndpoints = []struct{ method, path, body string }{
	{path: "/nodes", body: `{"id": 7}`},
	{path: "/nodes/1/drain"},
	{path: "/nodes/1/down"},
	{path: "/nodes/1/up"},
	{path: "/shards", body: `{"shards": [{"start": "", "end": "YQ==", "node": 1}]}`},
	{path: "/stats", body: `{"stats": [{"shard": 1, "keys": 1}]}`},
	{path: "/pause"},
	{path: "/resume"},
	{path: "/raft/join", body: `{"id": "n9", "addr": "127.0.0.1:9"}`},
	{method: http.MethodDelete, path: "/nodes/1"},
	{method: http.MethodDelete, path: "/raft/servers/n1"},
}

func TestWritesWithoutTheTokenGet401OnALiveNode(t *testing.T) {
	c := newCluster(t, buildNode(t), 1, func(int, *cluster) []string { return []string{"-bootstrap"} })
	c.start(0)
	c.waitLeader()
	c.write(-1, "/nodes", `{"id": 1}`, http.StatusCreated)
	c.write(-1, "/shards", `{"shards": [{"start": "YQ==", "node": 1}]}`, http.StatusCreated)
	url := c.procs[0].url
	var before placementMap
	beforeBody, err := getPlacement(url, &before)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writeEndpoints {
		for _, token := range []string{"", "wrong-" + testToken} {
			method := w.method
			if method == "" {
				method = http.MethodPost
			}
			code, body, err := call(method, url+w.path, token, w.body)
			if err != nil || code != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d %s %v, want 401", method, w.path, token, code, body, err)
			}
		}
	}
	var after placementMap
	afterBody, err := getPlacement(url, &after)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(beforeBody, afterBody) {
		t.Errorf("the map changed:\n%s\n%s", beforeBody, afterBody)
	}
	var st status
	if _, err := getJSON(url+"/status", &st); err != nil || st.Raft["num_peers"] != "0" {
		t.Errorf("status %+v, %v: want no peers added", st, err)
	}
	if _, err := getJSON(url+"/plan", &struct{}{}); err != nil {
		t.Error(err)
	}
	// The pause is replicated from format version 3, which the leader
	// raises by itself (its only voter reads it).
	c.waitFormat(placement.FormatVersion)
	if code, body, err := call(http.MethodPost, url+"/pause", testToken, ""); err != nil || code != http.StatusOK {
		t.Errorf("pause with the token: %d %s %v", code, body, err)
	}
	c.terminate(0)
}

func TestJoinThroughAFollowerAndReplicate(t *testing.T) {
	c := newCluster(t, buildNode(t), 3, func(i int, c *cluster) []string {
		if i == 0 {
			return []string{"-bootstrap"}
		}
		// n3 asks n2, a follower once it has joined, which forwards the
		// join to the leader.
		return []string{"-join", c.procs[i-1].url}
	})
	c.start(0)
	c.waitLeader()
	c.start(1)
	c.waitFor("n2 to join", func() (bool, string) {
		var st status
		_, err := getJSON(c.procs[1].url+"/status", &st)
		return err == nil && st.LeaderID == "n1", fmt.Sprintf("%+v %v", st, err)
	})
	c.start(2)
	c.waitFor("three voters", func() (bool, string) {
		var st status
		_, err := getJSON(c.procs[0].url+"/status", &st)
		return err == nil && st.Raft["num_peers"] == "2", fmt.Sprintf("%v %v", st.Raft["latest_configuration"], err)
	})
	// A write to a follower is forwarded to the leader: the answer is the
	// leader's 201, not a 421 to follow.
	leader := c.waitLeader()
	follower := (leader + 1) % len(c.procs)
	req, err := http.NewRequest(http.MethodPost, c.procs[follower].url+"/nodes", strings.NewReader(`{"id": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if by := resp.Header.Get("X-Placement-Forwarded-To"); resp.StatusCode != http.StatusCreated || by != c.procs[leader].id {
		t.Errorf("POST /nodes to %s: %s, forwarded to %q; want 201 from %s", c.procs[follower].id, resp.Status, by, c.procs[leader].id)
	}
	m := c.waitIdentical(0)
	if len(m.Nodes) != 1 || m.Nodes[0].ID != 1 {
		t.Errorf("nodes %+v", m.Nodes)
	}
	for i := range c.procs {
		c.terminate(i)
	}
}
