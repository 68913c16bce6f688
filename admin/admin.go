// Package admin serves an HTTP admin surface for one raft server of a
// placement deployment: it shows the placement map and the plan, changes
// data nodes and shards through raft, takes shard stats, pauses the
// scheduler, changes raft membership, and exposes Prometheus metrics.
//
// # Endpoints
//
// Reads need no token, unless Options.TokenForReads makes /placement, /plan,
// /policy, /moves, /explain and /journal need it:
//
//	GET  /placement          the map: nodes, shards (keys in base64), imbalance;
//	     ?after=ID&limit=N   a page of shards in ID order (see below)
//	GET  /plan               a dry run of the next tick: the spread of counts,
//	                         bytes and load, min moves and bytes, the commands
//	                         with the reason for each in words, skip reasons
//	GET  /status             raft role, term, leader, format versions
//	                         (the cluster's and this build's newest), raft's
//	                         stats, the churn budget ("churn")
//	GET  /policy             the Policy and max_actions_per_tick planned with,
//	                         and whether they are replicated (PUT /policy)
//	GET  /metrics            Prometheus text (go-metrics' Prometheus sink)
//	GET  /moves              the moves in flight: {"index": K, "moves": [...],
//	     ?node=N             "leader": bool, "leader_admin": URL}; only moves
//	     ?index=K&wait=20s   into or out of node N; long-poll (see Moves)
//	GET  /explain/shards/{id} why the shard is where it is and, for every up
//	                         node, whether the next plan may move it there and
//	                         the spreads that would leave (Scheduler.Explain)
//	GET  /explain/nodes/{id} a node's targets and role, or what holds its
//	                         drain (Scheduler.ExplainNode)
//	GET  /journal            the decisions this server applied as the leader,
//	     ?limit=N            oldest first, each with its reason in words and
//	                         figures (Scheduler.Journal); the newest N
//
// POST /forecast needs the token, changes nothing and is not forwarded: it
// runs Scheduler.Forecast on this server's map. Its body is the change, a
// JSON array of commands in their JSON form ([{"type": "add-node",
// "node": 9}], or [] for none); the query may give copy_rate (bytes a
// second), tick (a Go duration) and max_ticks. It answers the moves, bytes
// moved, splits, merges, ticks, whether the planner converged, the spreads
// before and after, and the ETA; a change that does not apply answers as a
// rejected write does (404, 409).
//
// Writes need "Authorization: Bearer <token>" and answer 401 without it:
//
//	POST   /nodes              {"id": 5}                 add a data node
//	POST   /nodes/{id}/drain   (no body)                 empty a node
//	POST   /nodes/{id}/down    (no body)                 take a node out
//	POST   /nodes/{id}/lost    (no body)                 gone for good: re-home its shards
//	POST   /nodes/{id}/up      (no body)                 bring it back
//	DELETE /nodes/{id}         (no body)                 forget an empty node (409 while it
//	                                                     owns shards or shards move into it)
//	POST   /cluster/version    {"version": 2}            every server runs this release
//	                                                     (or let ClusterFormat decide)
//	POST   /shards             {"shards": [{"start", "end", "node", "id"}]}
//	POST   /stats              {"stats": [{"shard", "keys", "bytes", "load", "split_key"}]}
//	POST   /nodes/{id}/stats   {"capacity": 1099511627776} bytes the node may hold
//	POST   /nodes/{id}/pressure {"pressure": 0.7}        foreground pressure, 0 to 1: narrows
//	                                                     the node's move windows (soft, like
//	                                                     /stats)
//	POST   /pause              (no body), or {"ttl": "10m"}  pause the cluster's scheduling
//	POST   /resume             (no body)                 end the pause
//	POST   /pause/local, /resume/local                  this server's scheduler only (not
//	       (no body), or {}                             replicated; works before format 3;
//	                                                     no ttl: 400, it lasts until
//	                                                     /resume/local)
//	PUT    /policy             {"policy": {...}, "max_actions_per_tick": 5}
//	                                                     every field, as GET /policy answers
//	POST   /moves/complete     {"shard": 7, "epoch": 3, "from": 1, "to": 2}
//	                                                     the copy is on "to": it owns the shard
//	POST   /moves/abort        {"shard": 7, "epoch": 3, "from": 1, "to": 2}
//	                                                     the copy failed: the move ends
//	POST   /moves/progress     {"shard": 7, "epoch": 3, "from": 1, "to": 2, "copied": 1048576}
//	                                                     bytes the copy has made: soft, this
//	                                                     server only, like /stats (404: the
//	                                                     move is not in flight here)
//	POST   /raft/join          {"id": "n4", "addr": "127.0.0.1:7004", "replace": false}
//	DELETE /raft/servers/{id}  (no body)                 remove a raft server (409 for the
//	                                                     last voter)
//
// /raft/join adds a voter only if its address answers a TCP connection
// (within 2s) and no other server ID has that address; an ID already in the
// configuration at another address needs "replace": true. Joining again at
// the same address is a no-op, so a joining server may retry.
//
// Keys are base64 (standard encoding, as encoding/json writes []byte): keys
// are arbitrary bytes, and base64 round-trips them exactly. GET /placement
// adds each range in the library's quoted form for people to read. A range's
// "end" is null when the range is unbounded.
//
// GET /placement answers a page: next_shard_id, imbalance and every node,
// then the shards with IDs above "after" (default 0), in ID order, at most
// "limit" of them (default DefaultPlacementLimit, at most
// MaxPlacementLimit), then "next": the last ID on the page when shards
// follow it, omitted on the last page. Ask again with after=next for the
// next page. Each page reads the map as it is then, so pages are not one
// snapshot: a shard split or merged between them may appear twice or not
// at all. The body is written as it is encoded; a page costs memory in
// proportion to its limit, not to the map. A query parameter other than
// these, given twice or not canonical decimal is refused with 400.
//
// # Moves
//
// A data node that is not a raft server learns its moves from GET /moves
// and ends them with POST /moves/complete or /moves/abort (package
// admin/client does both). A move is in placement.Move's JSON form:
// {"shard", "epoch", "from", "to", "began"}, "began" (RFC 3339, when the
// move began) optional in a request. GET /moves lists the moves in flight
// in shard order, with "index", the raft index of the map read
// (View.Index: the same on every replica for the same map, so it may be
// carried from one server to another), whether this server leads, and the
// leader's admin URL when it does not and the URL is known.
//
// GET /moves?index=K long-polls: it answers once the map's index passes K,
// or, at the end of "wait" (a Go duration, > 0; at most Options.MaxMoveWait,
// 25s by default, and that when wait is not given), with the map as it is
// then. A map that has applied no entry yet (index 0) answers a poll at
// index 0 when it next changes. An answer may come with nothing new: read
// it, do not assume. "wait" without "index" is 400; query parameters are
// as strict as /placement's. A follower answers from its own map, which
// may lag the leader's by a few entries: a move it lists is real, but may
// have ended on the leader; the client prefers the leader ("leader_admin").
//
// POST /moves/complete and /moves/abort are writes of replicated state: a
// follower forwards them, and the leader proposes them with
// Scheduler.CompleteTransfer and AbortTransfer. Both answer 200 with
// {"move": {...}, "outcome": "completed"} (or "aborted"), and both are
// idempotent: a completion retried after it applied answers 200 (at every
// format version), and so does an abort retried after it applied, when
// the leader's map shows the shard not moving and still owned by "from".
// A definite no is 409 with "code" "stale-epoch" or "not-moving" (the move
// was aborted, or completed for an abort: discard the copy, or keep it, as
// placement.Scheduler.CompleteTransfer documents), or 404 "unknown-shard";
// 503 with "outcome": "unknown" means retry.
//
// # Input
//
// Input is strict. An ID in a path is canonical decimal: digits only, no
// sign, no leading zero (/nodes/01/drain is 400), not 0. An ID that a
// request creates (POST /nodes, POST /shards' "id") must be at most 2^63-1,
// so that it fits a signed 64-bit integer in any client; IDs from 2^63 up
// are reserved (2^64-1 included). An ID that names an existing node or
// shard may be any the map holds, so that a node added before this rule can
// still be drained and removed. A body is exactly one JSON object: field
// names match exactly, case included (encoding/json alone would take "ID"
// for "id"), and appear once; unknown fields, trailing data and null (but
// for a list or a key, where null means none) are refused; numbers must be
// integers in range where the field is an integer; keys are canonical
// standard base64.
//
// # Where writes go
//
// Nodes, shards, the format version, the pause, the policy and raft
// membership are replicated state: those writes are proposed through raft, and only the leader
// proposes. A follower forwards such a write to the leader's admin endpoint
// (Options.AdminURL names it): the same method, path, body and
// Authorization header, marked with the X-Placement-Forwarded-By header,
// and it answers with the leader's answer: its status, its JSON body, and
// X-Placement-Forwarded-To naming the leader. So any server takes any write,
// and a client need not know who leads. Forwarding is bounded: one hop only
// (a forwarded write is never forwarded again; a server that does not lead
// answers it 421, as below), and Options.ApplyTimeout for the leader's
// answer (past it, 503 with "outcome": "unknown", since the leader may
// have applied it). If the server it took for the leader answers 421 (it
// no longer led, so it proposed nothing) and raft names another leader by
// then, the write goes to that one instead, once. A leader that cannot be
// reached did not get the write: 503 with Retry-After, and the dial's own
// failure (refused, host not found, no connection within
// Options.ForwardDialTimeout) says so at once. A write is forwarded only when this server knows
// it was not proposed here: when it is not the leader to begin with, or
// when raft refused the proposal outright. Forwarding rather than a redirect
// keeps the token from being re-sent by clients to wherever a Location
// points, and works with curl as it is.
//
// Without forwarding (no admin URL for the leader, or a write that was
// forwarded already) the answer is 421 Misdirected Request with the
// leader's raft ID and address (and admin URL, if known) in the JSON body
// and in the X-Placement-Leader-Id and X-Placement-Leader-Admin headers;
// with no known leader (an election) it is 503 with Retry-After. A server
// that raft's configuration no longer holds (removed by DELETE
// /raft/servers/{id}) will never know a leader: it answers 410 Gone,
// without Retry-After, saying it is not a member.
//
// Stats (of shards and of nodes) are soft, per-server state and are never
// proposed nor forwarded: they apply to the server that receives them. The
// planner runs on the leader, so the leader must have the stats; and since
// any server may become leader, a host reports stats to every server (in a
// database, each server's storage engine reports its own).
//
// The pause and the policy are in the log (format version 3): a pause holds
// through a change of leader until POST /resume or until its ttl ends, when
// the leader then in charge ends it; every leader plans with the policy of
// the last PUT /policy (or, before any, with its own configuration).
//
// # Errors
//
// Every error is JSON, {"error": "..."}, unknown routes (404) and wrong
// methods (405, with the Allow header) included. Malformed or oversized
// bodies, unknown fields, zero or non-canonical IDs and invalid ranges get
// 400 (413 for a body over Options.MaxBodyBytes) before anything is
// proposed; a command the map rejects gets 404 for an unknown node or shard,
// 400 for an invalid command and 409 for a conflict (node exists, overlap,
// node not up, node not empty), with the registry's reason, and its code in
// "code", such as "stale-epoch", "not-moving", "unknown-shard",
// "node-exists" (one for each of the library's rejection sentinels, which
// admin/client maps back to them). None of these changes the map. Messages are short: they repeat at most 64 bytes of any
// input (cut with "…") and never name Go types.
//
// A proposal whose outcome is unknown answers 503 with
// {"error": "...", "outcome": "unknown"}: raft lost leadership with the
// entry in flight (ErrLeadershipLost), or no answer came within
// Options.ApplyTimeout. It may still apply, so check GET /placement (or
// /status for membership) before retrying.
//
// net/http answers some requests before any handler runs: a header over
// http.Server.MaxHeaderBytes (431), a malformed request (400). Serve on a
// listener wrapped by Listener for those answers to be JSON too.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ukehi/placement"
	"go.uber.org/zap"
)

