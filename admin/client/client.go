package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/ukehi/placement/admin/internal/wire"
	"go.uber.org/zap"
)

// Config configures a Client. Servers and Token are required.
type Config struct {
	// Servers are the admin base URLs of the raft servers, such as
	// "http://10.0.0.1:8001". Any of them takes any call; the client
	// prefers the one that last answered. The token is sent to these
	// URLs only.
	Servers []string
	// Token is the admin API's bearer token.
	Token string
	// HTTPClient sends the requests. Default nil: a client of its own
	// that dials within 2s and follows no redirect. Its Timeout, if any,
	// must exceed WatchWait, or long polls fail.
	HTTPClient *http.Client
	// Logger receives a Debug line per retry and a Warn line per failed
	// heartbeat. Default nil: no logging.
	Logger *zap.Logger
	// Attempts bounds the tries of one call, across servers. Default
	// (zero) 10.
	Attempts int
	// Backoff is the wait before the second try; it doubles with each
	// try up to MaxBackoff. Defaults (zero) 50ms and 2s.
	Backoff, MaxBackoff time.Duration
	// RequestTimeout bounds one try (a long poll gets WatchWait on top).
	// Default (zero) 15s, above the server's 10s default ApplyTimeout.
	RequestTimeout time.Duration
	// WatchWait is how long WatchMoves asks a server to wait for a
	// change. The server cuts it to its own cap (25s by default).
	// Default (zero) 20s.
	WatchWait time.Duration
	// StatsBatch is the most shards one POST /stats carries. Default
	// (zero) 1000.
	StatsBatch int
}

// Defaults for the zero values of Config's fields.
const (
	DefaultAttempts       = 10
	DefaultBackoff        = 50 * time.Millisecond
	DefaultMaxBackoff     = 2 * time.Second
	DefaultRequestTimeout = 15 * time.Second
	DefaultWatchWait      = 20 * time.Second
	DefaultStatsBatch     = 1000
)

// Errors the client returns besides *Error. Each is matched with
// errors.Is.
var (
	// ErrInvalidConfig is returned by New for a Config it cannot use.
	ErrInvalidConfig = errors.New("client: invalid config")
	// ErrOutcomeUnknown is wrapped by the error of a write that may have
	// applied: the server answered 503 with "outcome": "unknown", or the
	// connection failed after the request was sent. Look before retrying.
	// CompleteTransfer and AbortTransfer never return it: they retry.
	ErrOutcomeUnknown = errors.New("client: outcome unknown, the write may have applied")
	// ErrUnavailable is wrapped when every try failed without a definite
	// answer (no server reachable, no leader, each try in doubt); the
	// last try's failure is wrapped too.
	ErrUnavailable = errors.New("client: no server answered")
)

// Error is a server's error answer.
type Error struct {
	// Server is the admin URL that answered, Method and Path the request.
	Server, Method, Path string
	// Status is the HTTP status.
	Status int
	// Message is the server's "error".
	Message string
	// Code is the rejection's code ("stale-epoch", ...), if any.
	Code string
	// Outcome is "unknown" for a write that may still apply.
	Outcome string
}

// Error describes the answer: the request, the server, the status and
// the server's message.
func (e *Error) Error() string {
	return fmt.Sprintf("client: %s %s at %s: %d: %s", e.Method, e.Path, e.Server, e.Status, e.Message)
}

// Unwrap returns the placement sentinel that Code names (each wraps
// placement.ErrRejected), or ErrOutcomeUnknown for an unknown outcome.
func (e *Error) Unwrap() error {
	switch {
	case e.Outcome == wire.OutcomeUnknown:
		return ErrOutcomeUnknown
	case e.Code == "":
		return nil
	}
	if err := wire.Rejected(e.Code); err != nil {
		return err
	}
	return wire.Rejected(wire.RejectedCode) // a code newer than this client: still a rejection
}

