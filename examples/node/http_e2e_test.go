//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ukehi/placement"
)

// These helpers talk to the nodes over HTTP only, as an operator would.

var client = &http.Client{Timeout: 5 * time.Second, Transport: nodeTransport()}

// nodeTransport is http.DefaultTransport's with dialNode to connect.
func nodeTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dialNode
	return t
}

// netnsOf maps the admin address ("host:port") of a node that runs in a
// network namespace the test made to that namespace's file (under
// /var/run/netns). The test itself runs outside every such namespace.
var netnsOf sync.Map

// dialNode connects to addr, from inside its node's network namespace if
// netnsOf names one.
func dialNode(ctx context.Context, network, addr string) (net.Conn, error) {
	if ns, ok := netnsOf.Load(addr); ok {
		return dialInNetns(ctx, ns.(string), network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// call sends a request and returns the status and body. token "" sends
// no Authorization header.
func call(method, url, token, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// status is the part of GET /status the tests read.
type status struct {
	ID          string            `json:"id"`
	Leader      bool              `json:"leader"`
	LeaderID    string            `json:"leader_id"`
	LeaderAdmin string            `json:"leader_admin"`
	Format      uint64            `json:"format_version"`
	Raft        map[string]string `json:"raft"`
}

// placementMap is the part of GET /placement the tests read.
type placementMap struct {
	Imbalance float64 `json:"imbalance"`
	Next      *uint64 `json:"next"`
	Nodes     []struct {
		ID     uint64 `json:"id"`
		State  string `json:"state"`
		Shards int    `json:"shards"`
	} `json:"nodes"`
	Shards []json.RawMessage `json:"shards"`
}

// getJSON reads url with the token (the node requires it for reads of the
// map, the plan and the policy) into v, and returns the body.
func getJSON(url string, v any) ([]byte, error) {
	code, body, err := call(http.MethodGet, url, testToken, "")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, code, body)
	}
	return body, json.Unmarshal(body, v)
}

// getPlacement reads the whole map at base's GET /placement into m,
// following the pages' cursor, and returns the pages' bodies joined.
func getPlacement(base string, m *placementMap) ([]byte, error) {
	var bodies [][]byte
	var shards []json.RawMessage
	url := base + "/placement"
	for {
		*m = placementMap{}
		body, err := getJSON(url, m)
		if err != nil {
			return nil, err
		}
		bodies, shards = append(bodies, body), append(shards, m.Shards...)
		if m.Next == nil {
			m.Shards = shards
			return bytes.Join(bodies, nil), nil
		}
		url = fmt.Sprintf("%s/placement?after=%d", base, *m.Next)
	}
}

// leader returns the index of the running node that says it leads and that
// every other running node names as leader, or -1.
func (c *cluster) leader() (int, string) {
	leader, detail := -1, ""
	for i, p := range c.procs {
		if !p.running() {
			continue
		}
		var st status
		if _, err := getJSON(p.url+"/status", &st); err != nil {
			return -1, err.Error()
		}
		detail += fmt.Sprintf("%s: leader=%v leader_id=%q; ", p.id, st.Leader, st.LeaderID)
		if st.Leader {
			leader = i
		}
		if st.LeaderID == "" {
			return -1, detail
		}
	}
	return leader, detail
}

// waitLeader waits for a leader that every running node agrees on.
func (c *cluster) waitLeader() int {
	c.t.Helper()
	leader := -1
	c.waitFor("a leader", func() (bool, string) {
		var detail string
		leader, detail = c.leader()
		return leader >= 0, detail
	})
	return leader
}

// write sends an authorized POST through node via (-1: the first running
// one), following a follower's 421 to the leader and retrying while no
// leader is known, and requires the final status to be want.
func (c *cluster) write(via int, path, body string, want int) []byte {
	c.t.Helper()
	var got []byte
	c.waitFor("POST "+path, func() (bool, string) {
		url := ""
		for i, p := range c.procs {
			if p.running() && (via < 0 || via == i) {
				url = p.url
				break
			}
		}
		for hops := 0; hops < 3; hops++ {
			code, b, err := call(http.MethodPost, url+path, testToken, body)
			switch {
			case err != nil || code == http.StatusServiceUnavailable:
				return false, fmt.Sprintf("%s: %d %s %v", url, code, b, err)
			case code == http.StatusMisdirectedRequest:
				var e struct {
					LeaderAdmin string `json:"leader_admin"`
				}
				if json.Unmarshal(b, &e) != nil || e.LeaderAdmin == "" {
					return false, fmt.Sprintf("421 without leader_admin: %s", b)
				}
				url = e.LeaderAdmin
				continue
			case code != want:
				c.t.Fatalf("POST %s%s: %d %s, want %d", url, path, code, b, want)
			}
			got = b
			return true, ""
		}
		return false, "too many 421 hops"
	})
	return got
}

// placements returns each running node's /placement body (nil for a
// stopped node), and whether the running ones are byte-identical.
func (c *cluster) placements() ([][]byte, bool, error) {
	out := make([][]byte, len(c.procs))
	var first []byte
	same := true
	for i, p := range c.procs {
		if !p.running() {
			continue
		}
		var m placementMap
		body, err := getPlacement(p.url, &m)
		if err != nil {
			return nil, false, err
		}
		out[i] = body
		if first == nil {
			first = body
		} else if !bytes.Equal(first, body) {
			same = false
		}
	}
	return out, same, nil
}

// waitIdentical waits until every running node serves the same /placement,
// holding shards shards, and returns it.
func (c *cluster) waitIdentical(shards int) placementMap {
	c.t.Helper()
	var m placementMap
	c.waitFor("identical maps", func() (bool, string) {
		bodies, same, err := c.placements()
		if err != nil {
			return false, err.Error()
		}
		for _, b := range bodies {
			if b != nil {
				if err := json.Unmarshal(b, &m); err != nil {
					return false, err.Error()
				}
				break
			}
		}
		return same && len(m.Shards) == shards, fmt.Sprintf("identical=%v shards=%d", same, len(m.Shards))
	})
	return m
}

// waitBalanced waits until leader's map has nodes up data nodes with
// shards/nodes shards each, which is within the stop band (imbalance 0).
func (c *cluster) waitBalanced(leader, nodes, shards int) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%d shards balanced over %d nodes", shards, nodes), func() (bool, string) {
		var m placementMap
		if _, err := getPlacement(c.procs[leader].url, &m); err != nil {
			return false, err.Error()
		}
		detail := fmt.Sprintf("imbalance %.3f nodes %+v", m.Imbalance, m.Nodes)
		if len(m.Nodes) != nodes || len(m.Shards) != shards || m.Imbalance > stopBand {
			return false, detail
		}
		for _, n := range m.Nodes {
			if n.State != "up" || n.Shards != shards/nodes {
				return false, detail
			}
		}
		return true, detail
	})
}

