package admin_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestBodiesAreStrict(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	requireRejected(t, e, []badRequest{
		{name: "key in another case", path: "/nodes", body: `{"ID": 4}`, status: http.StatusBadRequest, want: `unknown field "ID" (names are case-sensitive)`},
		{name: "key in title case", path: "/cluster/version", body: `{"Version": 2}`, status: http.StatusBadRequest, want: `unknown field "Version"`},
		{name: "nested key in another case", path: "/shards", body: `{"shards": [{"start": "", "Node": 1}]}`, status: http.StatusBadRequest, want: `unknown field "Node" in "shards[0]"`},
		{name: "stats key in another case", path: "/stats", body: `{"stats": [{"shard": 1, "Keys": 1}]}`, status: http.StatusBadRequest, want: `unknown field "Keys" in "stats[0]"`},
		{name: "join key in another case", path: "/raft/join", body: `{"Id": "s4", "addr": "127.0.0.1:7004"}`, status: http.StatusBadRequest, want: `unknown field "Id"`},
		{name: "duplicate key", path: "/nodes", body: `{"id": 4, "id": 5}`, status: http.StatusBadRequest, want: `duplicate field "id"`},
		{name: "duplicate nested key", path: "/shards", body: `{"shards": [{"node": 1, "node": 2}]}`, status: http.StatusBadRequest, want: `duplicate field "shards[0].node"`},
		{name: "null body", path: "/nodes", body: `null`, status: http.StatusBadRequest, want: "want an object, got null"},
		{name: "null id", path: "/nodes", body: `{"id": null}`, status: http.StatusBadRequest, want: `field "id": want a node ID`},
		{name: "fraction", path: "/nodes", body: `{"id": 4.0}`, status: http.StatusBadRequest, want: `field "id": want a node ID (node IDs run from 1 to 18446744073709551615`},
		{name: "exponent", path: "/nodes", body: `{"id": 4e0}`, status: http.StatusBadRequest, want: `field "id": want a node ID`},
		{name: "leading zero", path: "/nodes", body: `{"id": 04}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "hex", path: "/nodes", body: `{"id": 0x4}`, status: http.StatusBadRequest, want: "malformed JSON"},
		{name: "trailing garbage", path: "/nodes", body: `{"id": 4}x`, status: http.StatusBadRequest, want: "trailing data"},
		{name: "an array", path: "/shards", body: `{"shards": {"start": ""}}`, status: http.StatusBadRequest, want: `field "shards": want an array, got an object`},
		{name: "bad base64 in a list", path: "/shards", body: `{"shards": [{"start": "", "end": "YQ==", "node": 1}, {"start": "YQ=", "node": 1}]}`, status: http.StatusBadRequest, want: `field "shards[1].start": not standard base64`},
		{name: "base64 with bits set", path: "/shards", body: `{"shards": [{"start": "YR==", "node": 1}]}`, status: http.StatusBadRequest, want: "not standard base64"},
		{name: "replace not a boolean", path: "/raft/join", body: `{"id": "s4", "addr": "127.0.0.1:7004", "replace": "yes"}`, status: http.StatusBadRequest, want: `field "replace": want true or false, got a string`},
		{name: "unterminated", path: "/nodes", body: `{"id": 4`, status: http.StatusBadRequest, want: "ends early"},
	})
}

func TestIDsCreatedAreBelow2To63(t *testing.T) {
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "2^64-1", path: "/nodes", body: `{"id": 18446744073709551615}`, status: http.StatusBadRequest, want: "reserved"},
		{name: "2^63", path: "/nodes", body: `{"id": 9223372036854775808}`, status: http.StatusBadRequest, want: "reserved"},
		{name: "shard 2^64-1", path: "/shards", body: `{"shards": [{"id": 18446744073709551615, "start": "", "node": 1}]}`, status: http.StatusBadRequest, want: "reserved"},
		{name: "stats for shard 0", path: "/stats", body: `{"stats": [{"shard": 0, "keys": 1}]}`, status: http.StatusBadRequest, want: "stats[0]: shard must be"},
	})
	decode(t, e.post("/nodes", `{"id": 9223372036854775807}`), http.StatusCreated, &struct{}{})
	decode(t, e.post("/nodes/9223372036854775807/drain", ""), http.StatusOK, &struct{}{})
	decode(t, e.do(http.MethodDelete, "/nodes/9223372036854775807", "", "Bearer "+token), http.StatusOK, &struct{}{})
	// A node that exists with a reserved ID (added before the rule) can
	// still be named in a path.
	requireError(t, e.post("/nodes/18446744073709551615/drain", ""), http.StatusNotFound, "unknown node")
}

// TestErrorsEchoLittleInput sends inputs far longer than 64 bytes to every
// place an error may mention them, and requires short messages that repeat
// at most 64 bytes of any of them and name no Go type.
func TestErrorsEchoLittleInput(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	long := strings.Repeat("k", 600<<10) // a 600 KB key
	long64 := base64.StdEncoding.EncodeToString([]byte(long))
	half64 := base64.StdEncoding.EncodeToString([]byte(long[:300<<10]))
	longID := strings.Repeat("9", 5000)
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{name: "overlapping shard with a long key", path: "/shards",
			body: `{"shards": [{"start": "` + long64 + `", "node": 1}]}`, status: http.StatusConflict},
		{name: "empty range with long keys", path: "/shards",
			body: `{"shards": [{"start": "` + half64 + `", "end": "` + half64 + `", "node": 1}]}`, status: http.StatusBadRequest},
		{name: "split key outside with a long key", path: "/stats",
			body: `{"stats": [{"shard": 1, "split_key": "` + long64 + `"}]}`, status: http.StatusBadRequest},
		{name: "long unknown field", path: "/nodes", body: `{"` + long + `": 1}`, status: http.StatusBadRequest},
		{name: "long number", path: "/nodes", body: `{"id": ` + longID + `}`, status: http.StatusBadRequest},
		{name: "long string for a number", path: "/nodes", body: `{"id": "` + long + `"}`, status: http.StatusBadRequest},
		{name: "long path ID", path: "/nodes/" + longID + "/drain", status: http.StatusBadRequest},
		{name: "long join addr", path: "/raft/join", body: `{"id": "s4", "addr": "` + long + `:1"}`, status: http.StatusBadRequest},
		{name: "join addr without port", path: "/raft/join", body: `{"id": "s4", "addr": "` + strings.Repeat("h", 200) + `"}`, status: http.StatusBadRequest},
		{name: "long raft server ID", method: http.MethodDelete, path: "/raft/servers/" + strings.Repeat("s", 100), status: http.StatusNotFound},
		{name: "a string for a list", path: "/shards", body: `{"shards": "` + long + `"}`, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(method(tt.method), tt.path, tt.body, "Bearer "+token)
			var body struct{ Error string }
			decode(t, rec, tt.status, &body)
			if len(body.Error) > 300 {
				t.Errorf("a %d-byte message: %.400s", len(body.Error), body.Error)
			}
			for _, run := range []string{"k", "9", "s", "h"} {
				if strings.Contains(body.Error, strings.Repeat(run, 65)) {
					t.Errorf("more than 64 bytes of input repeated: %.400s", body.Error)
				}
			}
			if strings.Contains(body.Error, "Go ") || strings.Contains(body.Error, "json:") || strings.Contains(body.Error, "uint64") ||
				strings.Contains(body.Error, "admin.") || strings.Contains(body.Error, "struct") {
				t.Errorf("message names Go: %s", body.Error)
			}
			t.Log(body.Error)
		})
	}
}

func TestTypeErrorsNameNoGoTypes(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		`{"id": "4"}`, `{"id": -1}`, `{"id": 18446744073709551616}`, `{"id": true}`, `{"id": [4]}`, `{"id": {"n": 4}}`,
	} {
		t.Run(body, func(t *testing.T) {
			var got struct{ Error string }
			decode(t, e.post("/nodes", body), http.StatusBadRequest, &got)
			want := `malformed JSON: field "id": want a node ID (node IDs run from 1 to 18446744073709551615`
			if !strings.HasPrefix(got.Error, want) || strings.Contains(got.Error, "NodeID") || strings.Contains(got.Error, "uint64") {
				t.Errorf("error %q, want %q and no Go type", got.Error, want)
			}
		})
	}
	var got struct{ Error string }
	decode(t, e.post("/raft/join", `{"id": 4, "addr": "127.0.0.1:1"}`), http.StatusBadRequest, &got)
	if got.Error != `malformed JSON: field "id": want a string, got a number` {
		t.Errorf("error %q", got.Error)
	}
	decode(t, e.post("/stats", `{"stats": [{"shard": 1, "load": "high"}]}`), http.StatusBadRequest, &got)
	if got.Error != `malformed JSON: field "stats[0].load": want a number, got a string` {
		t.Errorf("error %q", got.Error)
	}
}

func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{method: http.MethodGet, path: "/nope", status: http.StatusNotFound},
		{method: http.MethodPost, path: "/nodes/2/sideways", status: http.StatusNotFound},
		{method: http.MethodGet, path: "/" + strings.Repeat("x", 1000), status: http.StatusNotFound},
		{method: http.MethodGet, path: "/nodes", status: http.StatusMethodNotAllowed, allow: "POST"},
		{method: http.MethodPost, path: "/placement", status: http.StatusMethodNotAllowed, allow: "GET, HEAD"},
		{method: http.MethodGet, path: "/nodes/2", status: http.StatusMethodNotAllowed, allow: "DELETE"},
		{method: http.MethodPut, path: "/raft/join", status: http.StatusMethodNotAllowed, allow: "POST"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %.20s", tt.method, tt.path), func(t *testing.T) {
			rec := e.do(tt.method, tt.path, "", "Bearer "+token)
			var body struct{ Error string }
			decode(t, rec, tt.status, &body)
			if body.Error == "" || len(body.Error) > 100 {
				t.Errorf("error %q", body.Error)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if tt.allow != "" && !strings.Contains(body.Error, tt.allow) {
				t.Errorf("error %q does not name the methods allowed", body.Error)
			}
		})
	}
}

func TestBinaryKeysEchoShort(t *testing.T) {
	e := newEnv(t)
	e.seedShards(t)
	key := base64.StdEncoding.EncodeToString(make([]byte, 4096)) // 4096 zero bytes: \x00 each
	var got struct{ Error string }
	decode(t, e.post("/shards", `{"shards": [{"start": "`+key+`", "node": 9}]}`), http.StatusNotFound, &got)
	want := `shards[0]: create-shard 0 ["` + strings.Repeat(`\x00`, 16) + `"…, +inf) on node 9: unknown node`
	if got.Error != want {
		t.Errorf("error\n%s\nwant\n%s", got.Error, want)
	}
}

// Every message about a node ID, in a path or a body, states the same
// range.
func TestNodeIDRangeStatedOnce(t *testing.T) {
	const rule = "node IDs run from 1 to 18446744073709551615; a new node's is at most 9223372036854775807 (2^63-1), larger ones are reserved"
	e := newEnv(t)
	requireRejected(t, e, []badRequest{
		{name: "new id zero", path: "/nodes", body: `{"id": 0}`, status: http.StatusBadRequest, want: rule},
		{name: "new id reserved", path: "/nodes", body: `{"id": 9223372036854775808}`, status: http.StatusBadRequest, want: rule},
		{name: "new id negative", path: "/nodes", body: `{"id": -1}`, status: http.StatusBadRequest, want: rule},
		{name: "new id too large", path: "/nodes", body: `{"id": 18446744073709551616}`, status: http.StatusBadRequest, want: rule},
		{name: "path id zero", path: "/nodes/0/drain", status: http.StatusBadRequest, want: rule},
		{name: "path id too large", path: "/nodes/18446744073709551616/drain", status: http.StatusBadRequest, want: rule},
		{name: "shard's node zero", path: "/shards", body: `{"shards": [{"start": "", "node": 0}]}`, status: http.StatusBadRequest, want: rule},
		{name: "shard's node negative", path: "/shards", body: `{"shards": [{"start": "", "node": -1}]}`, status: http.StatusBadRequest, want: rule},
	})
}
