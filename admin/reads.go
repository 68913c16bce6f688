package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/ukehi/placement"
)

// planBody is GET /plan: what this server's scheduler would propose now if
// it were the leader, and what it would leave out and why.
type planBody struct {
	Leader    bool    `json:"leader"`
	Paused    bool    `json:"paused"`
	Imbalance float64 `json:"imbalance"`
	// Balance is in the library's JSON form: {"count", "bytes", "load"}.
	Balance         placement.Balance `json:"balance"`
	Rebalancing     bool              `json:"rebalancing"`
	RebalancingLoad bool              `json:"rebalancing_load"`
	MinMoves        int               `json:"min_moves"`
	MinBytes        uint64            `json:"min_bytes"`
	// Commands are not placement.MarshalCommandJSON's form: this endpoint
	// documents each as its name and the library's text.
	Commands []commandBody `json:"commands"`
	// Reasons are why the plan holds each command, in words (the
	// library's Reason.String), one per command in the same order:
	// "move shard 17 (2.1 GiB) from node 3 to node 9: bytes spread 0.31 →
	// 0.27".
	Reasons []string `json:"reasons"`
	// Skipped are in the library's JSON form (placement.Skip.MarshalJSON):
	// {"reason" in words, and "shard", "node" and "count" when not 0}.
	Skipped []placement.Skip `json:"skipped"`
}

type commandBody struct {
	// Op is the command's name: split, merge or transfer.
	Op string `json:"op"`
	// Text is the whole command as the library prints it.
	Text string `json:"text"`
}

func (h *handler) getPlan(w http.ResponseWriter, _ *http.Request) {
	plan := h.opts.Scheduler.DryRun()
	leader, _ := h.opts.Node.Leader()
	body := planBody{
		Leader:          leader,
		Paused:          h.opts.Scheduler.Paused(),
		Imbalance:       plan.Imbalance,
		Balance:         plan.Balance,
		Rebalancing:     plan.Rebalancing,
		RebalancingLoad: plan.RebalancingLoad,
		MinMoves:        plan.MinMoves,
		MinBytes:        plan.MinBytes,
		Commands:        []commandBody{},
		Reasons:         []string{},
		Skipped:         append([]placement.Skip{}, plan.Skipped...),
	}
	for _, c := range plan.Commands {
		text := c.String()
		op, _, _ := strings.Cut(text, " ")
		body.Commands = append(body.Commands, commandBody{Op: op, Text: text})
	}
	for _, r := range plan.Reasons {
		body.Reasons = append(body.Reasons, r.String())
	}
	writeJSON(w, http.StatusOK, body)
}

// statusBody is GET /status.
type statusBody struct {
	ID          string `json:"id"`
	Leader      bool   `json:"leader"`
	Term        uint64 `json:"term"`
	LeaderID    string `json:"leader_id"`
	LeaderAddr  string `json:"leader_addr"`
	LeaderAdmin string `json:"leader_admin,omitempty"`
	Paused      bool   `json:"paused"`
	// PauseUntil is when the replicated pause ends by itself (RFC 3339);
	// omitted when there is none or it has no expiry.
	PauseUntil string `json:"pause_until,omitempty"`
	// FormatVersion is the log entry format the cluster has enabled, and
	// FormatVersionMax the newest this server's build reads (what
	// ClusterFormat asks for).
	FormatVersion    uint64 `json:"format_version"`
	FormatVersionMax uint64 `json:"format_version_max"`
	// Raft is raft's own Stats(): state, indexes, the configuration.
	Raft map[string]string `json:"raft"`
	// Churn is the churn budget and rebalancing windows as this server's
	// next plan would find them (placement.ChurnState).
	Churn churnBody `json:"churn"`
}

// churnBody is placement.ChurnState in /status: "at" (RFC 3339, omitted
// when the planner has no clock yet), bytes and shards moved in the hour
// with those in flight, the budgets ("allowed_bytes", "allowed_shards",
// 0 when off, and "bytes_limited", "shards_limited"), "spent", and
// "open": whether the time is within the rebalancing windows.
type churnBody struct {
	At            string `json:"at,omitempty"`
	Bytes         uint64 `json:"bytes"`
	Shards        int    `json:"shards"`
	AllowedBytes  uint64 `json:"allowed_bytes"`
	AllowedShards int    `json:"allowed_shards"`
	BytesLimited  bool   `json:"bytes_limited"`
	ShardsLimited bool   `json:"shards_limited"`
	Spent         bool   `json:"spent"`
	Open          bool   `json:"open"`
}

func churnOf(c placement.ChurnState) churnBody {
	b := churnBody{Bytes: c.Bytes, Shards: c.Shards, AllowedBytes: c.AllowedBytes, AllowedShards: c.AllowedShards,
		BytesLimited: c.BytesLimited, ShardsLimited: c.ShardsLimited, Spent: c.Spent(), Open: c.Open}
	if !c.At.IsZero() {
		b.At = c.At.Format(time.RFC3339)
	}
	return b
}

func (h *handler) getStatus(w http.ResponseWriter, _ *http.Request) {
	leader, term := h.opts.Node.Leader()
	addr, id := h.opts.Raft.LeaderWithID()
	body := statusBody{
		ID:         string(h.opts.ID),
		Leader:     leader,
		Term:       term,
		LeaderID:   string(id),
		LeaderAddr: string(addr),
		Paused:     h.opts.Scheduler.Paused(),
		Raft:       h.opts.Raft.Stats(),

		PauseUntil:       pauseOf(h.opts.Registry.View().Pause()).Until,
		FormatVersion:    h.opts.Registry.View().FormatVersion(),
		FormatVersionMax: placement.FormatVersion,
		Churn:            churnOf(h.opts.Scheduler.Churn()),
	}
	if h.opts.AdminURL != nil && id != "" {
		body.LeaderAdmin = h.opts.AdminURL(id)
	}
	writeJSON(w, http.StatusOK, body)
}
