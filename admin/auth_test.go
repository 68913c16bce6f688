package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
)

func TestWritesWithoutTheTokenGet401AndChangeNothing(t *testing.T) {
	auths := []struct{ name, header string }{
		{name: "no header", header: ""},
		{name: "wrong token", header: "Bearer wrong"},
		{name: "token prefix", header: "Bearer " + token[:len(token)-1]},
		{name: "token plus more", header: "Bearer " + token + "x"},
		{name: "empty bearer", header: "Bearer "},
		{name: "basic scheme", header: "Basic " + token},
		{name: "no scheme", header: token},
	}
	for _, w := range writes {
		for _, a := range auths {
			t.Run(w.path+"/"+a.name, func(t *testing.T) {
				e := newEnv(t)
				e.seedShards(t)
				before, entries := e.snapshot(t), len(e.node.Entries())
				rec := e.do(method(w.method), w.path, w.body, a.header)
				requireError(t, rec, http.StatusUnauthorized, "bearer token")
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
				e.unchanged(t, before, entries)
				if _, ok := e.reg.View().Stats(1); ok {
					t.Error("stats recorded")
				}
				if e.sched.Paused() {
					t.Error("scheduler paused")
				}
				if len(e.raft.added()) != 0 {
					t.Error("AddVoter called")
				}
			})
		}
	}
}

func TestWritesWithTheTokenSucceed(t *testing.T) {
	for _, w := range writes {
		t.Run(w.path, func(t *testing.T) {
			e := newEnv(t)
			if w.path != "/shards" {
				e.apply(t, placement.CreateShard{Range: placement.KeyRange{}, Node: 1})
			}
			if needsV3(w.path) {
				e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion})
			}
			body := strings.ReplaceAll(w.body, joinAddr, raftListener(t))
			// The scheme is case-insensitive (RFC 9110).
			rec := e.do(method(w.method), w.path, body, "bearer "+token)
			if rec.Code/100 != 2 {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
}

// With Options.TokenForReads, the reads of the map and the plan need the
// token as writes do; /status (which peers read for ClusterFormat) and
// /metrics (which Prometheus scrapes) stay open. Without it, no read does.
func TestTokenForReads(t *testing.T) {
	guarded := []string{"/placement", "/plan", "/policy", "/moves", "/explain/nodes/1", "/journal"}
	open := []string{"/status", "/metrics"}
	e := newEnv(t, func(o *admin.Options) { o.TokenForReads = true })
	for _, path := range guarded {
		for _, auth := range []string{"", "Bearer wrong-token-0123456789"} {
			rec := e.do(http.MethodGet, path, "", auth)
			requireError(t, rec, http.StatusUnauthorized, "bearer token")
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s: no WWW-Authenticate header", path)
			}
		}
		if rec := e.do(http.MethodGet, path, "", "Bearer "+token); rec.Code != http.StatusOK {
			t.Errorf("GET %s with the token: %d %s", path, rec.Code, rec.Body)
		}
	}
	for _, path := range open {
		if rec := e.do(http.MethodGet, path, "", ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s without a token: %d", path, rec.Code)
		}
	}
	off := newEnv(t)
	for _, path := range append(guarded, open...) {
		if rec := off.do(http.MethodGet, path, "", ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s, TokenForReads off: %d", path, rec.Code)
		}
	}
}
