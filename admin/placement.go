package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ukehi/placement"
)

// GET /placement answers a page of shards at a time.
const (
	// DefaultPlacementLimit is the page size of GET /placement without
	// "limit".
	DefaultPlacementLimit = 1000
	// MaxPlacementLimit is the largest "limit" GET /placement takes.
	MaxPlacementLimit = 10_000
)

// placementHeader is GET /placement but for its shards and its cursor:
// replicated state only, in a fixed order (nodes by ID), so that replicas
// that applied the same log serve byte-identical pages.
type placementHeader struct {
	NextShardID placement.ShardID `json:"next_shard_id"`
	Imbalance   float64           `json:"imbalance"`
	// Nodes are in the library's JSON form (placement.Node.MarshalJSON):
	// {"id", "state" by name, "shards"}.
	Nodes []placement.Node `json:"nodes"`
}

// shardBody is a shard in GET /placement. It is not placement.Shard's JSON
// form: its keys are flat "start" and "end" beside a "range" for people,
// as documented for this endpoint.
type shardBody struct {
	ID placement.ShardID `json:"id"`
	// Start and End are base64; End is null for an unbounded range.
	Start []byte `json:"start"`
	End   []byte `json:"end"`
	// Range is the range for people: quoted keys, "+inf" when unbounded.
	Range string           `json:"range"`
	Node  placement.NodeID `json:"node"`
	Epoch uint64           `json:"epoch"`
	// MovingTo is the node a move in flight takes the shard to; omitted
	// when the shard is not moving.
	MovingTo placement.NodeID `json:"moving_to,omitempty"`
}

// pageQuery is GET /placement's query: the shards after ID After (0: from
// the first), at most Limit of them.
type pageQuery struct {
	After placement.ShardID
	Limit int
}

// parsePageQuery reads "after" and "limit", each at most once; any other
// parameter is refused.
func parsePageQuery(r *http.Request) (pageQuery, error) {
	q := pageQuery{Limit: DefaultPlacementLimit}
	params, err := queryParams(r, "GET /placement", "after", "limit")
	if err != nil {
		return q, err
	}
	for name, v := range params {
		switch name {
		case "after":
			id, err := parseID(v)
			if err != nil {
				return q, fmt.Errorf("after: want a shard ID, the last of the page before (its \"next\"): %w", err)
			}
			q.After = placement.ShardID(id)
		case "limit":
			n, err := parseID(v)
			if err != nil || n > MaxPlacementLimit {
				return q, fmt.Errorf("limit: want an integer from 1 to %d, not %s", MaxPlacementLimit, echo(v))
			}
			q.Limit = int(n)
		}
	}
	return q, nil
}

// queryParams returns r's query parameters, refusing any given twice or
// not among names (endpoint, such as "GET /placement", says whose they
// are in the message).
func queryParams(r *http.Request, endpoint string, names ...string) (map[string]string, error) {
	params := map[string]string{}
	for name, values := range r.URL.Query() {
		switch {
		case len(values) > 1:
			return nil, fmt.Errorf("%s: given twice", echo(name))
		case !slices.Contains(names, name):
			return nil, fmt.Errorf("unknown query parameter %s; %s takes %s", echo(name), endpoint, strings.Join(names, ", "))
		}
		params[name] = values[0]
	}
	return params, nil
}

// getPlacement answers one page: the map's header (next_shard_id,
// imbalance, every node), then the shards after "after" in ID order, at
// most "limit", then "next", the last ID on the page, if shards follow
// it. Each page reads the map as it is then: pages are not one snapshot.
// The body is encoded shard by shard as it is written, so a page costs
// memory in proportion to its limit, never to the map.
func (h *handler) getPlacement(w http.ResponseWriter, r *http.Request) {
	q, err := parsePageQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v := h.opts.Registry.View()
	header, err := json.Marshal(placementHeader{
		NextShardID: v.NextShardID(),
		Imbalance:   placement.Imbalance(v),
		Nodes:       append([]placement.Node{}, v.Nodes()...),
	})
	if err != nil {
		h.log.Warn("encoding the map failed")
		writeError(w, http.StatusInternalServerError, "the map has no JSON form; see this server's log")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// From here the status is sent; a write error can only mean the
	// client went away.
	_, _ = w.Write(header[:len(header)-1]) // without its closing brace
	_, _ = w.Write([]byte(`,"shards":[`))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	n, last := 0, placement.ShardID(0)
	for s := range shardsAfter(v, q.After) {
		if n == q.Limit {
			// A shard follows the page: name where the next one starts.
			fmt.Fprintf(w, `],"next":%d}`+"\n", last)
			return
		}
		buf.Reset()
		if n > 0 {
			buf.WriteByte(',')
		}
		_ = enc.Encode(bodyOf(s)) // a shard always has a JSON form
		_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		n, last = n+1, s.ID
	}
	_, _ = w.Write([]byte("]}\n"))
}

// bodyOf is a shard's form in GET /placement.
func bodyOf(s placement.Shard) shardBody {
	start := s.Range.Start
	if start == nil {
		start = []byte{} // "" rather than null: null means unbounded
	}
	return shardBody{
		ID: s.ID, Start: start, End: s.Range.End, Range: s.Range.String(), Node: s.Node, Epoch: s.Epoch,
		MovingTo: s.MovingTo,
	}
}

// shardsAfter yields v's shards with IDs above after, in ID order.
func shardsAfter(v placement.View, after placement.ShardID) func(func(placement.Shard) bool) {
	if after == ^placement.ShardID(0) {
		return func(func(placement.Shard) bool) {} // no ID is above it
	}
	return v.ShardsFrom(after + 1)
}
