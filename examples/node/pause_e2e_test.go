//go:build e2e

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ukehi/placement"
)

// Operator state survives failover: writes go through a follower (which
// forwards them), a pause with a TTL holds on the leader elected after the
// old one is killed, until the TTL ends; then the new leader rebalances.
func TestPauseWithTTLSurvivesLeaderKill(t *testing.T) {
	c := startBootstrapped(t, buildNode(t), 3)
	leader := c.waitLeader()
	follower := (leader + 1) % len(c.procs)
	c.waitFormat(placement.FormatVersion)
	auth := http.Header{"Authorization": {"Bearer " + testToken}}
	post := func(path, body string, want int) []byte {
		t.Helper()
		code, h, b, err := callWith(http.MethodPost, c.procs[follower].url+path, body, auth)
		if err != nil || code != want {
			t.Fatalf("POST %s through follower %s: %d %s %v, want %d", path, c.procs[follower].id, code, b, err, want)
		}
		if h.Get("X-Placement-Forwarded-To") == "" {
			t.Fatalf("POST %s: not forwarded (headers %v)", path, h)
		}
		return b
	}
	for id := 1; id <= 3; id++ {
		post("/nodes", fmt.Sprintf(`{"id": %d}`, id), http.StatusCreated)
	}
	post("/shards", skewedShards(), http.StatusCreated)
	c.waitIdentical(40)

	const ttl = 15 * time.Second // generous: the election after the kill must leave time to check
	var paused struct {
		Paused bool   `json:"paused"`
		Until  string `json:"until"`
	}
	if err := json.Unmarshal(post("/pause", fmt.Sprintf(`{"ttl": %q}`, ttl.String()), http.StatusOK), &paused); err != nil || !paused.Paused {
		t.Fatalf("pause: %+v %v", paused, err)
	}
	until, err := time.Parse(time.RFC3339Nano, paused.Until)
	if err != nil {
		t.Fatal(err)
	}
	post("/nodes", `{"id": 4}`, http.StatusCreated) // empty: work a leader would do at once

	c.kill(leader)
	next := c.waitLeader()
	t.Logf("killed %s; %s leads; %v of the pause left", c.procs[leader].id, c.procs[next].id, time.Until(until).Round(time.Millisecond))
	// Until the TTL ends the new leader moves nothing onto node 4.
	checks := 0
	for time.Until(until) > time.Second {
		var m placementMap
		if _, err := getPlacement(c.procs[next].url, &m); err != nil {
			t.Fatal(err)
		}
		for _, n := range m.Nodes {
			if n.ID == 4 && n.Shards > 0 {
				t.Fatalf("node 4 got %d shards while paused", n.Shards)
			}
		}
		if anyMoving(m) {
			t.Fatal("a move began while paused")
		}
		checks++
		time.Sleep(200 * time.Millisecond) // sampling a state that must not change, not waiting on one
	}
	if checks == 0 {
		t.Fatalf("the election took the whole TTL (%v): nothing checked", ttl)
	}
	t.Logf("%d checks: still paused on the new leader", checks)
	// Then the new leader ends the pause and rebalances onto node 4.
	c.waitFor("node 4 gets shards after the TTL", func() (bool, string) {
		var m placementMap
		if _, err := getPlacement(c.procs[next].url, &m); err != nil {
			return false, err.Error()
		}
		for _, n := range m.Nodes {
			if n.ID == 4 {
				return n.Shards > 0, fmt.Sprintf("node 4 has %d shards", n.Shards)
			}
		}
		return false, "no node 4"
	})
	var st struct {
		Paused bool `json:"paused"`
	}
	if _, err := getJSON(c.procs[next].url+"/status", &st); err != nil || st.Paused {
		t.Errorf("status after the TTL: paused=%v %v", st.Paused, err)
	}
	for i := range c.procs {
		if i != leader {
			c.terminate(i)
		}
	}
}

// anyMoving reports whether any shard of m has a move in flight.
func anyMoving(m placementMap) bool {
	for _, raw := range m.Shards {
		var s struct {
			MovingTo uint64 `json:"moving_to"`
		}
		if json.Unmarshal(raw, &s) == nil && s.MovingTo != 0 {
			return true
		}
	}
	return false
}
