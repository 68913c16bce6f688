package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement"
	"go.uber.org/zap"
)

// joinRequest is POST /raft/join: a raft server to add as a voter.
type joinRequest struct {
	ID   raft.ServerID      `json:"id"`
	Addr raft.ServerAddress `json:"addr"`
	// Replace allows a new address for a server ID already in the
	// configuration (a server moved to another host or port).
	Replace bool `json:"replace"`
}

// raftServerBody answers POST /raft/join and DELETE /raft/servers/{id}.
type raftServerBody struct {
	ID      raft.ServerID      `json:"id"`
	Addr    raft.ServerAddress `json:"addr,omitempty"`
	Removed bool               `json:"removed,omitempty"`
}

const (
	// maxServerID bounds a joining server's ID, which raft stores in every
	// configuration entry.
	maxServerID = 128
	// maxAddr bounds an address: a 253-byte host name in brackets, a
	// colon and a port.
	maxAddr = 253 + len("[]:65535")
	// joinDialTimeout bounds the check that a joining server's raft
	// address answers.
	joinDialTimeout = 2 * time.Second
)

// postJoin adds a raft server as a voter, on the leader. It refuses an ID
// already in the configuration at another address unless the request says
// "replace": true, an address that another server ID has, and an address
// where nothing answers a TCP connection within joinDialTimeout (raft
// would add the voter and then fail to reach it, forever). The change is
// proposed against the configuration it checked (raft's prevIndex), so a
// change in between fails it with 409 rather than slipping past the checks.
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
		h.notLeader(w, r)
		return
	}
	servers, index, ok := h.configuration(w)
	if !ok {
		return
	}
	for _, s := range servers {
		switch {
		case s.ID == req.ID && s.Address != req.Addr && !req.Replace:
			writeError(w, http.StatusConflict, fmt.Sprintf(`server %s is at %s in the configuration; send "replace": true to move it to %s`,
				echo(string(s.ID)), echo(string(s.Address)), echo(string(req.Addr))))
			return
		case s.ID != req.ID && s.Address == req.Addr:
			writeError(w, http.StatusConflict, fmt.Sprintf("address %s belongs to server %s; remove that server first",
				echo(string(req.Addr)), echo(string(s.ID))))
			return
		}
	}
	if why := dialCheck(r.Context(), string(req.Addr)); why != "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("addr %s does not answer (%s); start the server before it joins",
			echo(string(req.Addr)), why))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
	defer cancel()
	f := h.opts.Raft.AddVoter(req.ID, req.Addr, index, h.opts.ApplyTimeout)
	if err := awaitFuture(ctx, f); err != nil {
		h.membershipFailed(w, r, "add voter", err)
		return
	}
	h.log.Info("added raft voter", zap.String("id", string(req.ID)), zap.String("addr", string(req.Addr)))
	writeJSON(w, http.StatusOK, raftServerBody{ID: req.ID, Addr: req.Addr})
}

// deleteRaftServer removes a server from the raft configuration, on the
// leader: 404 if it is not there, 409 if it is the last voter. Removing the
// leader itself is allowed; it steps down once the change commits.
func (h *handler) deleteRaftServer(w http.ResponseWriter, r *http.Request) {
	id := raft.ServerID(r.PathValue("id"))
	if id == "" || len(id) > maxServerID {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("a raft server ID is 1 to %d bytes", maxServerID))
		return
	}
	if leader, _ := h.opts.Node.Leader(); !leader {
		h.notLeader(w, r)
		return
	}
	servers, index, ok := h.configuration(w)
	if !ok {
		return
	}
	found, target, voters := false, raft.Server{}, 0
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if s.ID == id {
			found, target = true, s
		}
	}
	switch {
	case !found:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no raft server %s in the configuration", echo(string(id))))
		return
	case target.Suffrage == raft.Voter && voters == 1:
		writeError(w, http.StatusConflict, fmt.Sprintf("server %s is the last voter; raft needs one", echo(string(id))))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
	defer cancel()
	f := h.opts.Raft.RemoveServer(id, index, h.opts.ApplyTimeout)
	if err := awaitFuture(ctx, f); err != nil {
		h.membershipFailed(w, r, "remove server", err)
		return
	}
	h.log.Info("removed raft server", zap.String("id", string(id)), zap.String("addr", string(target.Address)))
	writeJSON(w, http.StatusOK, raftServerBody{ID: id, Removed: true})
}

// configuration returns raft's latest configuration and its index, or
// answers 503 itself.
func (h *handler) configuration(w http.ResponseWriter) ([]raft.Server, uint64, bool) {
	f := h.opts.Raft.GetConfiguration()
	if err := f.Error(); err != nil {
		h.log.Warn("reading the raft configuration failed", zap.Error(err))
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the raft configuration cannot be read now; retry")
		return nil, 0, false
	}
	return f.Configuration().Servers, f.Index(), true
}

// removed reports whether raft's latest configuration has servers but not
// this one: a server removed from the cluster, which raft no longer tells
// of a leader. An empty configuration (not bootstrapped, not joined yet),
// an unknown own ID or a configuration that cannot be read is not taken
// for removal.
func (h *handler) removed() bool {
	f := h.opts.Raft.GetConfiguration()
	if h.opts.ID == "" || f.Error() != nil {
		return false
	}
	servers := f.Configuration().Servers
	return len(servers) > 0 && !slices.ContainsFunc(servers, func(s raft.Server) bool { return s.ID == h.opts.ID })
}

// membershipFailed answers a membership change that raft did not confirm.
func (h *handler) membershipFailed(w http.ResponseWriter, r *http.Request, op string, err error) {
	err = placement.WrapRaftError(op, err)
	switch {
	case inDoubt(err): // before ErrNotLeader, which matches ErrLeadershipLost too
		outcomeUnknown(w, shortCause(err))
	case errors.Is(err, placement.ErrNotLeader):
		h.notLeader(w, r)
	case strings.Contains(err.Error(), "configuration changed since"):
		// raft's prevIndex check: another change came first.
		writeError(w, http.StatusConflict, "the raft configuration changed during the request; retry")
	default:
		h.log.Warn("raft membership change failed", zap.String("op", op), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "raft refused the change; see this server's log")
	}
}

// checkHostPort accepts "host:port" with a non-empty host and a port in
// 1..65535; raft dials the address as given.
func checkHostPort(addr string) error {
	if len(addr) > maxAddr {
		return fmt.Errorf("longer than %d bytes", maxAddr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s is not host:port", echo(addr))
	}
	if host == "" {
		return fmt.Errorf("%s has no host", echo(addr))
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%s: port must be 1 to 65535", echo(addr))
	}
	return nil
}

// dialCheck connects to addr over TCP and hangs up, and returns why it
// could not ("" if it could). Raft's transport ignores a connection that
// ends before its first message.
func dialCheck(ctx context.Context, addr string) string {
	d := net.Dialer{Timeout: joinDialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = c.Close()
		return ""
	}
	return dialFailure(err, fmt.Sprintf("no answer within %v", joinDialTimeout))
}

// dialFailure says in a few words why a dial failed; timedOut is the words
// for a dial that time ended.
func dialFailure(err error, timedOut string) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		return "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return timedOut
	}
	return "cannot connect"
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
