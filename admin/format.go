package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
)

// Configuration is what ClusterFormat needs from the raft server: its
// membership. *raft.Raft implements it.
type Configuration interface {
	GetConfiguration() raft.ConfigurationFuture
}

var _ Configuration = (*raft.Raft)(nil)

// ClusterFormat returns a function for placement.Config.ClusterFormat that
// asks every voter in r's configuration which log entry format it reads:
// self answers placement.FormatVersion itself, and every other voter the
// format_version_max of its GET /status at adminURL(id). The result is the
// least answer. A voter with no admin URL, or that does not answer 200 with
// valid JSON, fails the call, so the cluster's version stays where it is; a
// voter whose /status has no format_version_max runs a build from before
// the field, which reads only version 1. client nil means
// http.DefaultClient; each request carries the ctx the scheduler gives.
func ClusterFormat(r Configuration, self raft.ServerID, adminURL func(raft.ServerID) string, client *http.Client) func(context.Context) (uint64, error) {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) (uint64, error) {
		f := r.GetConfiguration()
		if err := f.Error(); err != nil {
			return 0, fmt.Errorf("raft configuration: %w", err)
		}
		least := uint64(placement.FormatVersion)
		for _, s := range f.Configuration().Servers {
			if s.Suffrage != raft.Voter || s.ID == self {
				continue
			}
			v, err := voterFormat(ctx, client, s.ID, adminURL(s.ID))
			if err != nil {
				return 0, err
			}
			least = min(least, v)
		}
		return least, nil
	}
}

// voterFormat asks one voter's /status for the newest format it reads.
func voterFormat(ctx context.Context, client *http.Client, id raft.ServerID, base string) (uint64, error) {
	if base == "" {
		return 0, fmt.Errorf("voter %s: no admin URL", id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/status", nil)
	if err != nil {
		return 0, fmt.Errorf("voter %s: %w", id, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("voter %s: %w", id, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("voter %s: GET /status answered %s", id, resp.Status)
	}
	var body struct {
		FormatVersionMax *uint64 `json:"format_version_max"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, DefaultMaxBodyBytes)).Decode(&body); err != nil {
		return 0, fmt.Errorf("voter %s: GET /status: %w", id, err)
	}
	if body.FormatVersionMax == nil {
		return 1, nil // a build from before the field reads version 1 only
	}
	return *body.FormatVersionMax, nil
}
