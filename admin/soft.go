package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/internal/wire"
)

// statsBody answers POST /stats.
type statsBody struct {
	Reported int `json:"reported"`
}

// postStats checks every entry against the current map before recording
// any, so a request with an unknown shard or a bad split key records
// nothing. A shard merged away between the check and the recording is
// reported as 404 after the entries before it were recorded; stats are
// soft, so the host simply reports again.
func (h *handler) postStats(w http.ResponseWriter, r *http.Request) {
	var req wire.Stats // see the package documentation for why every server needs them
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Stats) == 0 {
		writeError(w, http.StatusBadRequest, "stats must list at least one shard")
		return
	}
	v := h.opts.Registry.View()
	for i, st := range req.Stats {
		s, ok := v.Shard(st.Shard)
		switch {
		case st.Shard == 0:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("stats[%d]: shard must be a shard ID >= 1", i))
			return
		case !ok:
			writeError(w, http.StatusNotFound, fmt.Sprintf("stats[%d]: unknown shard %d", i, st.Shard))
			return
		case !(st.Load >= 0) || math.IsInf(st.Load, 1):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("stats[%d]: load %v must be finite and >= 0", i, st.Load))
			return
		case st.Bytes > placement.MaxShardBytes:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("stats[%d]: bytes %d over %d (1 EiB): no shard is that large", i, st.Bytes, uint64(placement.MaxShardBytes)))
			return
		case st.SplitKey != nil && !s.Range.Inside(st.SplitKey):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("stats[%d]: split_key %s not strictly inside shard %d's range %s",
				i, echoKey(st.SplitKey), s.ID, echoRange(s.Range)))
			return
		}
	}
	for i, st := range req.Stats {
		err := h.opts.Registry.ReportStats(st.Shard, placement.Stats{Keys: st.Keys, Bytes: st.Bytes, Load: st.Load, SplitKey: st.SplitKey})
		if err != nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("stats[%d]: %v (%d entries before it recorded)", i, err, i))
			return
		}
	}
	writeJSON(w, http.StatusOK, statsBody{Reported: len(req.Stats)})
}

// nodeStatsRequest is POST /nodes/{id}/stats: soft figures about a data
// node, recorded on this server only, like shard stats.
type nodeStatsRequest struct {
	// Capacity is how many bytes the node may hold; 0 means unknown.
	Capacity uint64 `json:"capacity"`
}

// pressureRequest is POST /nodes/{id}/pressure: a data node's foreground
// pressure, 0 to 1 (placement.ShardRegistry.ReportPressure), recorded on
// this server only, like node stats.
type pressureRequest struct {
	Pressure *float64 `json:"pressure"`
}

// postPressure records a node's foreground pressure for this server's
// planner.
func (h *handler) postPressure(w http.ResponseWriter, r *http.Request) {
	id, ok := pathNodeID(w, r)
	if !ok {
		return
	}
	var req pressureRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Pressure == nil {
		writeError(w, http.StatusBadRequest, `pressure is required: a figure from 0 (idle) to 1 (saturated)`)
		return
	}
	switch err := h.opts.Registry.ReportPressure(id, *req.Pressure); {
	case errors.Is(err, placement.ErrUnknownNode):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// postNodeStats records a node's capacity for this server's planner.
func (h *handler) postNodeStats(w http.ResponseWriter, r *http.Request) {
	id, ok := pathNodeID(w, r)
	if !ok {
		return
	}
	var req nodeStatsRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := h.opts.Registry.ReportNodeStats(id, placement.NodeStats{Capacity: req.Capacity}); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, req)
}
