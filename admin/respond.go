package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/internal/wire"
	"go.uber.org/zap"
)

// errorBody is every error response. The leader fields are set on a
// follower's 421; Outcome is "unknown" on a 503 for a write that may still
// apply; Code names the registry's reason for a rejection (wire.Code).
type errorBody struct {
	Error       string `json:"error"`
	Outcome     string `json:"outcome,omitempty"`
	Code        string `json:"code,omitempty"`
	LeaderID    string `json:"leader_id,omitempty"`
	LeaderAddr  string `json:"leader_addr,omitempty"`
	LeaderAdmin string `json:"leader_admin,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status is sent; an encoding or write error can only mean the
	// client went away.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "transfer 1@1 1 -> 2", not "-\u003e"
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// writeRejection answers a command the map rejected (err wraps
// placement.ErrRejected): rejectionStatus's status, msg, and the reason's
// code, by which a client maps the answer back to the sentinel error.
func writeRejection(w http.ResponseWriter, err error, msg string) {
	writeJSON(w, rejectionStatus(err), errorBody{Error: msg, Code: wire.Code(err)})
}

// outcomeUnknown answers 503 for a write that was proposed and may still
// apply: the client must look before it retries.
func outcomeUnknown(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, errorBody{
		Error:   "outcome unknown, the write may still apply; check GET /placement or /status before retrying (POST /moves/complete and /moves/abort may simply be retried): " + msg,
		Outcome: wire.OutcomeUnknown,
	})
}

// inDoubt reports whether err, from a proposal or a membership change,
// leaves its outcome unknown: the entry may have reached the log and may
// still commit. Raft's ErrLeadershipLost, ErrAbortedByRestore and
// ErrRaftShutdown (a shutdown with the entry queued) say so, and so does an
// end of the wait. These are tested before the not-leader family, which
// placement.ErrNotLeader also matches: raft's ErrNotLeader,
// ErrLeadershipTransferInProgress and ErrEnqueueTimeout are refusals before
// anything reached the log.
func inDoubt(err error) bool {
	return errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrAbortedByRestore) ||
		errors.Is(err, raft.ErrRaftShutdown) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// readBody reads the request body, which write and replicated bound to
// Options.MaxBodyBytes, and answers 413 or 400 itself if it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	if err == nil {
		return data, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: the limit is %d bytes", tooBig.Limit))
		return nil, false
	}
	writeError(w, http.StatusBadRequest, "reading the request body failed")
	return nil, false
}

// decodeBody decodes the body, exactly one JSON object of v's form (see
// decodeStrict), into v, and answers the client itself if it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, ok := readBody(w, r)
	if !ok {
		return false
	}
	if err := decodeStrict(data, v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// rejectionStatus maps a rejection from ShardRegistry.Apply to a status:
// 404 for what does not exist, 400 for a command that can never apply, 409
// for one that conflicts with the current map.
func rejectionStatus(err error) int {
	switch {
	case errors.Is(err, placement.ErrUnknownNode), errors.Is(err, placement.ErrUnknownShard):
		return http.StatusNotFound
	case errors.Is(err, placement.ErrInvalidCommand), errors.Is(err, placement.ErrInvalidRange),
		errors.Is(err, placement.ErrBadSplitKey):
		return http.StatusBadRequest
	}
	return http.StatusConflict
}

// reason returns a rejection's reason alone ("range overlaps an existing
// shard"), for messages about commands whose own text holds keys, which
// the registry prints whole.
func reason(err error) string {
	for _, r := range wire.Rejections {
		if errors.Is(err, r.Err) {
			return strings.TrimPrefix(r.Err.Error(), placement.ErrRejected.Error()+": ")
		}
	}
	return "rejected"
}

// propose applies cmds as one raft entry on the leader and returns the
// per-command results. If it returns ok false it has answered the client:
// a follower forwards the request to the leader or names it (notLeader).
// What the cluster's format version does not enable, or the wire cannot
// carry, is refused before raft sees it (placement.CheckProposal), so a
// server still on an older release never meets an entry it cannot read.
func (h *handler) propose(w http.ResponseWriter, r *http.Request, cmds ...placement.Command) (results []error, ok bool) {
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w, r)
		return nil, false
	}
	if err := placement.CheckProposal(h.opts.Registry.View(), cmds...); err != nil {
		writeRejection(w, err, err.Error())
		return nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
	defer cancel()
	resp, err := h.opts.Node.Apply(ctx, placement.Encode(cmds...))
	switch {
	case err == nil:
	case inDoubt(err): // before ErrNotLeader, which matches ErrLeadershipLost too
		outcomeUnknown(w, shortCause(err))
		return nil, false
	case errors.Is(err, placement.ErrNotLeader):
		h.notLeader(w, r) // refused before the log: forwarding cannot apply it twice
		return nil, false
	default:
		h.log.Warn("proposal failed", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "the proposal failed; see this server's log")
		return nil, false
	}
	results, isResults := resp.([]error)
	if !isResults || len(results) != len(cmds) {
		writeError(w, http.StatusInternalServerError, "unexpected answer from the state machine")
		return nil, false
	}
	return results, true
}

// shortCause names why an outcome is unknown, in a few words.
func shortCause(err error) string {
	switch {
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrAbortedByRestore):
		return "leadership was lost while the write was in flight"
	case errors.Is(err, raft.ErrRaftShutdown):
		return "raft shut down while the write was in flight"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within the apply timeout"
	}
	return "the request was cancelled"
}

// notLeader answers a write that only the leader can take. A write of
// replicated state that was not itself forwarded goes to the leader's admin
// endpoint (forward); otherwise the answer is 421 naming the leader, or 503
// while no leader is known, or 410 if this server is no longer in the raft
// configuration, so no leader will become known.
func (h *handler) notLeader(w http.ResponseWriter, r *http.Request) {
	addr, id := h.opts.Raft.LeaderWithID()
	if id == "" && h.removed() {
		// Raft elects no leader that it would tell this server of: it left
		// the configuration. Retrying here cannot help.
		writeError(w, http.StatusGone, fmt.Sprintf("server %s is not a member of the raft configuration (it was removed); "+
			"send writes to a member, or join it again (POST /raft/join)", echo(string(h.opts.ID))))
		return
	}
	if id == "" || id == h.opts.ID {
		// No leader, or raft names this server while it does not lead: a
		// change of leadership is under way.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "no leader known (election in progress?); retry")
		return
	}
	body := errorBody{Error: "not the leader", LeaderID: string(id), LeaderAddr: string(addr)}
	if h.opts.AdminURL != nil {
		body.LeaderAdmin = h.opts.AdminURL(id)
	}
	if data, ok := bufferedBody(r); ok && body.LeaderAdmin != "" && r.Header.Get(ForwardedHeader) == "" {
		h.forward(w, r, id, body.LeaderAdmin, data, true)
		return
	}
	w.Header().Set("X-Placement-Leader-Id", body.LeaderID)
	if body.LeaderAdmin != "" {
		w.Header().Set(wire.LeaderAdmin, body.LeaderAdmin)
	}
	writeJSON(w, http.StatusMisdirectedRequest, body)
}