// Raft is what the handler needs from the raft server beyond
// placement.RaftNode: the leader's identity for a follower's answers,
// the configuration, AddVoter and RemoveServer for membership, and Stats
// for /status. *raft.Raft implements it.
type Raft interface {
	Configuration
	LeaderWithID() (raft.ServerAddress, raft.ServerID)
	AddVoter(id raft.ServerID, address raft.ServerAddress, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	RemoveServer(id raft.ServerID, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	Stats() map[string]string
}

var _ Raft = (*raft.Raft)(nil)

// MinTokenBytes is the shortest token New accepts.
const MinTokenBytes = 16

// Options configures the handler. Scheduler, Registry, Node, Raft and Token
// are required.
type Options struct {
	// Scheduler is this server's scheduler: DryRun for /plan, Pause and
	// Resume.
	Scheduler *placement.Scheduler
	// Registry is the registry this server's FSM applies to.
	Registry *placement.ShardRegistry
	// Node proposes writes and tells whether this server leads.
	Node placement.RaftNode
	// Raft gives the leader's address, membership changes and raft stats.
	Raft Raft
	// ID is this server's raft ID, shown by /status and sent with the
	// writes it forwards.
	ID raft.ServerID
	// Token is the bearer token write endpoints require: at least
	// MinTokenBytes bytes.
	Token string
	// TokenForReads makes GET /placement, /plan and /policy require Token
	// too (401 without it), for a map whose keys are not for everyone who
	// can reach the port. GET /status, which peers read for ClusterFormat,
	// and GET /metrics, which Prometheus scrapes, stay open. Default
	// false: no read needs the token.
	TokenForReads bool
	// AdminURL, if set, maps a raft server ID to that server's admin base
	// URL (such as "http://127.0.0.1:8001"), so that a follower can forward
	// writes to the leader and name its admin endpoint; "" means unknown.
	// Default nil: no forwarding, and only the raft ID and address are
	// given.
	AdminURL func(raft.ServerID) string
	// ForwardClient sends forwarded writes to the leader. Default nil: a
	// client of the handler's own, without keep-alives or a proxy. It never
	// follows redirects, whatever the client given.
	ForwardClient *http.Client
	// ForwardDialTimeout bounds the connection to the leader of the
	// default ForwardClient, so that a leader that cannot be reached is
	// reported as such (the write was not sent) long before ApplyTimeout.
	// A ForwardClient given dials as it is configured. Default (zero) 2s.
	ForwardDialTimeout time.Duration
	// ApplyTimeout bounds each proposal, and a forwarded write's wait for
	// the leader's answer. Default (zero) 10s.
	ApplyTimeout time.Duration
	// MaxBodyBytes limits request bodies. Default (zero) 1 MiB.
	MaxBodyBytes int64
	// MaxMoveWait caps how long GET /moves?index=K waits for a change: a
	// longer "wait" is cut to it. Keep it under the http.Server's
	// WriteTimeout, or long polls are cut off unanswered. Default (zero)
	// DefaultMaxMoveWait, 25s.
	MaxMoveWait time.Duration
	// Stopping, if not nil, is closed when the server stops: long polls
	// of GET /moves answer at once with the current moves, so that
	// http.Server.Shutdown need not wait out their wait (register its
	// closing with http.Server.RegisterOnShutdown).
	Stopping <-chan struct{}
	// Gatherer is what /metrics serves. Default nil:
	// prometheus.DefaultGatherer, where go-metrics' Prometheus sink
	// registers by default. The binary must make that sink go-metrics'
	// global sink for the scheduler's and raft's metrics to appear.
	Gatherer prometheus.Gatherer
	// Logger receives one Info line per accepted write. Default nil: no
	// logging.
	Logger *zap.Logger
}

// Defaults for the zero values of Options fields.
const (
	DefaultApplyTimeout       = 10 * time.Second
	DefaultForwardDialTimeout = 2 * time.Second
	DefaultMaxBodyBytes       = 1 << 20
)

// handler serves the endpoints; see the package documentation.
type handler struct {
	opts   Options
	token  [sha256.Size]byte
	log    *zap.Logger
	client *http.Client // forwards writes to the leader
}

// New returns the admin handler, or an error if a required option is
// missing or the token is shorter than MinTokenBytes. It starts no
// goroutines.
func New(opts Options) (http.Handler, error) {
	switch {
	case opts.Scheduler == nil || opts.Registry == nil || opts.Node == nil || opts.Raft == nil:
		return nil, errors.New("admin: Options needs Scheduler, Registry, Node and Raft")
	case len(opts.Token) < MinTokenBytes:
		return nil, fmt.Errorf("admin: Options.Token must be at least %d bytes", MinTokenBytes)
	}
	if opts.ApplyTimeout <= 0 {
		opts.ApplyTimeout = DefaultApplyTimeout
	}
	if opts.ForwardDialTimeout <= 0 {
		opts.ForwardDialTimeout = DefaultForwardDialTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxMoveWait <= 0 {
		opts.MaxMoveWait = DefaultMaxMoveWait
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.DefaultGatherer
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	h := &handler{
		opts:   opts,
		token:  sha256.Sum256([]byte(opts.Token)),
		log:    opts.Logger.Named("admin"),
		client: newForwardClient(opts.ForwardClient, opts.ForwardDialTimeout),
	}

	mux := http.NewServeMux()
	mux.Handle("GET /placement", h.read(h.getPlacement))
	mux.Handle("GET /plan", h.read(h.getPlan))
	mux.HandleFunc("GET /status", h.getStatus)
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	// Replicated state: a follower forwards these to the leader.
	mux.Handle("POST /nodes", h.replicated(h.postNode))
	mux.Handle("POST /nodes/{id}/drain", h.replicated(h.setState(placement.NodeDraining)))
	mux.Handle("POST /nodes/{id}/down", h.replicated(h.setState(placement.NodeDown)))
	mux.Handle("POST /nodes/{id}/lost", h.replicated(h.setState(placement.NodeLost)))
	mux.Handle("POST /nodes/{id}/up", h.replicated(h.setState(placement.NodeUp)))
	mux.Handle("DELETE /nodes/{id}", h.replicated(h.deleteNode))
	mux.Handle("POST /cluster/version", h.replicated(h.postClusterVersion))
	mux.Handle("POST /shards", h.replicated(h.postShards))
	mux.Handle("POST /raft/join", h.replicated(h.postJoin))
	mux.Handle("DELETE /raft/servers/{id}", h.replicated(h.deleteRaftServer))
	// Soft, per-server state: applied where received, never forwarded.
	mux.Handle("POST /stats", h.write(h.postStats))
	mux.Handle("POST /nodes/{id}/stats", h.write(h.postNodeStats))
	mux.Handle("POST /nodes/{id}/pressure", h.write(h.postPressure))
	mux.Handle("POST /pause", h.replicated(h.postPause))
	mux.Handle("POST /resume", h.replicated(h.postResume))
	mux.Handle("POST /pause/local", h.write(h.postPauseLocal))
	mux.Handle("POST /resume/local", h.write(h.postResumeLocal))
	mux.Handle("GET /policy", h.read(h.getPolicy))
	mux.Handle("PUT /policy", h.replicated(h.putPolicy))
	mux.Handle("GET /moves", h.read(h.getMoves))
	mux.Handle("POST /moves/complete", h.replicated(h.moveEnd(true)))
	mux.Handle("POST /moves/abort", h.replicated(h.moveEnd(false)))
	mux.Handle("POST /moves/progress", h.write(h.postProgress))
	mux.Handle("GET /explain/shards/{id}", h.read(h.getExplainShard))
	mux.Handle("GET /explain/nodes/{id}", h.read(h.getExplainNode))
	mux.Handle("POST /forecast", h.write(h.postForecast))
	mux.Handle("GET /journal", h.read(h.getJournal))
	return jsonErrors{mux}, nil
}

// read wraps a read of the map or the plan: the bearer token first if
// Options.TokenForReads says so.
func (h *handler) read(next http.HandlerFunc) http.Handler {
	if !h.opts.TokenForReads {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(r) {
			unauthorized(w)
			return
		}
		next(w, r)
	})
}

// unauthorized answers 401 for a missing or wrong token.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="placement-admin"`)
	writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
}

// write wraps a write endpoint: the bearer token first, then a body limit.
func (h *handler) write(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(r) {
			unauthorized(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
		next(w, r)
	})
}

// authorized compares the request's bearer token with ours in constant
// time. Both are hashed first, so the comparison also does not reveal the
// token's length.
func (h *handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], h.token[:]) == 1
}

