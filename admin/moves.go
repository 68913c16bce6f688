package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/internal/wire"
	"go.uber.org/zap"
)

// DefaultMaxMoveWait is the longest GET /moves waits when
// Options.MaxMoveWait is zero: under examples/node's 30s WriteTimeout, so
// that the answer always gets out.
const DefaultMaxMoveWait = 25 * time.Second

// movesQuery is GET /moves's query.
type movesQuery struct {
	node  placement.NodeID // 0: every move
	index uint64           // with wait: answer once the map's index passes it
	poll  bool             // index was given: long-poll
	wait  time.Duration    // the longest wait, capped at Options.MaxMoveWait
}

// parseMovesQuery reads "node", "index" and "wait", each at most once.
// "wait" needs "index"; "index" alone waits the longest allowed.
func (h *handler) parseMovesQuery(r *http.Request) (movesQuery, error) {
	q := movesQuery{wait: h.opts.MaxMoveWait}
	params, err := queryParams(r, "GET /moves", "node", "index", "wait")
	if err != nil {
		return q, err
	}
	for name, v := range params {
		switch name {
		case "node":
			id, err := parseID(v)
			if err != nil {
				return q, fmt.Errorf("node: %w; %s", err, nodeIDRule)
			}
			q.node = placement.NodeID(id)
		case "index":
			n, err := parseIndex(v)
			if err != nil {
				return q, fmt.Errorf("index: want the \"index\" of an earlier answer: %w", err)
			}
			q.index, q.poll = n, true
		case "wait":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return q, fmt.Errorf("wait: want a positive Go duration such as \"20s\", not %s", echo(v))
			}
			q.wait = min(d, h.opts.MaxMoveWait)
		}
	}
	if _, wait := params["wait"]; wait && !q.poll {
		return q, errors.New("wait: needs index, the \"index\" of an earlier answer")
	}
	return q, nil
}

// parseIndex parses a raft index: canonical decimal, 0 included.
func parseIndex(s string) (uint64, error) {
	if s == "0" {
		return 0, nil
	}
	return parseID(s)
}

// getMoves answers the moves in flight of this server's map, at once or,
// with index, once the map's index passes it or the wait ends.
func (h *handler) getMoves(w http.ResponseWriter, r *http.Request) {
	q, err := h.parseMovesQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v := h.opts.Registry.View()
	if q.poll {
		ctx, cancel := context.WithTimeout(r.Context(), q.wait)
		if h.opts.Stopping != nil { // the server stopping ends the wait too
			go func() {
				select {
				case <-h.opts.Stopping:
					cancel()
				case <-ctx.Done():
				}
			}()
		}
		v = h.await(ctx, q.index)
		cancel()
		if r.Context().Err() != nil {
			return // the client went away
		}
	}
	body := wire.Moves{Index: v.Index(), Moves: []placement.Move{}}
	for m := range v.Moves() {
		if q.node == 0 || m.From == q.node || m.To == q.node {
			body.Moves = append(body.Moves, m)
		}
	}
	body.Leader, _ = h.opts.Node.Leader()
	if _, id := h.opts.Raft.LeaderWithID(); !body.Leader && id != "" && h.opts.AdminURL != nil {
		body.LeaderAdmin = h.opts.AdminURL(id)
	}
	writeJSON(w, http.StatusOK, body)
}

// await returns the map once its index passes index, or as it is when ctx
// ends. Await answers at once for index 0, which a map that has applied
// nothing yet also reports; then any change ends the wait, so that a
// client polling such a map is not answered in a loop.
func (h *handler) await(ctx context.Context, index uint64) placement.View {
	reg := h.opts.Registry
	if index > 0 {
		v, _ := reg.Await(ctx, index) // at ctx's end: the current map
		return v
	}
	_, gen, _ := reg.WatchMoves(ctx, 0) // at once: the registry's change count
	if v := reg.View(); v.Index() > 0 {
		return v
	}
	_, _, _ = reg.WatchMoves(ctx, gen) // until a change or ctx's end
	return reg.View()
}

