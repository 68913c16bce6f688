package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ukehi/placement"
	"go.uber.org/zap"
)

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

// addNodeRequest is POST /nodes.
type addNodeRequest struct {
	ID placement.NodeID `json:"id"`
}

func (h *handler) postNode(w http.ResponseWriter, r *http.Request) {
	var req addNodeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.ID == 0 || req.ID > maxNewID {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("id must be a new node ID, not %d: %s", req.ID, nodeIDRule))
		return
	}
	cmd := placement.AddNode{Node: req.ID}
	if !h.proposeOne(w, r, cmd) {
		return
	}
	writeJSON(w, http.StatusCreated, placement.Node{ID: req.ID, State: placement.NodeUp})
}

// setState returns the handler for POST /nodes/{id}/drain, /down, /lost
// and /up.
// The request body is ignored.
func (h *handler) setState(state placement.NodeState) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathNodeID(w, r)
		if !ok {
			return
		}
		cmd := placement.SetNodeState{Node: id, State: state}
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
		h.notLeader(w, r) // a follower's map may lag: let the leader judge
		return false
	}
	if _, results := h.opts.Registry.Try(cmd); results[0] != nil {
		writeRejection(w, results[0], results[0].Error())
		return false
	}
	results, ok := h.propose(w, r, cmd)
	if !ok {
		return false
	}
	if err := results[0]; err != nil {
		writeRejection(w, err, err.Error())
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
			writeError(w, http.StatusBadRequest, fmt.Sprintf("shards[%d]: node must be a node ID, not 0: %s", i, nodeIDRule))
			return
		case s.ID > maxNewID:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("shards[%d]: id must be 0 (the next) or at most %d (2^63-1); larger IDs are reserved",
				i, uint64(maxNewID)))
			return
		case !rng.Valid():
			writeError(w, http.StatusBadRequest, fmt.Sprintf("shards[%d]: range %s is empty: start must be below end", i, echoRange(rng)))
			return
		}
		cmds[i] = placement.CreateShard{ID: s.ID, Range: rng, Node: s.Node}
	}
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w, r)
		return
	}
	_, tried := h.opts.Registry.Try(cmds...)
	for i, err := range tried {
		if err != nil {
			writeRejection(w, err, shardRejection(i, cmds[i], err))
			return
		}
	}
	results, ok := h.propose(w, r, cmds...)
	if !ok {
		return
	}
	if err := errors.Join(results...); err != nil {
		applied, first := 0, -1
		for i, e := range results {
			if e == nil {
				applied++
			} else if first < 0 {
				first = i
			}
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("%d of %d shards created; the map changed under the request: %s",
			applied, len(cmds), shardRejection(first, cmds[first], results[first])))
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

// shardRejection describes why shards[i] was rejected: the registry's
// reason, with the range cut as echoRange cuts it (the registry's own
// message holds the keys whole).
func shardRejection(i int, cmd placement.Command, err error) string {
	c := cmd.(placement.CreateShard)
	return fmt.Sprintf("shards[%d]: create-shard %d %s on node %d: %s", i, c.ID, echoRange(c.Range), c.Node, reason(err))
}

// removedBody answers DELETE /nodes/{id}.
type removedBody struct {
	ID      placement.NodeID `json:"id"`
	Removed bool             `json:"removed"`
}

// deleteNode proposes RemoveNode: the node must own no shards and have
// none moving into it (409 otherwise, ErrNodeNotEmpty); drain it first.
func (h *handler) deleteNode(w http.ResponseWriter, r *http.Request) {
	id, ok := pathNodeID(w, r)
	if !ok {
		return
	}
	if !h.proposeOne(w, r, placement.RemoveNode{Node: id}) {
		return
	}
	writeJSON(w, http.StatusOK, removedBody{ID: id, Removed: true})
}