// jsonErrors serves mux, turning the answers mux gives itself when no
// route matches (404, and 405 with its Allow header) into JSON errors.
type jsonErrors struct{ mux *http.ServeMux }

func (j jsonErrors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := j.mux.Handler(r); pattern != "" {
		j.mux.ServeHTTP(w, r)
		return
	}
	j.mux.ServeHTTP(&errorRewriter{ResponseWriter: w}, r)
}

// errorRewriter replaces an error status's text body with a JSON one. Other
// answers (a redirect to a cleaned path) pass through.
type errorRewriter struct {
	http.ResponseWriter
	rewrote bool
}

func (e *errorRewriter) WriteHeader(status int) {
	if status < 400 || e.rewrote {
		e.ResponseWriter.WriteHeader(status)
		return
	}
	e.rewrote = true
	msg := strings.ToLower(http.StatusText(status))
	switch status {
	case http.StatusNotFound:
		msg = "no such endpoint; see the package documentation for the routes"
	case http.StatusMethodNotAllowed:
		msg = "method not allowed; this path takes " + e.Header().Get("Allow")
	}
	e.Header().Del("Content-Length")
	writeError(e.ResponseWriter, status, msg)
}

func (e *errorRewriter) Write(p []byte) (int, error) {
	if e.rewrote {
		return len(p), nil // the text body, replaced
	}
	return e.ResponseWriter.Write(p)
}
