package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ukehi/placement"
)

// The operator's calls. Each is a write of replicated state, which any
// server takes (a follower forwards it to the leader); an unknown outcome
// is returned as an error wrapping ErrOutcomeUnknown, and a rejection as
// an *Error wrapping the placement sentinel (placement.ErrNodeExists, ...).

// AddNode adds data node id, up (POST /nodes).
func (c *Client) AddNode(ctx context.Context, id placement.NodeID) error {
	return c.do(ctx, call{method: http.MethodPost, path: "/nodes", body: map[string]placement.NodeID{"id": id}, kind: write}, nil)
}

// stateRoutes are the routes of SetNodeState.
var stateRoutes = map[placement.NodeState]string{
	placement.NodeUp: "up", placement.NodeDraining: "drain", placement.NodeDown: "down", placement.NodeLost: "lost",
}

// SetNodeState sets node id's state: placement.NodeDraining empties it,
// NodeDown takes it out, NodeLost re-homes its shards (it is gone for
// good), NodeUp brings it back (POST /nodes/{id}/drain, down, lost, up).
func (c *Client) SetNodeState(ctx context.Context, id placement.NodeID, state placement.NodeState) error {
	route, ok := stateRoutes[state]
	if !ok {
		return fmt.Errorf("client: no node state %v", state)
	}
	return c.do(ctx, call{method: http.MethodPost, path: fmt.Sprintf("/nodes/%d/%s", id, route), kind: write}, nil)
}

// RemoveNode forgets node id, which must own no shard and have none moving
// into it (DELETE /nodes/{id}).
func (c *Client) RemoveNode(ctx context.Context, id placement.NodeID) error {
	return c.do(ctx, call{method: http.MethodDelete, path: fmt.Sprintf("/nodes/%d", id), kind: write}, nil)
}

// Pause pauses the cluster's scheduling until Resume, or for ttl when ttl
// is positive (POST /pause).
func (c *Client) Pause(ctx context.Context, ttl time.Duration) error {
	cl := call{method: http.MethodPost, path: "/pause", kind: write}
	if ttl > 0 {
		cl.body = map[string]string{"ttl": ttl.String()}
	}
	return c.do(ctx, cl, nil)
}

// Resume ends the pause (POST /resume).
func (c *Client) Resume(ctx context.Context) error {
	return c.do(ctx, call{method: http.MethodPost, path: "/resume", kind: write}, nil)
}

// Settings are the planner's settings, as GET /policy answers them.
type Settings struct {
	Policy            placement.Policy `json:"policy"`
	MaxActionsPerTick int              `json:"max_actions_per_tick"`
	// Replicated tells whether they come from the log (SetPolicy) rather
	// than the answering server's own configuration.
	Replicated bool `json:"replicated"`
}

// Policy returns the settings the server the client prefers plans with
// (GET /policy).
func (c *Client) Policy(ctx context.Context) (Settings, error) {
	var s Settings
	err := c.do(ctx, call{method: http.MethodGet, path: "/policy", kind: read}, &s)
	return s, err
}

// SetPolicy replicates p and maxActionsPerTick: every leader plans with
// them from then on (PUT /policy).
func (c *Client) SetPolicy(ctx context.Context, p placement.Policy, maxActionsPerTick int) error {
	body := Settings{Policy: p, MaxActionsPerTick: maxActionsPerTick}
	return c.do(ctx, call{method: http.MethodPut, path: "/policy", body: body, kind: write}, nil)
}

// Status is one server's GET /status.
type Status struct {
	// ID is the answering server's raft ID; Leader and Term its role.
	ID     string `json:"id"`
	Leader bool   `json:"leader"`
	Term   uint64 `json:"term"`
	// LeaderID, LeaderAddr and LeaderAdmin name the leader it knows: raft
	// ID, raft address and admin URL ("" when unknown).
	LeaderID    string `json:"leader_id"`
	LeaderAddr  string `json:"leader_addr"`
	LeaderAdmin string `json:"leader_admin"`
	// Paused tells whether its scheduler is paused (replicated or local).
	Paused bool `json:"paused"`
	// PauseUntil is when the replicated pause ends by itself (RFC 3339),
	// or "".
	PauseUntil string `json:"pause_until"`
	// FormatVersion is the cluster's log format version, FormatVersionMax
	// the newest the server's build reads.
	FormatVersion    uint64 `json:"format_version"`
	FormatVersionMax uint64 `json:"format_version_max"`
	// Raft is raft's own Stats() on that server.
	Raft map[string]string `json:"raft"`
	// Churn is the churn budget and rebalancing windows as that server's
	// next plan would find them.
	Churn Churn `json:"churn"`
}

// Churn is placement.ChurnState as GET /status reports it.
type Churn struct {
	// At is the time the hour ends (RFC 3339), or "" when the server's
	// planner has no clock yet.
	At string `json:"at"`
	// Bytes and Shards are what moved in the hour, with the moves in
	// flight; AllowedBytes and AllowedShards the budgets (0 when off, see
	// BytesLimited and ShardsLimited).
	Bytes         uint64 `json:"bytes"`
	Shards        int    `json:"shards"`
	AllowedBytes  uint64 `json:"allowed_bytes"`
	AllowedShards int    `json:"allowed_shards"`
	BytesLimited  bool   `json:"bytes_limited"`
	ShardsLimited bool   `json:"shards_limited"`
	// Spent reports a set budget used up; Open whether the time is
	// within the rebalancing windows (always, with none).
	Spent bool `json:"spent"`
	Open  bool `json:"open"`
}

// Status returns the status of the server the client prefers (the one
// that last answered; see Status.ID).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, call{method: http.MethodGet, path: "/status", kind: read}, &s)
	return s, err
}