// moveEnd returns the handler of POST /moves/complete (complete set) and
// POST /moves/abort: the body is a Move in its JSON form, proposed by the
// leader's Scheduler.CompleteTransfer or AbortTransfer. Both are
// idempotent: a retry of an end that applied answers 200 as the first
// did (see the package documentation).
func (h *handler) moveEnd(complete bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, ok := decodeMove(w, r)
		if !ok {
			return
		}
		if leader, _ := h.opts.Node.Leader(); !leader {
			h.notLeader(w, r) // a follower's map may lag: let the leader judge
			return
		}
		outcome, end := wire.Aborted, h.opts.Scheduler.AbortTransfer
		if complete {
			outcome, end = wire.Completed, h.opts.Scheduler.CompleteTransfer
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
		defer cancel()
		err := end(ctx, m)
		if !complete && (errors.Is(err, placement.ErrStaleEpoch) || errors.Is(err, placement.ErrNotMoving)) && h.abortedBefore(m) {
			err = nil
		}
		switch {
		case err == nil:
			h.log.Info("move ended", zap.Stringer("move", m), zap.String("outcome", outcome))
			writeJSON(w, http.StatusOK, wire.MoveEnded{Move: m, Outcome: outcome})
		case errors.Is(err, placement.ErrRejected):
			writeRejection(w, err, err.Error())
		case inDoubt(err): // before ErrNotLeader, which matches ErrLeadershipLost too
			outcomeUnknown(w, shortCause(err))
		case errors.Is(err, placement.ErrNotLeader):
			h.notLeader(w, r) // refused before the log: forwarding cannot apply it twice
		default:
			h.log.Warn("ending a move failed", zap.Stringer("move", m), zap.Error(err))
			writeError(w, http.StatusInternalServerError, "the proposal failed; see this server's log")
		}
	}
}

// abortedBefore reports whether the leader's map, which has applied every
// earlier end of m, shows m ended the way an abort ends it: the shard is
// not moving and m.From still owns it. An abort retried after it applied
// is rejected as stale; this turns that into the success it was.
func (h *handler) abortedBefore(m placement.Move) bool {
	s, ok := h.opts.Registry.View().Shard(m.Shard)
	return ok && s.MovingTo == 0 && s.Node == m.From
}

// moveRequest is the body of POST /moves/complete and /moves/abort: a
// Move in its JSON form (placement.Move.MarshalJSON).
type moveRequest struct {
	Shard placement.ShardID `json:"shard"`
	Epoch uint64            `json:"epoch"`
	From  placement.NodeID  `json:"from"`
	To    placement.NodeID  `json:"to"`
	// Began is optional, RFC 3339; it does not count in the move's end.
	Began string `json:"began"`
}

// decodeMove reads a move (moveRequest, strictly: "shard", "epoch",
// "from" and "to" required) and answers 400 itself if the body is not
// one, or names shard or node 0, or the same node twice.
func decodeMove(w http.ResponseWriter, r *http.Request) (placement.Move, bool) {
	var req moveRequest
	if !decodeBody(w, r, &req) {
		return placement.Move{}, false
	}
	data, _ := bufferedBody(r)        // replicated buffered it
	members, _ := objectMembers(data) // decodeBody checked it
	m, err := parseMove(req, members)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return m, false
	}
	return m, true
}

// parseMove checks a moveRequest whose body had the given members: the
// four IDs present, began (if any) RFC 3339, shard and nodes not 0, from
// and to different.
func parseMove(req moveRequest, members map[string]json.RawMessage) (placement.Move, error) {
	m := placement.Move{Shard: req.Shard, Epoch: req.Epoch, From: req.From, To: req.To}
	for _, name := range []string{"shard", "epoch", "from", "to"} {
		if members[name] == nil {
			return m, fmt.Errorf("%s: missing; a move is {\"shard\", \"epoch\", \"from\", \"to\"}, as GET /moves lists it", name)
		}
	}
	if req.Began != "" {
		t, err := time.Parse(time.RFC3339Nano, req.Began)
		if err != nil {
			return m, fmt.Errorf("began: want an RFC 3339 time, not %s", echo(req.Began))
		}
		m.Began = t
	}
	if m.Shard == 0 || m.From == 0 || m.To == 0 || m.From == m.To {
		return m, fmt.Errorf("shard, from and to must be IDs >= 1, from and to different; got %s", m)
	}
	return m, nil
}

// progressBody answers POST /moves/progress: the move and the bytes
// recorded.
type progressBody struct {
	Move   placement.Move `json:"move"`
	Copied uint64         `json:"copied"`
}

// postProgress records a copy's progress on this server only
// (ShardRegistry.ReportProgress): soft state, like POST /stats, which the
// client sends to every server since any may be the next leader. A move
// this server does not hold in flight (ended, or not applied here yet) is
// 404; the host reports again at its next report.
func (h *handler) postProgress(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	var req wire.Progress
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return
	}
	members, _ := objectMembers(data) // decodeStrict checked it
	if members["copied"] == nil {
		writeError(w, http.StatusBadRequest, "copied: missing; the bytes the copy has made so far")
		return
	}
	m, err := parseMove(moveRequest{Shard: req.Shard, Epoch: req.Epoch, From: req.From, To: req.To, Began: req.Began}, members)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := h.opts.Registry.ReportProgress(m, req.Copied); err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s: not in flight on this server", m))
		return
	}
	writeJSON(w, http.StatusOK, progressBody{Move: m, Copied: req.Copied})
}
