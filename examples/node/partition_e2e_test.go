//go:build e2e && linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ukehi/placement"
)

// Issue 17: three servers, each in its own network namespace; the leader is
// cut off from the other two while moves are in flight. It takes a write it
// can never commit, the other two elect a leader and go on, and once the
// cut heals the old leader's raft log drops the uncommitted tail ("clearing
// log suffix"). Every move then ends, every server holds the same map, and
// every server restarts (all at once, after SIGKILL and again after SIGTERM)
// and comes back with that map. With raft-wal v0.4.0 the old leader could
// not restart: its truncated log segment was unreadable ("sealed segment has
// no index block") and raft.NewRaft panicked.
func TestPartitionedLeaderRejoinsAndEveryServerRestarts(t *testing.T) {
	lab := newNetLab(t, 3)
	began := time.Now()
	elapsed := func() time.Duration { return time.Since(began).Round(time.Millisecond) }
	c := newClusterOf(t, buildNode(t), 3, lab.place, func(i int, c *cluster) []string {
		flags := []string{
			// The admin listeners are on the namespaces' links, so that
			// followers can forward writes to the leader's.
			"-admin-public",
			// Long enough that moves are still in flight when the leader
			// is cut off, just after they begin; short enough that they
			// end soon after the cut heals.
			"-copy-time", "6s",
			// No snapshots: a restart replays the whole log, the part a
			// truncation rewrote included, rather than a snapshot past it.
			"-snapshot-threshold", "1000000", "-snapshot-interval", "1h",
		}
		if i == 0 {
			flags = append(flags, "-bootstrap", "-peers", c.peers())
		}
		return flags
	})
	for i := range c.procs {
		c.start(i)
	}
	leader := c.waitLeader()
	c.waitFormat(placement.FormatVersion)
	t.Logf("%v: %s leads", elapsed(), c.procs[leader].id)

	// Data nodes 1 and 2 up, 3 down (so it gets no shards: the majority
	// removes it during the cut), and 8 shards on node 1: the leader begins
	// moving half of them to node 2 at its next tick.
	for id := 1; id <= 3; id++ {
		c.write(-1, "/nodes", fmt.Sprintf(`{"id": %d}`, id), http.StatusCreated)
	}
	c.write(-1, "/nodes/3/down", "", http.StatusOK)
	c.write(-1, "/shards", shardsBody(slices.Repeat([]int{1}, 8)), http.StatusCreated)
	c.waitFor("moves in flight on the leader", func() (bool, string) {
		m, err := readMap(c.procs[leader].url)
		return err == nil && m.moving() > 0, fmt.Sprintf("%d moving, %v", m.moving(), err)
	})

	old := leader
	lab.cut(old)
	t.Logf("%v: moves in flight; cut %s off", elapsed(), c.procs[old].id)
	// Until its lease runs out the old leader still leads: a write it takes
	// now is appended to its log and can never commit.
	auth := http.Header{"Authorization": {"Bearer " + testToken}}
	code, _, body, err := callWith(http.MethodPost, c.procs[old].url+"/nodes", `{"id": 9}`, auth)
	var answer struct {
		Outcome string `json:"outcome"`
	}
	if err != nil || code != http.StatusServiceUnavailable || json.Unmarshal(body, &answer) != nil || answer.Outcome != "unknown" {
		t.Fatalf("POST /nodes to the cut-off leader: %d %s %v; want 503 with outcome unknown "+
			"(proposed, then leadership lost; anything else means the cut came after its lease ran out)", code, body, err)
	}
	var isolated map[string]string
	c.waitFor(c.procs[old].id+" to step down", func() (bool, string) {
		st, err := c.status(old)
		isolated = st.Raft
		return err == nil && !st.Leader, fmt.Sprintf("%+v %v", st, err)
	})
	commit, last := statIndex(t, isolated, "commit_index"), statIndex(t, isolated, "last_log_index")
	if last <= commit {
		t.Fatalf("%s: last log index %d, commit index %d: want an uncommitted tail", c.procs[old].id, last, commit)
	}
	oldMap, err := readMap(c.procs[old].url)
	if err != nil || oldMap.moving() == 0 {
		t.Fatalf("%s's map at the cut: %d moves in flight, %v; want some", c.procs[old].id, oldMap.moving(), err)
	}

	// The majority elects a leader and commits a write.
	majority := []int{(old + 1) % 3, (old + 2) % 3}
	leader = c.waitLeaderOf(majority...)
	t.Logf("%v: %s leads the majority", elapsed(), c.procs[leader].id)
	if code, _, body, err := callWith(http.MethodDelete, c.procs[leader].url+"/nodes/3", "", auth); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE /nodes/3 on the majority's leader: %d %s %v", code, body, err)
	}
	for _, i := range majority {
		c.waitFor(c.procs[i].id+" applies the majority's write", func() (bool, string) {
			m, err := readMap(c.procs[i].url)
			return err == nil && !m.hasNode(3), fmt.Sprintf("nodes %+v %v", m.Nodes, err)
		})
	}
	// The minority committed nothing meanwhile.
	st, err := c.status(old)
	if err != nil {
		t.Fatal(err)
	}
	if got := statIndex(t, st.Raft, "commit_index"); got != commit {
		t.Errorf("%s, cut off, moved its commit index from %d to %d", c.procs[old].id, commit, got)
	}
	if m, err := readMap(c.procs[old].url); err != nil || m.Canon != oldMap.Canon {
		t.Errorf("%s, cut off, changed its map (%v):\nat the cut %s\nnow %s", c.procs[old].id, err, oldMap.Canon, m.Canon)
	}

	lab.heal(old)
	t.Logf("%v: healed", elapsed())
	c.waitFor(c.procs[old].id+" to drop its uncommitted tail", func() (bool, string) {
		p := c.procs[old]
		return strings.Contains(p.runs[len(p.runs)-1].String(), "clearing log suffix"), "no \"clearing log suffix\" in its log"
	})
	want := c.waitSettled()
	t.Logf("%v: every move ended; the three maps agree", elapsed())
	if want.hasNode(9) || want.hasNode(3) || len(want.Shards) != 8 {
		t.Errorf("settled map %s: want 8 shards, node 3 removed and no node 9", want.Canon)
	}

	// Every server restarts, after SIGKILL and then after SIGTERM (the
	// leader first, so it hands over leadership), and comes back with
	// the same map.
	for _, stop := range []struct {
		name string
		stop func(i int)
	}{
		{"SIGKILL", c.kill},
		{"SIGTERM", c.terminate},
	} {
		leader = c.waitLeader()
		stop.stop(leader)
		for i := range c.procs {
			if i != leader {
				stop.stop(i)
			}
		}
		for i := range c.procs {
			c.start(i)
		}
		c.waitLeader()
		if got := c.waitSettled(); got.Canon != want.Canon {
			t.Errorf("after %s and a restart:\n%s\nwant %s", stop.name, got.Canon, want.Canon)
		}
		t.Logf("%v: every server stopped with %s and restarted with the same map", elapsed(), stop.name)
	}
	for i := range c.procs {
		c.terminate(i)
	}
}

