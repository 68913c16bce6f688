package admin

import (
	"bytes"
	"net/http"
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

// maxPauseTTL bounds a pause's ttl: a year.
const maxPauseTTL = 365 * 24 * time.Hour

// localRequest is the body POST /pause/local and /resume/local take: none,
// or {}. The local pause has no expiry (it is this process's own switch,
// with no leader to end it), so a ttl is refused rather than ignored.
type localRequest struct {
	TTL string `json:"ttl"`
}

// decodeLocal checks the body of POST /pause/local and /resume/local, and
// answers 400 itself if it is neither empty nor {}.
func decodeLocal(w http.ResponseWriter, r *http.Request) bool {
	data, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return true
	}
	var req localRequest
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	if members, _ := objectMembers(data); members["ttl"] != nil {
		writeError(w, http.StatusBadRequest, "ttl: the local pause has no expiry; it lasts until POST /resume/local "+
			"(the replicated POST /pause takes a ttl)")
		return false
	}
	return true
}

// postPauseLocal pauses this server's scheduler only (PauseLocal): soft
// state, never forwarded, and not replicated, so it also works before the
// cluster is at format version 3 (during a rolling upgrade).
func (h *handler) postPauseLocal(w http.ResponseWriter, r *http.Request) {
	if !decodeLocal(w, r) {
		return
	}
	h.opts.Scheduler.PauseLocal()
	h.log.Info("this server's scheduler paused")
	writeJSON(w, http.StatusOK, pauseBody{Paused: true})
}

// postResumeLocal undoes postPauseLocal.
func (h *handler) postResumeLocal(w http.ResponseWriter, r *http.Request) {
	if !decodeLocal(w, r) {
		return
	}
	h.opts.Scheduler.ResumeLocal()
	h.log.Info("this server's scheduler resumed")
	writeJSON(w, http.StatusOK, pauseBody{Paused: h.opts.Scheduler.Paused()})
}
