package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ukehi/placement"
)

// Every refusal of PUT /policy names the field at fault by its JSON name
// (policy.move_timeout, max_actions_per_tick), says what is wrong with it,
// and changes nothing.
func TestPutPolicyErrorsNameTheField(t *testing.T) {
	e := newEnv(t)
	e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion})
	long := strings.Repeat("x", 300)
	tests := []struct {
		name, from, to, want string
	}{
		{name: "move timeout of 1ns", from: `"move_timeout":"10m0s"`, to: `"move_timeout":"1ns"`,
			want: "policy.move_timeout: 1ns is below the minimum 1s"},
		{name: "copy rate under 1 MiB/s", from: `"min_copy_rate":10485760`, to: `"min_copy_rate":1000`,
			want: "policy.min_copy_rate: 1000 bytes/s is below the minimum 1048576 (1 MiB/s)"},
		{name: "down timeout under a second", from: `"down_timeout":"0s"`, to: `"down_timeout":"500ms"`,
			want: "policy.down_timeout: 500ms is below the minimum 1s"},
		{name: "move timeout not a duration", from: `"move_timeout":"10m0s"`, to: `"move_timeout":"soon"`,
			want: `policy.move_timeout: want a duration such as "10m0s"`},
		{name: "stop band above the threshold", from: `"stop_band":0.05`, to: `"stop_band":0.9`,
			want: "policy.stop_band: 0.9 above imbalance_threshold 0.2"},
		{name: "merge keys not below split keys", from: `"merge_keys":1000`, to: `"merge_keys":100000`,
			want: "policy.merge_keys: 100000 not below split_keys 100000"},
		{name: "stop band of the wrong kind", from: `"stop_band":0.05`, to: `"stop_band":"x"`,
			want: "policy.stop_band: want a number"},
		{name: "negative embargo", from: `"merge_embargo":3`, to: `"merge_embargo":-3`,
			want: "policy.merge_embargo: want an integer from 0 to 4294967295"},
		{name: "policy field missing", from: `"stop_band":0.05,`, to: ``,
			want: "policy.stop_band: missing"},
		{name: "policy field unknown", from: `"stop_band":0.05`, to: `"stop_band":0.05,"stopband":1`,
			want: `policy: unknown field "stopband"`},
		{name: "policy field of the wrong case", from: `"stop_band"`, to: `"Stop_Band"`,
			want: `policy: unknown field "Stop_Band"`},
		{name: "policy field unknown and long", from: `"stop_band":0.05`, to: `"stop_band":0.05,"` + long + `":1`,
			want: `policy: unknown field "xxxxxxxx`},
		{name: "policy field twice", from: `"stop_band":0.05`, to: `"stop_band":0.05,"stop_band":0.05`,
			want: `policy: duplicate field "stop_band"`},
		{name: "policy missing", from: `"policy":`, to: `"policy_":`,
			want: `unknown field "policy_"`},
		{name: "actions missing", from: `,"max_actions_per_tick":3`, to: ``,
			want: "max_actions_per_tick: missing"},
		{name: "actions zero", from: `"max_actions_per_tick":3`, to: `"max_actions_per_tick":0`,
			want: "max_actions_per_tick: want an integer from 1 to 2147483647"},
		{name: "actions a string", from: `"max_actions_per_tick":3`, to: `"max_actions_per_tick":"3"`,
			want: "max_actions_per_tick: want an integer from 1 to 2147483647"},
		{name: "top level key twice", from: `{"policy"`, to: `{"max_actions_per_tick":3,"policy"`,
			want: `duplicate field "max_actions_per_tick"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(compactPolicyJSON, tc.from, tc.to, 1)
			if body == compactPolicyJSON {
				t.Fatalf("%q not in the body", tc.from)
			}
			before, entries := e.snapshot(t), len(e.node.Entries())
			rec := e.do(http.MethodPut, "/policy", body, "Bearer "+token)
			requireError(t, rec, http.StatusBadRequest, tc.want)
			if msg := rec.Body.String(); strings.Contains(msg, long) || strings.Contains(msg, "Policy.") || strings.Contains(msg, "int64") {
				t.Errorf("message %s repeats too much or names Go", msg)
			}
			e.unchanged(t, before, entries)
		})
	}
	for _, tc := range []struct{ name, body, want string }{
		{name: "policy missing", body: `{"max_actions_per_tick": 3}`, want: "policy: missing"},
		{name: "policy not an object", body: `{"policy": [], "max_actions_per_tick": 3}`, want: "policy: want an object, got an array"},
		{name: "not an object", body: `[]`, want: "want an object, got an array"},
		{name: "malformed", body: `{"policy": {`, want: "the JSON ends early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireError(t, e.do(http.MethodPut, "/policy", tc.body, "Bearer "+token), http.StatusBadRequest, tc.want)
		})
	}
}

// compactPolicyJSON is policyJSON without spaces, for the replacements
// above: the default policy and 3 actions.
var compactPolicyJSON = strings.ReplaceAll(policyJSON, " ", "")

// POST /pause/local and /resume/local take no body or {}: the local pause
// has no expiry, so a ttl is refused by name, as is anything else, and a
// refused request leaves the scheduler as it was.
func TestLocalPauseBody(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/pause/local", "/resume/local"} {
		for _, tc := range []struct{ name, body, want string }{
			{name: "ttl", body: `{"ttl":"-1s"}`, want: "ttl: the local pause has no expiry"},
			{name: "valid ttl", body: `{"ttl":"10m"}`, want: "ttl: the local pause has no expiry"},
			{name: "unknown field", body: `{"paused":true}`, want: `unknown field "paused"`},
			{name: "not an object", body: `[]`, want: "malformed JSON"},
			{name: "trailing data", body: `{} {}`, want: "trailing data"},
		} {
			t.Run(path+" "+tc.name, func(t *testing.T) {
				was := e.sched.Paused()
				requireError(t, e.post(path, tc.body), http.StatusBadRequest, tc.want)
				if e.sched.Paused() != was {
					t.Errorf("the scheduler's pause changed to %v", !was)
				}
			})
		}
	}
	var got struct{ Paused bool }
	for _, body := range []string{"", "{}", " { } "} {
		decode(t, e.post("/pause/local", body), http.StatusOK, &got)
		if !got.Paused || !e.sched.Paused() {
			t.Errorf("pause with body %q: %+v", body, got)
		}
		decode(t, e.post("/resume/local", body), http.StatusOK, &got)
		if got.Paused || e.sched.Paused() {
			t.Errorf("resume with body %q: %+v", body, got)
		}
	}
}
