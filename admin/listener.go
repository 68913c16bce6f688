package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
)

// Listener wraps ln, a plain TCP listener for an http.Server that serves
// the admin handler, so that the errors net/http answers itself, before
// any handler runs, are JSON like the handler's: 431 for a request header
// over http.Server.MaxHeaderBytes, 400 for a malformed request, 501 for an
// unknown transfer encoding.
//
// net/http writes those answers in text, each in one write of a fixed shape
// straight to the connection (a status line; Content-Type text/plain and
// Connection: close, in that order and alone; the text), and then closes
// it. The wrapped connection recognizes that shape, which no handler's
// answer has (net/http adds a Date header to those), and writes the same
// status with {"error": "..."} instead. Should a Go release change the
// shape, those answers stay text; this package's tests would notice.
//
// Not for TLS: net/http reads TLS state from the connection, which the
// wrapper would hide. Wrapping the plain listener under tls.NewListener
// does no harm, but changes nothing either.
func Listener(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// jsonErrorConn rewrites net/http's own text error answers; see Listener.
type jsonErrorConn struct{ net.Conn }

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	out, ok := rewriteServerError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite half-closes the connection if it can: net/http does so after
// a 431, so that the client reads the answer rather than a reset.
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// serverErrorHeaders are the headers of net/http's own error answers.
const serverErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// rewriteServerError returns p, if it is one of net/http's own error
// answers, with a JSON body.
func rewriteServerError(p []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(proto)) {
		return nil, false
	}
	statusLine, text, ok := bytes.Cut(p, []byte(serverErrorHeaders))
	if !ok || bytes.ContainsAny(statusLine, "\r\n") || bytes.ContainsAny(text, "\r\n") || len(statusLine) < len(proto)+3 {
		return nil, false
	}
	code, err := strconv.Atoi(string(statusLine[len(proto) : len(proto)+3]))
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	// The text is "431 Request Header Fields Too Large", or "400 Bad
	// Request: missing required Host header": net/http's own words.
	msg := string(bytes.ToLower(bytes.TrimPrefix(text, statusLine[len(proto):len(proto)+4])))
	if len(msg) > 2*maxEcho {
		msg = msg[:2*maxEcho] + "…"
	}
	body, err := json.Marshal(errorBody{Error: msg})
	if err != nil {
		return nil, false
	}
	body = append(body, '\n')
	var out bytes.Buffer
	out.Write(statusLine)
	fmt.Fprintf(&out, "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", len(body))
	out.Write(body)
	return out.Bytes(), true
}
