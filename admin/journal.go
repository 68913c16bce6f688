package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ukehi/placement"
)

// journalBody answers GET /journal.
type journalBody struct {
	Entries []journalEntry `json:"entries"`
}

type journalEntry struct {
	Term uint64 `json:"term"`
	Time string `json:"time"` // RFC 3339, UTC
	// Reason holds the command and why it was planned, "text" in words.
	Reason placement.Reason `json:"reason"`
}

// getJournal answers GET /journal: Scheduler.Journal, the decisions this
// server applied as the leader, oldest first; ?limit=N keeps the newest N.
func (h *handler) getJournal(w http.ResponseWriter, r *http.Request) {
	params, err := queryParams(r, "GET /journal", "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries := h.opts.Scheduler.Journal()
	if v, ok := params["limit"]; ok {
		n, err := parseID(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %v; want a count from 1", err))
			return
		}
		if n < uint64(len(entries)) {
			entries = entries[uint64(len(entries))-n:]
		}
	}
	body := journalBody{Entries: make([]journalEntry, len(entries))}
	for i, e := range entries {
		body.Entries[i] = journalEntry{Term: e.Term, Time: e.Time.UTC().Format(time.RFC3339Nano), Reason: e.Reason}
	}
	writeJSON(w, http.StatusOK, body)
}
