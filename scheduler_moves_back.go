package placement

import (
	"time"

	"github.com/hashicorp/go-metrics"
)

// BackMoveWindow is how long after a shard leaves a node a transfer that
// takes it back there counts as a back-move (TickReport.MovedBack and the
// placement.moves.back metric): the churn a stable planner never makes.
const BackMoveWindow = time.Hour

// moveHistory is, for the transfers this server's ticks began, which node
// each shard left and when, within BackMoveWindow. It is soft: a new
// leader starts with none, so it counts back-moves among its own plans.
type moveHistory struct {
	left map[ShardID][]departure
}

// departure is a shard leaving node at a time.
type departure struct {
	node NodeID
	at   time.Time
}

// record notes the transfers of cmds whose result is nil, begun at now,
// and returns how many take a shard back to a node it left within
// BackMoveWindow. Departures older than the window are forgotten.
func (h *moveHistory) record(cmds []Command, results []error, now time.Time) int {
	back := 0
	for i, c := range cmds {
		tr, ok := c.(PlaceTransfer)
		if !ok || i >= len(results) || results[i] != nil {
			continue
		}
		if h.left == nil {
			h.left = map[ShardID][]departure{}
		}
		recent := h.left[tr.Shard][:0:0]
		for _, d := range h.left[tr.Shard] {
			if now.Sub(d.at) >= BackMoveWindow {
				continue
			}
			if d.node == tr.To {
				back++
				continue // it is back; leaving again starts anew
			}
			recent = append(recent, d)
		}
		h.left[tr.Shard] = append(recent, departure{node: tr.From, at: now})
	}
	for id, ds := range h.left {
		if len(ds) == 0 || now.Sub(ds[len(ds)-1].at) >= BackMoveWindow {
			delete(h.left, id)
		}
	}
	if back > 0 {
		metrics.IncrCounter([]string{"placement", "moves", "back"}, float32(back))
	}
	return back
}
