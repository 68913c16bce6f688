package admin_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ukehi/placement/admin"
)

// requireNotSent checks the answer to a write whose forward never reached
// the leader: 503 with Retry-After, "not sent" and why (want), and no
// outcome in doubt.
func requireNotSent(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	var body struct{ Error, Outcome string }
	decode(t, rec, http.StatusServiceUnavailable, &body)
	if !strings.Contains(body.Error, "cannot be reached; the write was not sent") || !strings.Contains(body.Error, want) ||
		body.Outcome != "" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("answer %+v, Retry-After %q; want not sent, %q", body, rec.Header().Get("Retry-After"), want)
	}
}

// A dial that ends because time ran out sent nothing, like a refused one:
// the forward says so rather than "outcome unknown". The transport's dial
// here hangs until its context ends, as a dial to a host that drops SYNs
// does, so the apply timeout ends the request. (net/http lets a dial go on
// after its request ends, for the next one: the test ends it last.)
func TestForwardDialEndedByTheTimeoutIsNotSent(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
				return nil, errors.New("the test ended")
			}
		},
	}}
	follower := newFollower(t, "http://leader.invalid:1", func(o *admin.Options) {
		o.ForwardClient = hang
		o.ApplyTimeout = 100 * time.Millisecond
	})
	requireNotSent(t, follower.post("/nodes", `{"id": 7}`), "no connection")
}

// Every dial failure is "not sent", whatever it was: refused, a host not
// found, a dial error of any other kind.
func TestForwardDialFailuresAreNotSent(t *testing.T) {
	for name, dialErr := range map[string]error{
		"refused":   &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")},
		"not found": &net.DNSError{Err: "no such host", Name: "leader.invalid", IsNotFound: true},
		"other":     errors.New("no route to host"),
	} {
		t.Run(name, func(t *testing.T) {
			failing := &http.Client{Transport: &http.Transport{
				DialContext: func(context.Context, string, string) (net.Conn, error) { return nil, dialErr },
			}}
			follower := newFollower(t, "http://leader.invalid:1", func(o *admin.Options) { o.ForwardClient = failing })
			requireNotSent(t, follower.post("/nodes", `{"id": 7}`), "")
		})
	}
}

// The default client dials with Options.ForwardDialTimeout, well short of
// the apply timeout: a leader whose address answers nothing is reported
// unreachable once the dial timeout ends, not after the apply timeout.
// 192.0.2.1 (TEST-NET-1) is never routed: the dial hangs or fails at once.
func TestForwardDialTimeout(t *testing.T) {
	follower := newFollower(t, "http://192.0.2.1:9", func(o *admin.Options) {
		o.ForwardDialTimeout = 50 * time.Millisecond
		o.ApplyTimeout = time.Minute
	})
	answered := make(chan *httptest.ResponseRecorder, 1)
	go func() { answered <- follower.post("/nodes", `{"id": 7}`) }()
	select {
	case rec := <-answered:
		requireNotSent(t, rec, "")
	case <-time.After(30 * time.Second):
		t.Fatal("the forward waited for the apply timeout, not the dial timeout")
	}
}
