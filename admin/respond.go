package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ukehi/placement"
)

// errorBody is every error response. The leader fields are set on a
// follower's 421.
type errorBody struct {
	Error       string `json:"error"`
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

// decodeBody decodes exactly one JSON value into v, refusing unknown fields
// and trailing data, and answers the client itself if it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large: "+err.Error())
		return false
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("empty body")
	}
	writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
	return false
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

// propose applies cmds as one raft entry on the leader and returns the
// per-command results. If it returns ok false it has answered the client.
func (h *handler) propose(w http.ResponseWriter, r *http.Request, cmds ...placement.Command) (results []error, ok bool) {
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w)
		return nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
	defer cancel()
	resp, err := h.opts.Node.Apply(ctx, placement.Encode(cmds...))
	switch {
	case err == nil:
	case errors.Is(err, placement.ErrNotLeader):
		h.notLeader(w)
		return nil, false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable,
			"outcome unknown, the command may still apply; check GET /placement before retrying: "+err.Error())
		return nil, false
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	results, isResults := resp.([]error)
	if !isResults || len(results) != len(cmds) {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("unexpected FSM response %T", resp))
		return nil, false
	}
	return results, true
}

// notLeader answers a write that only the leader can take.
func (h *handler) notLeader(w http.ResponseWriter) {
	addr, id := h.opts.Raft.LeaderWithID()
	if id == "" {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "no leader known (election in progress?); retry")
		return
	}
	body := errorBody{Error: "not the leader", LeaderID: string(id), LeaderAddr: string(addr)}
	if h.opts.AdminURL != nil {
		body.LeaderAdmin = h.opts.AdminURL(id)
	}
	w.Header().Set("X-Placement-Leader-Id", body.LeaderID)
	if body.LeaderAdmin != "" {
		w.Header().Set("X-Placement-Leader-Admin", body.LeaderAdmin)
	}
	writeJSON(w, http.StatusMisdirectedRequest, body)
}
