package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/ukehi/placement"
)

// getExplainShard answers GET /explain/shards/{id}: Scheduler.Explain on
// this server's map, as placement.ShardExplanation's JSON form.
func (h *handler) getExplainShard(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "shard ID "+err.Error())
		return
	}
	e, err := h.opts.Scheduler.Explain(placement.ShardID(id))
	if err != nil {
		writeRejection(w, err, fmt.Sprintf("unknown shard %d", id))
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// getExplainNode answers GET /explain/nodes/{id}: Scheduler.ExplainNode
// on this server's map, as placement.NodeExplanation's JSON form.
func (h *handler) getExplainNode(w http.ResponseWriter, r *http.Request) {
	id, ok := pathNodeID(w, r)
	if !ok {
		return
	}
	e, err := h.opts.Scheduler.ExplainNode(id)
	if err != nil {
		writeRejection(w, err, fmt.Sprintf("unknown node %d", id))
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// forecastBody answers POST /forecast.
type forecastBody struct {
	Moves      int               `json:"moves"`
	Aborted    int               `json:"aborted"`
	Splits     int               `json:"splits"`
	Merges     int               `json:"merges"`
	BytesMoved uint64            `json:"bytes_moved"`
	Ticks      int               `json:"ticks"`
	Converged  bool              `json:"converged"`
	Initial    placement.Balance `json:"initial"`
	Balance    placement.Balance `json:"balance"`
	// ETA is a Go duration ("2m30s"), ETASeconds the same in seconds.
	ETA        string  `json:"eta"`
	ETASeconds float64 `json:"eta_seconds"`
	// Summary is the result in words.
	Summary string `json:"summary"`
}

// postForecast answers POST /forecast: the body is the change, a JSON
// array of commands in their JSON form ([] for none), and the query may
// give copy_rate (bytes a second a move copies at; none: moves take no
// time), tick (the interval between plans; this server's by default) and
// max_ticks. It runs Scheduler.Forecast on this server's map, which it
// leaves untouched: nothing is proposed.
func (h *handler) postForecast(w http.ResponseWriter, r *http.Request) {
	f, err := parseForecastQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	change, err := placement.UnmarshalCommandsJSON(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body must be a JSON array of commands, such as [{\"type\": \"add-node\", \"node\": 9}]: "+shortCause(err))
		return
	}
	res, err := h.opts.Scheduler.Forecast(f, change...)
	switch {
	case errors.Is(err, placement.ErrRejected):
		writeRejection(w, err, reason(err))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, shortCause(err))
		return
	}
	writeJSON(w, http.StatusOK, forecastBody{
		Moves: res.Moves, Aborted: res.Aborted, Splits: res.Splits, Merges: res.Merges,
		BytesMoved: res.BytesMoved, Ticks: res.Ticks, Converged: res.Converged,
		Initial: res.Initial, Balance: res.Balance,
		ETA: res.ETA.String(), ETASeconds: res.ETA.Seconds(), Summary: res.String(),
	})
}

// parseForecastQuery reads POST /forecast's query into a Forecaster.
func parseForecastQuery(r *http.Request) (placement.Forecaster, error) {
	var f placement.Forecaster
	params, err := queryParams(r, "POST /forecast", "copy_rate", "tick", "max_ticks")
	if err != nil {
		return f, err
	}
	for name, v := range params {
		switch name {
		case "copy_rate":
			rate, err := strconv.ParseFloat(v, 64)
			if err != nil || !(rate > 0) || math.IsInf(rate, 1) {
				return f, fmt.Errorf("copy_rate: want bytes a second, a number above 0, not %s", echo(v))
			}
			f.CopyRate = rate
		case "tick":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return f, fmt.Errorf("tick: want a positive Go duration such as \"30s\", not %s", echo(v))
			}
			f.TickInterval = d
		case "max_ticks":
			n, err := parseID(v)
			if err != nil || n > math.MaxInt32 {
				return f, fmt.Errorf("max_ticks: want a count from 1 to %d, not %s", math.MaxInt32, echo(v))
			}
			f.MaxTicks = int(n)
		}
	}
	return f, nil
}
