package admin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ukehi/placement/admin/internal/wire"
	"go.uber.org/zap"
)

// ForwardedHeader marks a write that a follower forwarded to the leader;
// its value is the follower's raft ID. A write that carries it is never
// forwarded again: a server that does not lead answers it with 421 (or 503
// while no leader is known), as it answers a write when forwarding is off.
const ForwardedHeader = wire.ForwardedBy

// ForwardedToHeader is set on the answer to a forwarded write: the raft ID
// of the leader whose answer it is.
const ForwardedToHeader = wire.ForwardedTo

// maxAnswerBytes bounds a leader's answer that a follower relays.
const maxAnswerBytes = 1 << 20

// relayedHeaders are the headers of the leader's answer that a follower
// passes on with its status and body.
var relayedHeaders = []string{
	"Content-Type", "Retry-After", "Allow", "WWW-Authenticate",
	"X-Placement-Leader-Id", wire.LeaderAdmin,
}

// bodyKey keys the buffered body of a write that may be forwarded.
type bodyKey struct{}

// bufferedBody returns the body that replicated read, if r went through it.
func bufferedBody(r *http.Request) ([]byte, bool) {
	data, ok := r.Context().Value(bodyKey{}).([]byte)
	return data, ok
}

// replicated wraps a write of replicated state: write's checks, then the
// body read whole (within Options.MaxBodyBytes), so that a server that
// turns out not to lead can send it on to the leader.
func (h *handler) replicated(next http.HandlerFunc) http.Handler {
	return h.write(func(w http.ResponseWriter, r *http.Request) {
		data, ok := readBody(w, r)
		if !ok {
			return
		}
		if data == nil {
			data = []byte{}
		}
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, data))
		r.Body = io.NopCloser(bytes.NewReader(data))
		next(w, r)
	})
}

// newForwardClient returns the client that forwards writes: base's
// settings if given, else a transport of its own that dials within
// dialTimeout, without keep-alives (a write is rare; no idle connection to
// a past leader lingers) and without a proxy (admin peers are
// cluster-internal). It never follows a redirect, so a token goes to no
// address but the leader's admin URL.
func newForwardClient(base *http.Client, dialTimeout time.Duration) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: dialTimeout}).DialContext
		t.DisableKeepAlives = true
		t.Proxy = nil
		c.Transport = t
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// forward sends a write to the leader's admin endpoint at base, with the
// same method, path, query, body, Authorization and Content-Type, marked
// with ForwardedHeader, and answers with the leader's answer: its status,
// its JSON body and the headers in relayedHeaders. It waits at most
// Options.ApplyTimeout. A leader that cannot be reached did not get the
// write (503, retry); a leader whose answer does not come back in time may
// have applied it (503, outcome unknown). A 421 from the server it took
// for the leader means that server did not lead when the write arrived, so
// it did not propose it: when retry is set and raft now names another
// leader, the write goes there instead, once.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, leader raft.ServerID, base string, body []byte, retry bool) {
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ApplyTimeout)
	defer cancel()
	target := strings.TrimRight(base, "/") + r.URL.RequestURI()
	req, err := http.NewRequestWithContext(ctx, r.Method, target, bytes.NewReader(body))
	if err != nil {
		h.log.Warn("the leader's admin URL is not usable", zap.String("leader", string(leader)), zap.String("url", base))
		writeError(w, http.StatusBadGateway, fmt.Sprintf("the admin URL of the leader, server %s, is not usable", echo(string(leader))))
		return
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	by := string(h.opts.ID)
	if by == "" {
		by = "unknown"
	}
	req.Header.Set(ForwardedHeader, by)

	// Until the client has a connection, nothing was sent: every failure
	// before then (a dial refused, timed out, unroutable, a name not
	// found) leaves the write unsent, whatever error reports it.
	var connected atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	}))
	resp, err := h.client.Do(req)
	if err != nil {
		if !connected.Load() {
			h.log.Info("the leader cannot be reached", zap.String("leader", string(leader)), zap.Error(err))
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the leader, server %s, cannot be reached; the write was not sent (%s); retry",
				echo(string(leader)), dialFailure(err, "no connection in time")))
			return
		}
		h.log.Warn("forwarding a write to the leader failed", zap.String("leader", string(leader)), zap.Error(err))
		if ctx.Err() != nil {
			outcomeUnknown(w, "the leader did not answer within the apply timeout")
		} else {
			outcomeUnknown(w, "the connection to the leader failed")
		}
		return
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case err != nil:
		outcomeUnknown(w, "the leader's answer was cut short")
		return
	case len(data) > maxAnswerBytes:
		writeError(w, http.StatusBadGateway, "the leader's answer is too large to relay")
		return
	case mediaType != "application/json":
		writeError(w, http.StatusBadGateway, fmt.Sprintf("the leader, server %s, answered %d without a JSON body",
			echo(string(leader)), resp.StatusCode))
		return
	}
	if resp.StatusCode == http.StatusMisdirectedRequest && retry {
		if _, next := h.opts.Raft.LeaderWithID(); next != "" && next != leader && next != h.opts.ID && h.opts.AdminURL != nil {
			if nextBase := h.opts.AdminURL(next); nextBase != "" {
				h.log.Info("the leader changed while a write was forwarded; forwarding it to the new one",
					zap.String("was", string(leader)), zap.String("now", string(next)))
				h.forward(w, r, next, nextBase, body, false)
				return
			}
		}
	}
	for _, k := range relayedHeaders {
		for _, v := range resp.Header.Values(k) {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(ForwardedToHeader, string(leader))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
	h.log.Info("forwarded a write to the leader", zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.String("leader", string(leader)), zap.Int("status", resp.StatusCode))
}
