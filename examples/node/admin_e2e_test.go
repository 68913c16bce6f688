//go:build e2e

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// callWith sends a request with extra headers and returns the status, the
// headers and the body.
func callWith(method, url, body string, header http.Header) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	return resp.StatusCode, resp.Header, []byte(b.String()), err
}

// requireJSONError checks a live node's error answer: status, JSON
// content, an error message containing want and at most 300 bytes long.
func requireJSONError(t *testing.T, what string, code int, header http.Header, body []byte, status int, want string) {
	t.Helper()
	var e struct{ Error string }
	switch {
	case code != status:
		t.Errorf("%s: %d %s, want %d", what, code, body, status)
	case header.Get("Content-Type") != "application/json":
		t.Errorf("%s: Content-Type %q, body %s", what, header.Get("Content-Type"), body)
	case json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, want) || len(e.Error) > 300:
		t.Errorf("%s: body %.400s, want an error containing %q", what, body, want)
	}
}

func TestStrictAdminAndMembershipOnALiveCluster(t *testing.T) {
	c := startBootstrapped(t, buildNode(t), 3)
	leader := c.waitLeader()
	follower := (leader + 1) % 3
	other := (leader + 2) % 3
	auth := http.Header{"Authorization": {"Bearer " + testToken}}
	via := func(i int, path string) string { return c.procs[i].url + path }

	// Bad input, at the leader and at a follower alike.
	for _, i := range []int{leader, follower} {
		code, h, b, err := callWith(http.MethodGet, via(i, "/nope"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		requireJSONError(t, "GET /nope", code, h, b, http.StatusNotFound, "no such endpoint")
		code, h, b, _ = callWith(http.MethodGet, via(i, "/nodes"), "", nil)
		requireJSONError(t, "GET /nodes", code, h, b, http.StatusMethodNotAllowed, "POST")
		if h.Get("Allow") != "POST" {
			t.Errorf("GET /nodes: Allow %q", h.Get("Allow"))
		}
		big := http.Header{"X-Big": {strings.Repeat("b", 64<<10)}}
		code, h, b, err = callWith(http.MethodGet, via(i, "/status"), "", big)
		if err != nil {
			t.Fatalf("a 64 KiB header: %v", err)
		}
		requireJSONError(t, "a 64 KiB header", code, h, b, http.StatusRequestHeaderFieldsTooLarge, "too large")
		code, h, b, _ = callWith(http.MethodPost, via(i, "/nodes/01/drain"), "", auth)
		requireJSONError(t, "/nodes/01/drain", code, h, b, http.StatusBadRequest, "want a decimal integer")
		code, h, b, _ = callWith(http.MethodPost, via(i, "/nodes"), `{"ID": 1}`, auth)
		requireJSONError(t, `{"ID": 1}`, code, h, b, http.StatusBadRequest, `unknown field "ID"`)
		code, h, b, _ = callWith(http.MethodPost, via(i, "/nodes"), `{"id": 18446744073709551615}`, auth)
		requireJSONError(t, "node 2^64-1", code, h, b, http.StatusBadRequest, "reserved")
		code, h, b, _ = callWith(http.MethodPost, via(i, "/shards"), `{"shards": [{"start": "`+strings.Repeat("A", 400<<10)+`", "node": 9}]}`, auth)
		requireJSONError(t, "a 300 KB key", code, h, b, http.StatusNotFound, "unknown node")
	}

	// Nodes are removed through any server once empty.
	c.write(follower, "/nodes", `{"id": 1}`, http.StatusCreated)
	c.write(follower, "/nodes", `{"id": 2}`, http.StatusCreated)
	c.write(follower, "/shards", `{"shards": [{"start": "", "node": 1}]}`, http.StatusCreated)
	code, h, b, _ := callWith(http.MethodDelete, via(follower, "/nodes/1"), "", auth)
	requireJSONError(t, "DELETE a node with a shard", code, h, b, http.StatusConflict, "node still owns shards")
	if code, _, b, _ = callWith(http.MethodDelete, via(follower, "/nodes/2"), "", auth); code != http.StatusOK {
		t.Errorf("DELETE /nodes/2 through a follower: %d %s", code, b)
	}
	if m := c.waitIdentical(1); len(m.Nodes) != 1 || m.Nodes[0].ID != 1 {
		t.Errorf("nodes %+v, want node 1 alone", m.Nodes)
	}

	// A join whose raft address does not answer is refused; an existing
	// server is not moved without "replace".
	dead := freePorts(t, 1)[0]
	code, h, b, _ = callWith(http.MethodPost, via(follower, "/raft/join"),
		fmt.Sprintf(`{"id": "n9", "addr": "127.0.0.1:%d"}`, dead), auth)
	requireJSONError(t, "join at a dead address", code, h, b, http.StatusBadRequest, "does not answer")
	code, h, b, _ = callWith(http.MethodPost, via(follower, "/raft/join"),
		fmt.Sprintf(`{"id": "%s", "addr": "127.0.0.1:%d"}`, c.procs[other].id, dead), auth)
	requireJSONError(t, "re-address", code, h, b, http.StatusConflict, `"replace": true`)

	// A raft server is removed through a follower; the last voter never.
	if code, _, b, _ = callWith(http.MethodDelete, via(follower, "/raft/servers/"+c.procs[other].id), "", auth); code != http.StatusOK {
		t.Fatalf("DELETE /raft/servers/%s: %d %s", c.procs[other].id, code, b)
	}
	c.waitFor("two voters", func() (bool, string) {
		var st status
		_, err := getJSON(c.procs[leader].url+"/status", &st)
		return err == nil && st.Raft["num_peers"] == "1", fmt.Sprintf("%v %v", st.Raft["latest_configuration"], err)
	})
	c.terminate(other)
	if code, _, b, _ = callWith(http.MethodDelete, via(leader, "/raft/servers/"+c.procs[follower].id), "", auth); code != http.StatusOK {
		t.Fatalf("DELETE /raft/servers/%s: %d %s", c.procs[follower].id, code, b)
	}
	code, h, b, _ = callWith(http.MethodDelete, via(leader, "/raft/servers/"+c.procs[leader].id), "", auth)
	requireJSONError(t, "remove the last voter", code, h, b, http.StatusConflict, "last voter")
	c.terminate(follower)
	c.terminate(leader)
}

func TestShortTokenRefusedAtStartup(t *testing.T) {
	cmd := exec.Command(buildNode(t), "-id", "n1", "-raft-addr", "127.0.0.1:7001", "-data-dir", t.TempDir(), "-bootstrap")
	cmd.Env = append(os.Environ(), tokenEnv+"=short")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2; output %s", err, out)
	}
	if !strings.Contains(string(out), "the token is 5 bytes; it must be at least 16") {
		t.Errorf("output %s", out)
	}
}