// Client calls the admin API of a placement cluster; see the package
// documentation. It is safe for concurrent use and starts no goroutines
// of its own but within a call.
type Client struct {
	cfg     Config
	servers []string
	http    *http.Client
	log     *zap.Logger

	mu        sync.Mutex
	preferred int // the server that last answered
}

// New returns a client, or an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 || cfg.Token == "" {
		return nil, fmt.Errorf("%w: Servers and Token are required", ErrInvalidConfig)
	}
	servers := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			return nil, fmt.Errorf("%w: server %q is not an http(s) URL", ErrInvalidConfig, s)
		}
		servers[i] = strings.TrimRight(s, "/")
	}
	defaults(&cfg.Attempts, DefaultAttempts)
	defaults(&cfg.Backoff, DefaultBackoff)
	defaults(&cfg.MaxBackoff, DefaultMaxBackoff)
	defaults(&cfg.RequestTimeout, DefaultRequestTimeout)
	defaults(&cfg.WatchWait, DefaultWatchWait)
	defaults(&cfg.StatsBatch, DefaultStatsBatch)
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 2 * time.Second}).DialContext
		hc = &http.Client{Transport: t}
	}
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{cfg: cfg, servers: servers, http: &noRedirects, log: cfg.Logger.Named("placement-client")}, nil
}

// defaults sets *v to d when it is zero or negative.
func defaults[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// CloseIdleConnections closes the idle connections of the HTTP client.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// kind says which failures a call may retry.
type kind int

const (
	// read is retried after any failure.
	read kind = iota
	// write is retried only when the server did not propose it: no
	// connection, 421, 410, 503 without "outcome".
	write
	// idempotent is a write whose retry after it applied answers as the
	// first did: retried after an unknown outcome too.
	idempotent
)

// call is one API call.
type call struct {
	method, path string
	body         any // JSON-encoded; nil: no body
	kind         kind
	wait         time.Duration // a long poll's wait, on top of RequestTimeout
}

// answer is a server's answer to one try.
type answer struct {
	server string
	status int
	header http.Header
	body   []byte
}

// do makes call cl, with retries as its kind allows, and decodes a 2xx
// answer's JSON body into out (unless nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	body, err := encode(cl.body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	server := c.preferred
	c.mu.Unlock()
	var last error
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		ans, sent, err := c.try(ctx, c.servers[server], cl, body)
		if ctx.Err() != nil {
			if sent && cl.kind == write {
				return fmt.Errorf("%w: %s %s: %w", ErrOutcomeUnknown, cl.method, cl.path, ctx.Err())
			}
			return fmt.Errorf("client: %s %s: %w", cl.method, cl.path, ctx.Err())
		}
		v := c.judge(cl, server, ans, sent, err)
		if v.done {
			if ans != nil {
				c.remember(server)
			}
			if v.err != nil {
				return v.err
			}
			return decodeAnswer(ans, out)
		}
		last = c.failure(cl, c.servers[server], ans, err)
		c.log.Debug("retrying", zap.String("method", cl.method), zap.String("path", cl.path),
			zap.String("server", c.servers[server]), zap.Error(last))
		server = v.next
		if !v.hinted && attempt+1 < c.cfg.Attempts {
			if err := sleep(ctx, c.backoff(attempt)); err != nil {
				return fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
			}
		}
	}
	return fmt.Errorf("%w: %s %s after %d tries: %w", ErrUnavailable, cl.method, cl.path, c.cfg.Attempts, last)
}

// verdict is what a try's result means for its call: done, with the
// answer or err; or try server next (named by a 421 when hinted).
type verdict struct {
	done   bool
	err    error
	next   int
	hinted bool
}

