package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
)

// configuration is a fixed raft membership.
type configuration []raft.Server

func (c configuration) GetConfiguration() raft.ConfigurationFuture { return configFuture(c) }

type configFuture []raft.Server

func (configFuture) Error() error  { return nil }
func (configFuture) Index() uint64 { return 1 }
func (f configFuture) Configuration() raft.Configuration {
	return raft.Configuration{Servers: f}
}

// statusServer answers GET /status with body and status code.
func statusServer(t *testing.T, code int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/status" {
			t.Errorf("asked %s %s", r.Method, r.URL.Path)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClusterFormat(t *testing.T) {
	current := statusServer(t, http.StatusOK, fmt.Sprintf(`{"format_version": 1, "format_version_max": %d}`, placement.FormatVersion))
	old := statusServer(t, http.StatusOK, `{"id": "s3", "leader": false}`) // a build before the field
	failing := statusServer(t, http.StatusInternalServerError, `{"error": "boom"}`)
	garbled := statusServer(t, http.StatusOK, `not json`)
	voter := func(id string) raft.Server { return raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id)} }
	nonvoter := raft.Server{Suffrage: raft.Nonvoter, ID: "learner"}

	for _, tc := range []struct {
		name    string
		servers configuration
		urls    map[raft.ServerID]string
		want    uint64
		wantErr string
	}{
		{"every voter reads 2", configuration{voter("s1"), voter("s2"), nonvoter},
			map[raft.ServerID]string{"s2": current}, placement.FormatVersion, ""},
		{"one old voter", configuration{voter("s1"), voter("s2"), voter("s3")},
			map[raft.ServerID]string{"s2": current, "s3": old}, 1, ""},
		{"voter without a URL", configuration{voter("s1"), voter("s2")},
			nil, 0, "voter s2: no admin URL"},
		{"voter answers 500", configuration{voter("s1"), voter("s2")},
			map[raft.ServerID]string{"s2": failing}, 0, "500"},
		{"voter answers garbage", configuration{voter("s1"), voter("s2")},
			map[raft.ServerID]string{"s2": garbled}, 0, "voter s2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := admin.ClusterFormat(tc.servers, "s1", func(id raft.ServerID) string { return tc.urls[id] }, nil)
			got, err := f(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// A scheduler wired to ClusterFormat raises the cluster's version once the
// other voter's admin endpoint reports that it reads this build's format.
func TestClusterFormatDrivesTheScheduler(t *testing.T) {
	e := newEnv(t)
	peer := statusServer(t, http.StatusOK, fmt.Sprintf(`{"format_version_max": %d}`, placement.FormatVersion))
	servers := configuration{
		{Suffrage: raft.Voter, ID: "s1"},
		{Suffrage: raft.Voter, ID: "s2"},
	}
	cfg := placement.DefaultConfig()
	cfg.ClusterFormat = admin.ClusterFormat(servers, "s1", func(raft.ServerID) string { return peer }, nil)
	sched, err := placement.New(e.node, e.reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.reg.View().FormatVersion() != 1 {
		t.Fatalf("env starts at format %d, want 1", e.reg.View().FormatVersion())
	}
	rep, err := sched.Tick(context.Background())
	if err != nil || rep.Upgraded != placement.FormatVersion {
		t.Fatalf("tick: upgraded %d, %v; want %d", rep.Upgraded, err, placement.FormatVersion)
	}
	if got := e.reg.View().FormatVersion(); got != placement.FormatVersion {
		t.Fatalf("format version %d after the tick, want %d", got, placement.FormatVersion)
	}
}
