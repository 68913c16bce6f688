package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/ukehi/placement"
)

// pauseRequest is POST /pause: ttl, if given, is a Go duration ("10m")
// after which the leader ends the pause.
type pauseRequest struct {
	TTL string `json:"ttl"`
}

// pauseBody answers POST /pause and /resume.
type pauseBody struct {
	Paused bool `json:"paused"`
	// Until is when the pause ends by itself (RFC 3339), or omitted.
	Until string `json:"until,omitempty"`
}

func pauseOf(p placement.SetPause) pauseBody {
	b := pauseBody{Paused: p.Paused}
	if !p.Until.IsZero() {
		b.Until = p.Until.UTC().Format(time.RFC3339Nano)
	}
	return b
}

// postPause proposes SetPause: every leader, now and after a change of
// leader, proposes nothing until POST /resume or until the TTL ends.
func (h *handler) postPause(w http.ResponseWriter, r *http.Request) {
	var ttl time.Duration
	if data, ok := bufferedBody(r); ok && len(data) > 0 {
		var req pauseRequest
		if !decodeBody(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "ttl must be a positive duration such as \"10m\"")
			return
		}
		ttl = d
	}
	cmd := placement.SetPause{Paused: true}
	if ttl > 0 {
		cmd.Until = time.Now().Add(ttl)
	}
	if !h.proposeOne(w, r, cmd) {
		return
	}
	writeJSON(w, http.StatusOK, pauseOf(h.opts.Registry.View().Pause()))
}

// postResume proposes the end of the pause.
func (h *handler) postResume(w http.ResponseWriter, r *http.Request) {
	if !h.proposeOne(w, r, placement.SetPause{}) {
		return
	}
	writeJSON(w, http.StatusOK, pauseOf(h.opts.Registry.View().Pause()))
}

// policyBody is GET and PUT /policy: the planner's Policy in the library's
// JSON form (every field), and MaxActionsPerTick.
type policyBody struct {
	Policy            placement.Policy `json:"policy"`
	MaxActionsPerTick int              `json:"max_actions_per_tick"`
	// Replicated reports (GET only) whether the settings come from the log
	// (PUT /policy) rather than this server's own configuration.
	Replicated bool `json:"replicated"`
}

// decodePolicyRequest decodes PUT /policy's body, {"policy": {...},
// "max_actions_per_tick": n}, strictly: exactly those two keys, and the
// policy in placement.Policy's JSON form with every field (its errors are
// not echoed: they would name Go types).
func decodePolicyRequest(w http.ResponseWriter, r *http.Request) (placement.SetPolicy, bool) {
	var c placement.SetPolicy
	data, ok := readBody(w, r)
	if !ok {
		return c, false
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || len(members) != 2 ||
		members["policy"] == nil || members["max_actions_per_tick"] == nil {
		writeError(w, http.StatusBadRequest, `want {"policy": {...}, "max_actions_per_tick": n}, the form GET /policy answers`)
		return c, false
	}
	if err := json.Unmarshal(members["policy"], &c.Policy); err != nil {
		writeError(w, http.StatusBadRequest, "policy: every field of GET /policy's form is required, by its exact name, with a value of the same kind")
		return c, false
	}
	n, err := strconv.ParseInt(string(members["max_actions_per_tick"]), 10, 32)
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, "max_actions_per_tick must be an integer of at least 1")
		return c, false
	}
	c.MaxActionsPerTick = int(n)
	return c, true
}

func (h *handler) getPolicy(w http.ResponseWriter, _ *http.Request) {
	p, n, replicated := h.opts.Scheduler.Settings()
	writeJSON(w, http.StatusOK, policyBody{Policy: p, MaxActionsPerTick: n, Replicated: replicated})
}

// putPolicy proposes SetPolicy: the whole Policy (take GET /policy, change
// what you need, PUT it back) and MaxActionsPerTick, for every server.
func (h *handler) putPolicy(w http.ResponseWriter, r *http.Request) {
	cmd, ok := decodePolicyRequest(w, r)
	if !ok {
		return
	}
	if err := cmd.Policy.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.proposeOne(w, r, cmd) {
		return
	}
	p, n, replicated := h.opts.Scheduler.Settings()
	writeJSON(w, http.StatusOK, policyBody{Policy: p, MaxActionsPerTick: n, Replicated: replicated})
}