// status reads node i's GET /status.
func (c *cluster) status(i int) (status, error) {
	var st status
	_, err := getJSON(c.procs[i].url+"/status", &st)
	return st, err
}

// statIndex reads a raft index from GET /status's raft stats.
func statIndex(t *testing.T, stats map[string]string, name string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(stats[name], 10, 64)
	if err != nil {
		t.Fatalf("raft stat %s: %q: %v", name, stats[name], err)
	}
	return v
}

// waitLeaderOf waits until one of nodes leads and the others among them
// name it, and returns it: a leader of part of the cluster, such as the
// majority side of a partition.
func (c *cluster) waitLeaderOf(nodes ...int) int {
	c.t.Helper()
	leader := -1
	c.waitFor("a leader among the majority", func() (bool, string) {
		leader = -1
		detail := ""
		var named []string
		for _, i := range nodes {
			st, err := c.status(i)
			if err != nil {
				return false, err.Error()
			}
			detail += fmt.Sprintf("%s: leader=%v leader_id=%q; ", c.procs[i].id, st.Leader, st.LeaderID)
			if st.Leader {
				leader = i
			}
			named = append(named, st.LeaderID)
		}
		for _, id := range named {
			if leader < 0 || id != c.procs[leader].id {
				return false, detail
			}
		}
		return true, detail
	})
	return leader
}

// waitSettled waits until no move is in flight and every running server
// holds the same map, and returns it.
func (c *cluster) waitSettled() fullMap {
	c.t.Helper()
	var first fullMap
	c.waitFor("no move in flight and the same map everywhere", func() (bool, string) {
		var maps []fullMap
		for _, p := range c.procs {
			if !p.running() {
				continue
			}
			m, err := readMap(p.url)
			if err != nil {
				return false, err.Error()
			}
			if m.moving() > 0 {
				return false, fmt.Sprintf("%s: %d moves in flight", p.id, m.moving())
			}
			maps = append(maps, m)
		}
		for i, m := range maps[1:] {
			if m.Canon != maps[0].Canon {
				return false, fmt.Sprintf("maps differ:\n%s\n%s", maps[0].Canon, maps[i+1].Canon)
			}
		}
		first = maps[0]
		return true, ""
	})
	return first
}
