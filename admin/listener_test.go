package admin_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ukehi/placement/admin"
)

// serveWrapped serves e's handler on a listener wrapped by admin.Listener,
// with a 1 KiB header limit.
func serveWrapped(t *testing.T, e *env) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(e.h)
	srv.Listener = admin.Listener(srv.Listener)
	srv.Config.MaxHeaderBytes = 1 << 10
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// rawExchange sends request as it is and reads the whole answer, which
// ends with the connection.
func rawExchange(t *testing.T, url, request string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

// requireJSONError checks an answer's status and its {"error"} body.
func requireJSONError(t *testing.T, resp *http.Response, status int, want string) {
	t.Helper()
	var body struct{ Error string }
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !strings.Contains(body.Error, want) {
		t.Errorf("error %q (%v), want it to contain %q", body.Error, err, want)
	}
}

func TestListenerMakesServerErrorsJSON(t *testing.T) {
	url := serveWrapped(t, newEnv(t))
	t.Run("431", func(t *testing.T) {
		// 8 KiB of header against a 1 KiB limit (net/http allows 4 KiB
		// more): net/http answers before any handler runs.
		resp := rawExchange(t, url, "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", 8<<10)+"\r\n\r\n")
		requireJSONError(t, resp, http.StatusRequestHeaderFieldsTooLarge, "request header fields too large")
	})
	t.Run("431 through net/http's client", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url+"/nodes", strings.NewReader(`{"id": 4}`))
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("t", 8<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		requireJSONError(t, resp, http.StatusRequestHeaderFieldsTooLarge, "too large")
	})
	t.Run("400 malformed request", func(t *testing.T) {
		resp := rawExchange(t, url, "GET /status HTTP/1.1\r\nno colon here\r\n\r\n")
		requireJSONError(t, resp, http.StatusBadRequest, "bad request")
	})
	t.Run("400 no Host", func(t *testing.T) {
		resp := rawExchange(t, url, "GET /status HTTP/1.1\r\n\r\n")
		requireJSONError(t, resp, http.StatusBadRequest, "missing required host header")
	})
	t.Run("501 transfer encoding", func(t *testing.T) {
		resp := rawExchange(t, url, "POST /nodes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
		requireJSONError(t, resp, http.StatusNotImplemented, "unsupported transfer encoding")
	})
	t.Run("handler answers pass unchanged", func(t *testing.T) {
		resp := rawExchange(t, url, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		requireJSONError(t, resp, http.StatusNotFound, "no such endpoint")
		resp = rawExchange(t, url, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /status: %d", resp.StatusCode)
		}
	})
}

func TestNewRefusesShortTokens(t *testing.T) {
	e := newEnv(t)
	o := admin.Options{Scheduler: e.sched, Registry: e.reg, Node: e.node, Raft: e.raft}
	for _, tok := range []string{"", "t", strings.Repeat("x", admin.MinTokenBytes-1)} {
		o.Token = tok
		if _, err := admin.New(o); err == nil || !strings.Contains(err.Error(), "at least 16 bytes") {
			t.Errorf("token of %d bytes: %v", len(tok), err)
		}
	}
	o.Token = strings.Repeat("x", admin.MinTokenBytes)
	if _, err := admin.New(o); err != nil {
		t.Error(err)
	}
}