// judge returns the verdict on a try of cl at server.
func (c *Client) judge(cl call, server int, ans *answer, sent bool, err error) verdict {
	next := verdict{next: (server + 1) % len(c.servers)}
	if ans == nil { // no answer: err is the transport's
		if sent && cl.kind == write {
			return verdict{done: true, err: fmt.Errorf("%w: %s %s at %s: %w", ErrOutcomeUnknown, cl.method, cl.path, c.servers[server], err)}
		}
		return next
	}
	switch e := errorOf(ans, cl); {
	case ans.status == http.StatusMisdirectedRequest:
		if i := c.index(ans.header.Get(wire.LeaderAdmin)); i >= 0 && i != server {
			return verdict{next: i, hinted: true}
		}
		return next
	case ans.status == http.StatusGone,
		ans.status == http.StatusServiceUnavailable && e.Outcome == "":
		return next
	case e != nil && e.Outcome == wire.OutcomeUnknown && cl.kind == write:
		return verdict{done: true, err: e}
	case ans.status >= 500 && cl.kind != write:
		return next
	case e != nil:
		return verdict{done: true, err: e}
	}
	return verdict{done: true}
}

// failure describes a try that will be retried.
func (c *Client) failure(cl call, server string, ans *answer, err error) error {
	if ans == nil {
		return fmt.Errorf("%s %s at %s: %w", cl.method, cl.path, server, err)
	}
	if e := errorOf(ans, cl); e != nil {
		return e
	}
	return fmt.Errorf("%s %s at %s: status %d", cl.method, cl.path, server, ans.status)
}

// try sends cl's request to server once. sent reports whether the request
// was written whole, after which a write may have reached the log.
func (c *Client) try(ctx context.Context, server string, cl call, body []byte) (_ *answer, sent bool, _ error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout+cl.wait)
	defer cancel()
	var wrote bool
	var mu sync.Mutex
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			mu.Lock()
			wrote = wrote || i.Err == nil
			mu.Unlock()
		},
	})
	wasSent := func() bool { mu.Lock(); defer mu.Unlock(); return wrote }
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, server+cl.path, rd)
	if err != nil {
		return nil, false, err
	}
	// A write goes on a connection of its own: on a kept-alive one that
	// the server is closing as idle, a request can be written and then
	// lost, and the write would read as in doubt though never taken.
	req.Close = cl.kind != read
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, wasSent(), err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, true, fmt.Errorf("reading the answer: %w", err)
	}
	return &answer{server: server, status: resp.StatusCode, header: resp.Header, body: data}, true, nil
}

// errorOf returns the *Error of a non-2xx answer, nil for a 2xx.
func errorOf(ans *answer, cl call) *Error {
	if ans.status/100 == 2 {
		return nil
	}
	var body struct {
		Error   string `json:"error"`
		Code    string `json:"code"`
		Outcome string `json:"outcome"`
	}
	if json.Unmarshal(ans.body, &body) != nil || body.Error == "" {
		body.Error = strings.TrimSpace(string(ans.body[:min(len(ans.body), 200)]))
	}
	return &Error{Server: ans.server, Method: cl.method, Path: cl.path, Status: ans.status,
		Message: body.Error, Code: body.Code, Outcome: body.Outcome}
}

// decodeAnswer decodes a 2xx answer's body into out.
func decodeAnswer(ans *answer, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans.body, out); err != nil {
		return fmt.Errorf("client: the answer of %s is not the expected JSON: %w", ans.server, err)
	}
	return nil
}

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encoding the request: %w", err)
	}
	return data, nil
}

// remember makes server the one the next call tries first.
func (c *Client) remember(server int) {
	c.mu.Lock()
	c.preferred = server
	c.mu.Unlock()
}

// index returns the index of the configured server at url, or -1.
func (c *Client) index(url string) int {
	url = strings.TrimRight(url, "/")
	for i, s := range c.servers {
		if url != "" && s == url {
			return i
		}
	}
	return -1
}

// backoff is the wait after try attempt (0 the first) failed.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Backoff
	for range attempt {
		if d >= c.cfg.MaxBackoff {
			break
		}
		d *= 2
	}
	return min(d, c.cfg.MaxBackoff)
}

// sleep waits d or until ctx ends, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
