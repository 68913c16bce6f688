package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

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
		if req.TTL != "" {
			d, err := time.ParseDuration(req.TTL)
			if err != nil || d <= 0 || d > maxPauseTTL {
				writeError(w, http.StatusBadRequest, "ttl must be a positive duration such as \"10m\", at most 8760h")
				return
			}
			ttl = d
		}
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
// "max_actions_per_tick": n}, strictly: those keys once each (GET /policy's
// "replicated" may come along and is ignored, so its answer can be sent
// back as it is), and the policy in placement.Policy's JSON form with every
// field (its errors are not echoed: they would name Go types).
func decodePolicyRequest(w http.ResponseWriter, r *http.Request) (placement.SetPolicy, bool) {
	var c placement.SetPolicy
	data, ok := readBody(w, r)
	if !ok {
		return c, false
	}
	members, err := objectMembers(data)
	if err == nil {
		for k := range members {
			if k != "policy" && k != "max_actions_per_tick" && k != "replicated" {
				err = errors.New("unknown key")
			}
		}
	}
	if err != nil || members["policy"] == nil || members["max_actions_per_tick"] == nil {
		writeError(w, http.StatusBadRequest, `want {"policy": {...}, "max_actions_per_tick": n}, the form GET /policy answers`)
		return c, false
	}
	if err := json.Unmarshal(members["policy"], &c.Policy); err != nil {
		writeError(w, http.StatusBadRequest, "policy: every field of GET /policy's form is required, once, by its exact name, with a value of the same kind")
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

// objectMembers splits one JSON object into its members, refusing a key
// that appears twice.
func objectMembers(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if _, dup := members[key]; dup {
			return nil, errors.New("duplicate key")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		members[key] = raw
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return members, nil
}

// policyField rewrites the Go field names in Policy.Validate's message
// (Policy.StopBand) as the JSON names a client sent (stop_band).
var policyField = regexp.MustCompile(`Policy\.([A-Za-z]+)`)

func policyError(err error) string {
	msg := strings.TrimPrefix(err.Error(), placement.ErrInvalidConfig.Error()+": ")
	return "invalid policy: " + policyField.ReplaceAllStringFunc(msg, func(m string) string {
		return snakeCase(strings.TrimPrefix(m, "Policy."))
	})
}

// snakeCase turns a Go field name into the JSON form's name.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
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
		writeError(w, http.StatusBadRequest, policyError(err))
		return
	}
	if !h.proposeOne(w, r, cmd) {
		return
	}
	p, n, replicated := h.opts.Scheduler.Settings()
	writeJSON(w, http.StatusOK, policyBody{Policy: p, MaxActionsPerTick: n, Replicated: replicated})
}

// maxPauseTTL bounds a pause's ttl: a year.
const maxPauseTTL = 365 * 24 * time.Hour

// postPauseLocal pauses this server's scheduler only (PauseLocal): soft
// state, never forwarded, and not replicated, so it also works before the
// cluster is at format version 3 (during a rolling upgrade).
func (h *handler) postPauseLocal(w http.ResponseWriter, _ *http.Request) {
	h.opts.Scheduler.PauseLocal()
	h.log.Info("this server's scheduler paused")
	writeJSON(w, http.StatusOK, pauseBody{Paused: true})
}

// postResumeLocal undoes postPauseLocal.
func (h *handler) postResumeLocal(w http.ResponseWriter, _ *http.Request) {
	h.opts.Scheduler.ResumeLocal()
	h.log.Info("this server's scheduler resumed")
	writeJSON(w, http.StatusOK, pauseBody{Paused: h.opts.Scheduler.Paused()})
}
