package placement

import (
	"sync"
	"time"

	"github.com/hashicorp/go-metrics"
)

// JournalSize is how many decisions Scheduler.Journal keeps: the newest.
const JournalSize = 1000

// JournalEntry is one decision this server's scheduler applied as the
// leader: the command with the reason it was planned for, and when.
type JournalEntry struct {
	// Reason is why the command was planned; Reason.Command is the
	// command.
	Reason Reason
	// Term is the raft term in which it was applied.
	Term uint64
	// Time is the scheduler's clock (Config.Clock) when the entry that
	// held it applied.
	Time time.Time
}

// journal is the Scheduler's bounded memory of the decisions it applied:
// a ring of the newest JournalSize, with its own lock so that reading it
// never waits for a tick's raft apply.
type journal struct {
	mu      sync.Mutex
	entries []JournalEntry // a ring once full; next is the oldest then
	next    int
}

// add records the plan's applied commands: those whose result is nil.
func (j *journal) add(reasons []Reason, results []error, term uint64, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, r := range reasons {
		if i >= len(results) || results[i] != nil {
			continue
		}
		e := JournalEntry{Reason: r, Term: term, Time: at}
		if len(j.entries) < JournalSize {
			j.entries = append(j.entries, e)
			continue
		}
		j.entries[j.next] = e
		j.next = (j.next + 1) % JournalSize
	}
}

// list returns the entries, oldest first, in a new slice.
func (j *journal) list() []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]JournalEntry, 0, len(j.entries))
	out = append(out, j.entries[j.next:]...)
	return append(out, j.entries[:j.next]...)
}

// Journal returns the last JournalSize decisions this server's scheduler
// applied as the leader (the commands of its plans that raft applied and
// the map accepted, each with its reason), oldest first, in a new slice.
//
// It is soft, like the stats: kept in this process only, not in the log
// or in snapshots. It goes on across this server's terms (each entry
// says its term), so after a leadership change and back it holds both
// terms' decisions; a new leader elsewhere has only its own, and a
// restart clears it. Completions, aborts, lost nodes and the rebalancing
// record are not planned decisions and are not in it.
func (s *Scheduler) Journal() []JournalEntry { return s.journal.list() }

// countPlanned counts the commands of an applied plan by the phase that
// planned them (placement.planned, labelled "phase").
func countPlanned(reasons []Reason) {
	var n [len(phaseNames)]int
	for _, r := range reasons {
		if int(r.Phase) < len(n) {
			n[r.Phase]++
		}
	}
	for p, k := range n {
		if k > 0 {
			metrics.IncrCounterWithLabels([]string{"placement", "planned"}, float32(k),
				[]metrics.Label{{Name: "phase", Value: Phase(p).String()}})
		}
	}
}
