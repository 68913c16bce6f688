package admin_test

import (
	"net/http"
	"testing"

	"github.com/ukehi/placement"
)

// No admin route proposes an entry newer than the cluster's format: at
// format version 1 the routes of later versions are refused (409) before
// raft sees anything, and every entry the others commit is at version 1,
// which a server of the first release reads.
func TestAdminRoutesKeepToTheClusterFormat(t *testing.T) {
	e := newEnv(t)
	policy := e.do(http.MethodGet, "/policy", "", "Bearer "+token).Body.String()
	routes := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPost, "/pause", `{"ttl":"1m"}`, http.StatusConflict},
		{http.MethodPost, "/resume", "", http.StatusConflict},
		{http.MethodPut, "/policy", policy, http.StatusConflict},
		{http.MethodPost, "/nodes/3/lost", "", http.StatusConflict},
		{http.MethodPost, "/nodes", `{"id":4}`, http.StatusCreated},
		{http.MethodPost, "/nodes/3/drain", "", http.StatusOK},
		{http.MethodPost, "/nodes/3/up", "", http.StatusOK},
		{http.MethodPost, "/nodes/4/down", "", http.StatusOK},
		{http.MethodDelete, "/nodes/4", "", http.StatusOK},
		{http.MethodPost, "/shards", `{"shards":[{"node":1}]}`, http.StatusCreated},
	}
	for _, r := range routes {
		before := len(e.node.Entries())
		rec := e.do(r.method, r.path, r.body, "Bearer "+token)
		if rec.Code != r.status {
			t.Errorf("%s %s: %d %s, want %d", r.method, r.path, rec.Code, rec.Body, r.status)
		}
		if r.status == http.StatusConflict && len(e.node.Entries()) != before {
			t.Errorf("%s %s: proposed though refused", r.method, r.path)
		}
	}
	for i, entry := range e.node.Entries() {
		if entry[1] > byte(e.reg.View().FormatVersion()) {
			cmds, _ := placement.Decode(entry)
			t.Errorf("entry %d at format %d, the cluster at %d: %v", i, entry[1], e.reg.View().FormatVersion(), cmds)
		}
	}
}
