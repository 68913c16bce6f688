package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"go.uber.org/zap"
)

// addNodeRequest is POST /nodes.
// clusterVersionRequest is POST /cluster/version.
type clusterVersionRequest struct {
	Version uint64 `json:"version"`
}

// postClusterVersion proposes SetFormatVersion: run it once every server
// runs a release that reads the version. It is refused (409) if it would
// lower the cluster's version or exceed this server's build.
func (h *handler) postClusterVersion(w http.ResponseWriter, r *http.Request) {
	var req clusterVersionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !h.proposeOne(w, r, placement.SetFormatVersion{Version: req.Version}) {
		return
	}
	writeJSON(w, http.StatusOK, clusterVersionRequest{Version: h.opts.Registry.View().FormatVersion()})
}

type addNodeRequest struct {
	ID placement.NodeID `json:"id"`
}

func (h *handler) postNode(w http.ResponseWriter, r *http.Request) {
	var req addNodeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.ID == 0 {
		writeError(w, http.StatusBadRequest, "id must be a node ID >= 1")
		return
	}
	cmd := placement.AddNode{Node: req.ID}
	if !h.proposeOne(w, r, cmd) {
		return
	}
	writeJSON(w, http.StatusCreated, placement.Node{ID: req.ID, State: placement.NodeUp})
}

// setState returns the handler for POST /nodes/{id}/drain, /down and /up.
// The request body is ignored.
func (h *handler) setState(state placement.NodeState) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil || id == 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("node ID %q is not an integer >= 1", r.PathValue("id")))
			return
		}
		cmd := placement.SetNodeState{Node: placement.NodeID(id), State: state}
		if !h.proposeOne(w, r, cmd) {
			return
		}
		n, ok := h.opts.Registry.View().Node(cmd.Node)
		if !ok {
			// Removed since (it owned nothing then): answer what applied,
			// rather than a zero node, which has no JSON form.
			n = placement.Node{ID: cmd.Node, State: state}
		}
		writeJSON(w, http.StatusOK, n)
	}
}

// proposeOne proposes one command and answers the client unless it applied.
// A command that the local map already rejects is not proposed: it would
// only add a no-op to the log. The FSM's verdict on the committed command
// is still the one that counts.
func (h *handler) proposeOne(w http.ResponseWriter, r *http.Request, cmd placement.Command) bool {
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w) // a follower's map may lag: let the leader judge
		return false
	}
	if _, results := h.opts.Registry.Try(cmd); results[0] != nil {
		writeError(w, rejectionStatus(results[0]), results[0].Error())
		return false
	}
	results, ok := h.propose(w, r, cmd)
	if !ok {
		return false
	}
	if err := results[0]; err != nil {
		writeError(w, rejectionStatus(err), err.Error())
		return false
	}
	h.log.Info("applied", zap.Stringer("command", cmd))
	return true
}

// shardsRequest is POST /shards: shards to create, for bootstrapping a map.
type shardsRequest struct {
	Shards []shardRequest `json:"shards"`
}

type shardRequest struct {
	// ID 0 (or omitted) takes the registry's next ID.
	ID placement.ShardID `json:"id"`
	// Start and End are base64 keys; an End that is null or omitted makes
	// the range unbounded.
	Start []byte           `json:"start"`
	End   []byte           `json:"end"`
	Node  placement.NodeID `json:"node"`
}

// createdBody is a 201 from POST /shards.
type createdBody struct {
	Created []placement.ShardID `json:"created"`
}

// postShards creates the shards as one raft entry, all or nothing: it first
// applies them to a scratch copy of this (the leader's) map, and proposes
// them only if every one applies there. A write that lands between the
// check and the commit can still make some of them fail; the answer then
// says which.
func (h *handler) postShards(w http.ResponseWriter, r *http.Request) {
	var req shardsRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Shards) == 0 {
		writeError(w, http.StatusBadRequest, "shards must list at least one shard")
		return
	}
	cmds := make([]placement.Command, len(req.Shards))
	for i, s := range req.Shards {
		rng := placement.KeyRange{Start: s.Start, End: s.End}
		switch {
		case s.Node == 0:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("shards[%d]: node must be a node ID >= 1", i))
			return
		case !rng.Valid():
			writeError(w, http.StatusBadRequest, fmt.Sprintf("shards[%d]: range %v is empty: start must be below end", i, rng))
			return
		}
		cmds[i] = placement.CreateShard{ID: s.ID, Range: rng, Node: s.Node}
	}
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w)
		return
	}
	_, tried := h.opts.Registry.Try(cmds...)
	for i, err := range tried {
		if err != nil {
			writeError(w, rejectionStatus(err), fmt.Sprintf("shards[%d]: %v", i, err))
			return
		}
	}
	results, ok := h.propose(w, r, cmds...)
	if !ok {
		return
	}
	if err := errors.Join(results...); err != nil {
		applied := 0
		for _, e := range results {
			if e == nil {
				applied++
			}
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("%d of %d shards created; the map changed under the request: %v",
			applied, len(cmds), err))
		return
	}
	h.log.Info("created shards", zap.Int("shards", len(cmds)))
	v := h.opts.Registry.View()
	body := createdBody{Created: make([]placement.ShardID, 0, len(cmds))}
	for _, c := range cmds {
		// Lookup, since an ID of 0 was assigned by the registry.
		if s, ok := v.Lookup(c.(placement.CreateShard).Range.Start); ok {
			body.Created = append(body.Created, s.ID)
		}
	}
	writeJSON(w, http.StatusCreated, body)
}

// joinRequest is POST /raft/join: a raft server to add as a voter.
type joinRequest struct {
	ID   raft.ServerID      `json:"id"`
	Addr raft.ServerAddress `json:"addr"`
}

// maxServerID bounds a joining server's ID, which raft stores in every
// configuration entry.
const maxServerID = 128

func (h *handler) postJoin(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.ID == "" || len(req.ID) > maxServerID {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id must be 1 to %d bytes", maxServerID))
		return
	}
	if err := checkHostPort(string(req.Addr)); err != nil {
		writeError(w, http.StatusBadRequest, "addr: "+err.Error())
		return
	}
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
	defer cancel()
	f := h.opts.Raft.AddVoter(req.ID, req.Addr, 0, h.opts.ApplyTimeout)
	if err := awaitFuture(ctx, f); err != nil {
		err = placement.WrapRaftError("add voter", err)
		switch {
		case errors.Is(err, placement.ErrNotLeader):
			h.notLeader(w)
		case ctx.Err() != nil:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "outcome unknown: "+err.Error())
		default:
			writeError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	h.log.Info("added raft voter", zap.String("id", string(req.ID)), zap.String("addr", string(req.Addr)))
	writeJSON(w, http.StatusOK, req)
}

// checkHostPort accepts "host:port" with a non-empty host and a port in
// 1..65535; raft dials the address as given.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%q: port must be 1 to 65535", addr)
	}
	return nil
}

// awaitFuture waits for f or ctx. raft's futures cannot be cancelled: after
// ctx ends, the waiting goroutine stays until raft resolves f, which it does
// on commit, on losing leadership and on shutdown.
func awaitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
