//go:build e2e

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dataNodeReady starts the line a data-node process prints once it has
// registered and its Mover runs.
const dataNodeReady = "data node running: "

// startDataNodes starts n data-node processes (cmd datanode) for data nodes
// 1..n, each given every placement server's admin URL. Their cluster
// shares the placement cluster's test: both are killed when it ends.
func startDataNodes(t *testing.T, servers *cluster, n int, copyTime time.Duration) *cluster {
	t.Helper()
	d := &cluster{t: t, bin: buildBinary(t, "./datanode", "datanode")}
	var urls []string
	for _, p := range servers.procs {
		urls = append(urls, p.url)
	}
	for i := range n {
		p := &proc{
			id:      fmt.Sprintf("d%d", i+1),
			dataDir: filepath.Join(t.TempDir(), fmt.Sprintf("d%d", i+1)),
			ready:   dataNodeReady,
		}
		p.args = []string{
			"-node", fmt.Sprint(i + 1), "-servers", strings.Join(urls, ","),
			"-copy-time", copyTime.String(), "-heartbeat", "200ms", "-capacity", fmt.Sprint(1 << 40),
		}
		d.procs = append(d.procs, p)
	}
	d.cleanUpAtEnd()
	for i := range d.procs {
		d.start(i)
	}
	return d
}

// movesIn returns the moves in flight in server i's map.
func (c *cluster) movesIn(i int) ([]moveJSON, error) {
	var body struct {
		Index uint64     `json:"index"`
		Moves []moveJSON `json:"moves"`
	}
	code, b, err := call(http.MethodGet, c.procs[i].url+"/moves", testToken, "")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /moves: %d %s", code, b)
	}
	return body.Moves, json.Unmarshal(b, &body)
}

type moveJSON struct {
	Shard, Epoch, From, To uint64
}

// TestDataNodesMoveThroughLeaderAndDataNodeKills runs the deployment most
// databases have: three placement servers (raft) that copy nothing
// (-copy-time 0), and four data-node processes that register through the
// admin client, heartbeat their capacity, and copy with a Mover. With
// moves in flight it SIGKILLs the placement leader and the data node a
// move goes into, restarts both, and requires that every move ends,
// nothing is in flight at the end, the shards are balanced, and all three
// servers hold the same map.
func TestDataNodesMoveThroughLeaderAndDataNodeKills(t *testing.T) {
	began := time.Now()
	since := func() time.Duration { return time.Since(began).Round(time.Millisecond) }
	c := newCluster(t, buildNode(t), 3, func(i int, c *cluster) []string {
		args := []string{"-copy-time", "0"}
		if i == 0 {
			args = append(args, "-bootstrap", "-peers", c.peers())
		}
		return args
	})
	for i := range c.procs {
		c.start(i)
	}
	leader := c.waitLeader()
	d := startDataNodes(t, c, 4, 1500*time.Millisecond)
	t.Logf("%v: %s leads; 4 data nodes registered", since(), c.procs[leader].id)

	const shards = 24
	var created struct{ Created []uint64 }
	if err := json.Unmarshal(c.write(-1, "/shards", shardsBody(slices.Repeat([]int{1}, shards)), http.StatusCreated), &created); err != nil || len(created.Created) != shards {
		t.Fatalf("created %v, %v", created.Created, err)
	}
	c.waitIdentical(shards) // every server knows the shards it gets stats for
	for _, p := range c.procs {
		if code, body, err := call(http.MethodPost, p.url+"/stats", testToken, statsFor(created.Created)); err != nil || code != http.StatusOK {
			t.Fatalf("stats to %s: %d %s %v", p.id, code, body, err)
		}
	}

	// Wait for a move into a data node, then kill its copier and the leader.
	var victim int
	c.waitFor("a move in flight", func() (bool, string) {
		moves, err := c.movesIn(leader)
		if err != nil || len(moves) == 0 {
			return false, fmt.Sprint(moves, err)
		}
		victim = int(moves[0].To) - 1
		return true, ""
	})
	c.kill(leader)
	d.kill(victim)
	t.Logf("%v: killed placement server %s and data node %s mid-move", since(), c.procs[leader].id, d.procs[victim].id)
	d.start(victim)
	c.start(leader)
	leader = c.waitLeader()
	t.Logf("%v: restarted both; %s leads", since(), c.procs[leader].id)

	c.waitBalanced(leader, 4, shards)
	c.waitFor("no move in flight on any server", func() (bool, string) {
		for i := range c.procs {
			moves, err := c.movesIn(i)
			if err != nil || len(moves) > 0 {
				return false, fmt.Sprintf("%s: %v %v", c.procs[i].id, moves, err)
			}
		}
		return true, ""
	})
	c.waitIdentical(shards)
	t.Logf("%v: balanced over 4 data nodes, nothing in flight, three maps identical", since())
	if !strings.Contains(d.procs[victim].runs[1].String(), "move completed") {
		t.Errorf("restarted data node %s completed no move", d.procs[victim].id)
	}

	// The leader first, while the data nodes long-poll it: it answers
	// them at once and exits cleanly, and they go on with the others.
	leader = c.waitLeader()
	c.terminate(leader)
	for i := range d.procs {
		d.terminate(i)
	}
	for i := range c.procs {
		if i != leader {
			c.terminate(i)
		}
	}
	t.Logf("%v: all stopped with exit 0", since())
}