// stopBand is the stop band of the policy the node runs with.
var stopBand = placement.DefaultPolicy().StopBand

var errNoSnapshot = errors.New("no snapshot yet")

// snapshotIndex returns the index of node i's latest raft snapshot.
func (c *cluster) snapshotIndex(i int) (string, error) {
	var st status
	if _, err := getJSON(c.procs[i].url+"/status", &st); err != nil {
		return "", err
	}
	if idx := st.Raft["last_snapshot_index"]; idx != "" && idx != "0" {
		return idx, nil
	}
	return "", errNoSnapshot
}

// fullMap is a server's whole map as GET /placement gives it, read by
// readMap.
type fullMap struct {
	// Canon is the map in a canonical form to compare servers by: the next
	// shard ID, the nodes and every shard, as the server wrote them.
	Canon  string
	Nodes  []mapNode
	Shards []mapShard
}

type mapNode struct {
	ID    uint64 `json:"id"`
	State string `json:"state"`
}

type mapShard struct {
	ID       uint64 `json:"id"`
	Node     uint64 `json:"node"`
	MovingTo uint64 `json:"moving_to"`
}

// moving counts the shards with a move in flight.
func (m fullMap) moving() int {
	n := 0
	for _, s := range m.Shards {
		if s.MovingTo != 0 {
			n++
		}
	}
	return n
}

// hasNode reports whether the map holds data node id.
func (m fullMap) hasNode(id uint64) bool {
	for _, n := range m.Nodes {
		if n.ID == id {
			return true
		}
	}
	return false
}

// readMap reads server url's whole map. It follows a "next" cursor
// (GET /placement?after=<next>) for as long as an answer has one, so that
// it reads a paged map too; an unpaged answer has none and is the whole
// map. Nodes come from the first page.
func readMap(base string) (fullMap, error) {
	var (
		m          fullMap
		next, head string
		shards     []string
	)
	for page := 0; ; page++ {
		var p struct {
			NextShardID json.RawMessage   `json:"next_shard_id"`
			Nodes       json.RawMessage   `json:"nodes"`
			Shards      []json.RawMessage `json:"shards"`
			Next        json.RawMessage   `json:"next"`
		}
		target := base + "/placement"
		if page > 0 {
			target += "?after=" + url.QueryEscape(next)
		}
		if _, err := getJSON(target, &p); err != nil {
			return fullMap{}, err
		}
		if page == 0 {
			head = fmt.Sprintf(`"next_shard_id": %s, "nodes": %s`, p.NextShardID, p.Nodes)
			if err := json.Unmarshal(p.Nodes, &m.Nodes); err != nil {
				return fullMap{}, fmt.Errorf("nodes: %w", err)
			}
		}
		for _, raw := range p.Shards {
			var s mapShard
			if err := json.Unmarshal(raw, &s); err != nil {
				return fullMap{}, fmt.Errorf("shard: %w", err)
			}
			m.Shards = append(m.Shards, s)
			shards = append(shards, string(raw))
		}
		next = strings.Trim(string(p.Next), `"`)
		if next == "" || next == "null" || len(p.Shards) == 0 {
			break
		}
	}
	m.Canon = "{" + head + `, "shards": [` + strings.Join(shards, ",") + "]}"
	return m, nil
}
