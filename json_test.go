package placement

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// jsRoundTrip marshals v with encoding/json, checks the text against want
// (when want is not empty), decodes it back into a fresh T and returns
// the result; a second marshal must give the same text.
func jsRoundTrip[T any](t *testing.T, v T, want string) T {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	if want != "" {
		require.JSONEq(t, want, string(b))
	}
	var got T
	require.NoError(t, json.Unmarshal(b, &got), "decoding %s", b)
	again, err := json.Marshal(got)
	require.NoError(t, err)
	require.Equal(t, string(b), string(again), "re-encoding")
	return got
}

// jsCommands holds one command of every type, with every field set.
var jsCommands = []struct {
	cmd  Command
	want string
}{
	{AddNode{Node: 4}, `{"type":"add-node","node":4}`},
	{SetNodeState{Node: 4, State: NodeUp}, `{"type":"set-node-state","node":4,"state":"up"}`},
	{SetNodeState{Node: 4, State: NodeDraining}, `{"type":"set-node-state","node":4,"state":"draining"}`},
	{SetNodeState{Node: 4, State: NodeDown}, `{"type":"set-node-state","node":4,"state":"down"}`},
	{SetNodeState{Node: 4, State: NodeLost}, `{"type":"set-node-state","node":4,"state":"lost"}`},
	{RemoveNode{Node: 4}, `{"type":"remove-node","node":4}`},
	{CreateShard{ID: 0, Range: KeyRange{}, Node: 1},
		`{"type":"create-shard","id":0,"range":{"start":"","end":null},"node":1}`},
	{CreateShard{ID: 9, Range: KeyRange{Start: []byte("a"), End: []byte{0xff, 0x00}}, Node: 2},
		`{"type":"create-shard","id":9,"range":{"start":"YQ==","end":"/wA="},"node":2}`},
	{PlaceSplit{Shard: 7, Epoch: 3, SplitKey: []byte("m")}, `{"type":"split","shard":7,"epoch":3,"split_key":"bQ=="}`},
	{PlaceSplit{Shard: 7, Epoch: 3, SplitKey: nil}, `{"type":"split","shard":7,"epoch":3,"split_key":null}`},
	{PlaceSplit{Shard: 7, Epoch: 3, SplitKey: []byte{}}, `{"type":"split","shard":7,"epoch":3,"split_key":""}`},
	{PlaceMerge{Left: 7, LeftEpoch: 3, Right: 8, RightEpoch: 1},
		`{"type":"merge","left":7,"left_epoch":3,"right":8,"right_epoch":1}`},
	{PlaceTransfer{Shard: 7, Epoch: 3, From: 1, To: 2}, `{"type":"transfer","shard":7,"epoch":3,"from":1,"to":2}`},
	{CompleteTransfer{Shard: 7, Epoch: 4, To: 3}, `{"type":"complete-transfer","shard":7,"epoch":4,"to":3}`},
	{AbortTransfer{Shard: 7, Epoch: 4}, `{"type":"abort-transfer","shard":7,"epoch":4}`},
	{SetRebalancing{Bytes: true, Load: false}, `{"type":"set-rebalancing","bytes":true,"load":false}`},
	{SetRebalancing{Bytes: false, Load: true}, `{"type":"set-rebalancing","bytes":false,"load":true}`},
	{SetFormatVersion{Version: math.MaxUint64}, `{"type":"set-format-version","version":18446744073709551615}`},
	{SetPause{Paused: true, Until: time.Date(2026, 12, 1, 10, 0, 0, 5, time.UTC)},
		`{"type":"set-pause","paused":true,"until":"2026-12-01T10:00:00.000000005Z"}`},
	{SetPause{}, `{"type":"set-pause","paused":false,"until":null}`},
	{SetPolicy{Policy: DefaultPolicy(), MaxActionsPerTick: 5}, `{"type":"set-policy","policy":{"split_keys":100000,` +
		`"split_bytes":536870912,"merge_keys":1000,"merge_bytes":10485760,"merge_max_fraction":0.5,"merge_embargo":3,` +
		`"imbalance_threshold":0.2,"stop_band":0.05,"count_tolerance":0.25,"load_threshold":0.25,"load_stop_band":0.1,` +
		`"max_moves_per_node":5,"max_inflight_per_node":4,"max_inflight_bytes_per_node":2147483648,` +
		`"move_timeout":"10m0s","instant_moves":false,"down_timeout":"0s",` +
		`"min_gain":0.25,"move_cooldown":"30m0s","load_half_life":8,"min_copy_rate":10485760},"max_actions_per_tick":5}`},
	{SetPolicy{Policy: stablePolicy(), MaxActionsPerTick: 5}, `{"type":"set-policy","policy":{"split_keys":100000,` +
		`"split_bytes":536870912,"merge_keys":1000,"merge_bytes":10485760,"merge_max_fraction":0.5,"merge_embargo":3,` +
		`"imbalance_threshold":0.2,"stop_band":0.05,"count_tolerance":0.25,"load_threshold":0.25,"load_stop_band":0.1,` +
		`"max_moves_per_node":5,"max_inflight_per_node":4,"max_inflight_bytes_per_node":2147483648,` +
		`"move_timeout":"10m0s","instant_moves":false,"down_timeout":"0s",` +
		`"min_gain":0,"move_cooldown":"1h0m0s","load_half_life":0,"min_copy_rate":10485760},"max_actions_per_tick":5}`},
}

// stablePolicy is DefaultPolicy with stability fields of its own, which
// need format version 5.
func stablePolicy() Policy {
	p := DefaultPolicy()
	p.MinGain, p.MoveCooldown, p.LoadHalfLife = 0, time.Hour, 0
	return p
}

// copyRatePolicy is DefaultPolicy with a MinCopyRate of its own, which
// needs format version 6.
func copyRatePolicy() Policy {
	p := DefaultPolicy()
	p.MinCopyRate = 64 << 20
	return p
}

// A policy written before the stability fields existed decodes with their
// defaults.
func TestPolicyJSONWithoutStabilityFields(t *testing.T) {
	old := `{"split_keys":100000,"split_bytes":536870912,"merge_keys":1000,"merge_bytes":10485760,` +
		`"merge_max_fraction":0.5,"merge_embargo":3,"imbalance_threshold":0.2,"stop_band":0.05,` +
		`"count_tolerance":0.25,"load_threshold":0.25,"load_stop_band":0.1,"max_moves_per_node":5,` +
		`"max_inflight_per_node":4,"max_inflight_bytes_per_node":2147483648,"move_timeout":"10m0s",` +
		`"instant_moves":false,"down_timeout":"0s"}`
	var p Policy
	require.NoError(t, json.Unmarshal([]byte(old), &p))
	require.Equal(t, DefaultPolicy(), p)
}

func TestJSONCommandRoundTrip(t *testing.T) {
	types := map[CommandType]bool{}
	for _, tc := range jsCommands {
		t.Run(tc.cmd.String(), func(t *testing.T) {
			b, err := MarshalCommandJSON(tc.cmd)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
			got, err := UnmarshalCommandJSON(b)
			require.NoError(t, err)
			require.Equal(t, tc.cmd, got) // the same value type, nil and empty keys kept apart

			// Every field of the command is in its form, plus "type".
			var obj map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(b, &obj))
			require.Len(t, obj, reflect.TypeOf(tc.cmd).NumField()+1, "fields of %T", tc.cmd)
		})
		types[tc.cmd.Type()] = true
	}
	// Every command type with a name has a case above.
	for typ := CommandType(1); !strings.HasPrefix(typ.String(), "CommandType("); typ++ {
		require.True(t, types[typ], "no JSON test for command type %v", typ)
	}
}

func TestCommandTypeString(t *testing.T) {
	for _, tc := range jsCommands {
		// The name is the first word of the command's own String.
		name, _, _ := strings.Cut(tc.cmd.String(), " ")
		require.Equal(t, name, tc.cmd.Type().String())
	}
	require.Equal(t, "transfer", TypePlaceTransfer.String())
	require.Equal(t, "complete-transfer", TypeCompleteTransfer.String())
	require.Equal(t, "abort-transfer", TypeAbortTransfer.String())
	require.Equal(t, "CommandType(0)", CommandType(0).String())
	require.Equal(t, "CommandType(200)", CommandType(200).String())
}

func TestCommandTypeText(t *testing.T) {
	for typ := CommandType(1); typ <= TypeSetPolicy; typ++ {
		b, err := typ.MarshalText()
		require.NoError(t, err)
		require.Equal(t, typ.String(), string(b))
		var got CommandType
		require.NoError(t, got.UnmarshalText(b))
		require.Equal(t, typ, got)
	}
	for _, bad := range []CommandType{0, TypeSetPolicy + 1, 255} {
		_, err := bad.MarshalText()
		require.ErrorIs(t, err, ErrInvalidEncoding, "%d", bad)
	}
	for _, bad := range []string{"", "Transfer", "TRANSFER", "transfer ", "place-transfer", "7", "CommandType(7)"} {
		got := TypeAddNode
		require.ErrorIs(t, got.UnmarshalText([]byte(bad)), ErrInvalidEncoding, "%q", bad)
		require.Equal(t, TypeAddNode, got, "unchanged after an error")
	}
	// As a JSON value and a map key, through encoding/json.
	b, err := json.Marshal(map[CommandType]int{TypePlaceSplit: 2, TypePlaceMerge: 1})
	require.NoError(t, err)
	require.Equal(t, `{"merge":1,"split":2}`, string(b))
	var m map[CommandType]int
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, map[CommandType]int{TypePlaceSplit: 2, TypePlaceMerge: 1}, m)
}

func TestTextNodeState(t *testing.T) {
	for _, tc := range []struct {
		state NodeState
		name  string
	}{{NodeUp, "up"}, {NodeDraining, "draining"}, {NodeDown, "down"}, {NodeLost, "lost"}} {
		b, err := tc.state.MarshalText()
		require.NoError(t, err)
		require.Equal(t, tc.name, string(b))
		var got NodeState
		require.NoError(t, got.UnmarshalText(b))
		require.Equal(t, tc.state, got)
		require.Equal(t, `"`+tc.name+`"`, string(jsMust(json.Marshal(tc.state))))
	}
	for _, bad := range []NodeState{0, NodeLost + 1, 255} {
		_, err := bad.MarshalText()
		require.ErrorIs(t, err, ErrInvalidEncoding, "%d", bad)
		_, err = json.Marshal(bad)
		require.ErrorIs(t, err, ErrInvalidEncoding, "%d", bad)
	}
	for _, bad := range []string{"", "Up", "UP", " up", "NodeState(0)", "1", "gone"} {
		got := NodeDown
		require.ErrorIs(t, got.UnmarshalText([]byte(bad)), ErrInvalidEncoding, "%q", bad)
		require.Equal(t, NodeDown, got, "unchanged after an error")
	}
	var s NodeState
	require.Error(t, json.Unmarshal([]byte(`1`), &s), "a number is not a state")
	require.Error(t, json.Unmarshal([]byte(`"Draining"`), &s))
}

// jsSkipReasons returns every skip reason with words.
func jsSkipReasons() []SkipReason {
	var out []SkipReason
	for r := SkipReason(1); !strings.HasPrefix(r.String(), "SkipReason("); r++ {
		out = append(out, r)
	}
	return out
}

func TestTextSkipReason(t *testing.T) {
	reasons := jsSkipReasons()
	require.Contains(t, reasons, SkipShardMoving)
	require.Contains(t, reasons, SkipCountBandInfeasible)
	for _, r := range reasons {
		b, err := r.MarshalText()
		require.NoError(t, err)
		require.Equal(t, r.String(), string(b))
		var got SkipReason
		require.NoError(t, got.UnmarshalText(b))
		require.Equal(t, r, got)
	}
	_, err := SkipReason(0).MarshalText()
	require.ErrorIs(t, err, ErrInvalidEncoding)
	_, err = SkipReason(255).MarshalText()
	require.ErrorIs(t, err, ErrInvalidEncoding)
	for _, bad := range []string{"", "Stats unknown", "stats unknown ", "SkipReason(1)", "1"} {
		var got SkipReason
		require.ErrorIs(t, got.UnmarshalText([]byte(bad)), ErrInvalidEncoding, "%q", bad)
	}
}

func jsMust(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestJSONKeyRangeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    KeyRange
		want string
		// back is what decoding gives when it is not r itself: an empty
		// Start decodes as nil, the same smallest key.
		back *KeyRange
	}{
		{name: "whole key space", r: KeyRange{}, want: `{"start":"","end":null}`},
		{name: "empty start", r: KeyRange{Start: []byte{}}, want: `{"start":"","end":null}`, back: &KeyRange{}},
		{name: "empty start bounded", r: KeyRange{Start: []byte{}, End: []byte("b")},
			want: `{"start":"","end":"Yg=="}`, back: &KeyRange{End: []byte("b")}},
		{name: "nil start bounded", r: KeyRange{End: []byte("b")}, want: `{"start":"","end":"Yg=="}`},
		{name: "bounded", r: KeyRange{Start: []byte("a"), End: []byte("b")}, want: `{"start":"YQ==","end":"Yg=="}`},
		{name: "unbounded", r: KeyRange{Start: []byte("a")}, want: `{"start":"YQ==","end":null}`},
		{name: "binary keys", r: KeyRange{Start: []byte{0x00}, End: []byte{0xff, 0xfe, 0x00, '"'}},
			want: `{"start":"AA==","end":"//4AIg=="}`},
		{name: "end 0x00 from the beginning", r: KeyRange{End: []byte{0}}, want: `{"start":"","end":"AA=="}`},
		{name: "immediate successor", r: KeyRange{Start: []byte("a"), End: []byte("a\x00")}},
		{name: "all 0xff unbounded", r: KeyRange{Start: bytes.Repeat([]byte{0xff}, 40)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := jsRoundTrip(t, tc.r, tc.want)
			want := tc.r
			if tc.back != nil {
				want = *tc.back
			}
			require.Equal(t, want, got)
			require.Equal(t, tc.r.Unbounded(), got.Unbounded())
		})
	}
}

func TestJSONNodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		n    Node
		want string
	}{
		{Node{ID: 1, State: NodeUp, Shards: 3}, `{"id":1,"state":"up","shards":3}`},
		{Node{ID: 2, State: NodeDraining, Shards: 0}, `{"id":2,"state":"draining","shards":0}`},
		{Node{ID: 3, State: NodeDown, Shards: 7}, `{"id":3,"state":"down","shards":7}`},
		{Node{ID: math.MaxUint64, State: NodeLost, Shards: 1}, `{"id":18446744073709551615,"state":"lost","shards":1}`},
	} {
		t.Run(tc.n.State.String(), func(t *testing.T) {
			require.Equal(t, tc.n, jsRoundTrip(t, tc.n, tc.want))
		})
	}
}

func TestJSONShardRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Shard
		want string
	}{
		{"whole key space", Shard{ID: 1, Range: KeyRange{}, Node: 1, Epoch: 1},
			`{"id":1,"range":{"start":"","end":null},"node":1,"epoch":1}`},
		{"moving", Shard{ID: 7, Range: KeyRange{Start: []byte("a"), End: []byte("q")}, Node: 2, Epoch: 5, MovingTo: 3},
			`{"id":7,"range":{"start":"YQ==","end":"cQ=="},"node":2,"epoch":5,"moving_to":3}`},
		{"binary unbounded", Shard{ID: math.MaxUint64, Range: KeyRange{Start: []byte{0xff, 0x00}}, Node: 9, Epoch: math.MaxUint64},
			`{"id":18446744073709551615,"range":{"start":"/wA=","end":null},"node":9,"epoch":18446744073709551615}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.s, jsRoundTrip(t, tc.s, tc.want))
		})
	}
}

// TestJSONShardGolden pins the exact bytes of a shard's form.
func TestJSONShardGolden(t *testing.T) {
	s := Shard{
		ID:       42,
		Range:    KeyRange{Start: []byte("user/0042"), End: []byte("user/\xff")},
		Node:     3,
		Epoch:    17,
		MovingTo: 5,
	}
	const golden = `{"id":42,"range":{"start":"dXNlci8wMDQy","end":"dXNlci//"},"node":3,"epoch":17,"moving_to":5}`
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.Equal(t, golden, string(b))

	s.MovingTo = 0
	b, err = json.Marshal(&s) // through a pointer too
	require.NoError(t, err)
	require.Equal(t, `{"id":42,"range":{"start":"dXNlci8wMDQy","end":"dXNlci//"},"node":3,"epoch":17}`, string(b))
}

func TestJSONStatsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Stats
		want string
	}{
		{"zero, no hint", Stats{}, `{"keys":0,"bytes":0,"load":0,"estimated":false,"split_key":null}`},
		{"empty hint", Stats{Keys: 1, SplitKey: []byte{}}, `{"keys":1,"bytes":0,"load":0,"estimated":false,"split_key":""}`},
		{"full", Stats{Keys: 10, Bytes: 4096, Load: 1.5, Estimated: true, SplitKey: []byte("m")},
			`{"keys":10,"bytes":4096,"load":1.5,"estimated":true,"split_key":"bQ=="}`},
		{"binary hint, extreme figures", Stats{Keys: math.MaxUint64, Bytes: math.MaxUint64, Load: math.MaxFloat64, SplitKey: []byte{0, 0xff}},
			`{"keys":18446744073709551615,"bytes":18446744073709551615,"load":1.7976931348623157e+308,"estimated":false,"split_key":"AP8="}`},
		{"tiny load", Stats{Load: math.SmallestNonzeroFloat64}, ""},
		{"fractional load", Stats{Load: 0.1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.s, jsRoundTrip(t, tc.s, tc.want))
		})
	}
}

func TestJSONSkipRoundTrip(t *testing.T) {
	for _, r := range jsSkipReasons() {
		t.Run(r.String(), func(t *testing.T) {
			for _, s := range []Skip{
				{Reason: r},
				{Reason: r, Shard: 4},
				{Reason: r, Node: 2},
				{Reason: r, Count: 9},
				{Reason: r, Shard: 4, Node: 2, Count: 1},
			} {
				require.Equal(t, s, jsRoundTrip(t, s, ""))
			}
		})
	}
	require.Equal(t, Skip{Reason: SkipNodeNotUp, Node: 2},
		jsRoundTrip(t, Skip{Reason: SkipNodeNotUp, Node: 2}, `{"reason":"node not up","node":2}`))
	require.Equal(t, Skip{Reason: SkipStatsUnknown, Count: 12},
		jsRoundTrip(t, Skip{Reason: SkipStatsUnknown, Count: 12}, `{"reason":"stats unknown","count":12}`))
	require.Equal(t, Skip{Reason: SkipInPlan, Shard: 5, Node: 1, Count: 1},
		jsRoundTrip(t, Skip{Reason: SkipInPlan, Shard: 5, Node: 1, Count: 1},
			`{"reason":"already in the plan","shard":5,"node":1,"count":1}`))
}

func TestJSONBalanceRoundTrip(t *testing.T) {
	for _, b := range []Balance{{}, {Count: 0.5, Bytes: 0.25, Load: 3}, {Count: 1e-9, Bytes: 123.456, Load: 0.1}} {
		require.Equal(t, b, jsRoundTrip(t, b, ""))
	}
	jsRoundTrip(t, Balance{Count: 0.5, Bytes: 0.25}, `{"count":0.5,"bytes":0.25,"load":0}`)
}

func TestJSONPlanRoundTrip(t *testing.T) {
	all := make([]Command, len(jsCommands))
	for i, tc := range jsCommands {
		all[i] = tc.cmd
	}
	var skips []Skip
	for _, r := range jsSkipReasons() {
		skips = append(skips, Skip{Reason: r, Shard: ShardID(r), Count: int(r)})
	}
	tests := []struct {
		name string
		p    Plan
		want string
	}{
		{"zero: nil lists are null", Plan{},
			`{"commands":null,"reasons":null,"skipped":null,"imbalance":0,"balance":{"count":0,"bytes":0,"load":0},` +
				`"rebalancing":false,"rebalancing_load":false,"min_moves":0,"min_bytes":0}`},
		{"empty lists", Plan{Commands: []Command{}, Skipped: []Skip{}},
			`{"commands":[],"reasons":null,"skipped":[],"imbalance":0,"balance":{"count":0,"bytes":0,"load":0},` +
				`"rebalancing":false,"rebalancing_load":false,"min_moves":0,"min_bytes":0}`},
		{"small", Plan{
			Commands:        []Command{PlaceTransfer{Shard: 1, Epoch: 2, From: 3, To: 4}},
			Skipped:         []Skip{{Reason: SkipNodeNotUp, Node: 2}},
			Imbalance:       2,
			Balance:         Balance{Count: 0.5, Bytes: 0.75, Load: 0.125},
			Rebalancing:     true,
			RebalancingLoad: true,
			MinMoves:        3,
			MinBytes:        1 << 40,
		}, `{"commands":[{"type":"transfer","shard":1,"epoch":2,"from":3,"to":4}],"reasons":null,` +
			`"skipped":[{"reason":"node not up","node":2}],"imbalance":2,` +
			`"balance":{"count":0.5,"bytes":0.75,"load":0.125},"rebalancing":true,"rebalancing_load":true,` +
			`"min_moves":3,"min_bytes":1099511627776}`},
		{"every command and reason", Plan{Commands: all, Skipped: skips, Imbalance: 0.3}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.p, jsRoundTrip(t, tc.p, tc.want))
		})
	}

	// Every field of Plan is in its form.
	var obj map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(jsMust(json.Marshal(Plan{})), &obj))
	require.Len(t, obj, reflect.TypeOf(Plan{}).NumField())
}

// TestJSONRoundTripRapid round-trips shards and stats with arbitrary keys.
func TestJSONRoundTripRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.SliceOfN(rapid.Byte(), 0, 12)
		start := key.Draw(t, "start")
		if len(start) == 0 {
			start = nil
		}
		var end []byte
		if rapid.Bool().Draw(t, "bounded") {
			end = append(append([]byte(nil), start...), key.Draw(t, "suffix")...)
			end = append(end, rapid.ByteMin(1).Draw(t, "last"))
		}
		s := Shard{
			ID:    ShardID(rapid.Uint64().Draw(t, "id")),
			Range: KeyRange{Start: start, End: end},
			Node:  NodeID(rapid.Uint64().Draw(t, "node")),
			Epoch: rapid.Uint64().Draw(t, "epoch"),
		}
		if rapid.Bool().Draw(t, "moving") {
			s.MovingTo = NodeID(rapid.Uint64Min(1).Draw(t, "to"))
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got Shard
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(s, got) {
			t.Fatalf("%s: got %v, want %v", b, got, s)
		}

		st := Stats{
			Keys:      rapid.Uint64().Draw(t, "keys"),
			Bytes:     rapid.Uint64().Draw(t, "bytes"),
			Load:      rapid.Float64Min(0).Draw(t, "load"),
			Estimated: rapid.Bool().Draw(t, "estimated"),
		}
		if rapid.Bool().Draw(t, "hint") {
			st.SplitKey = key.Draw(t, "split key")
		}
		if math.IsInf(st.Load, 1) {
			st.Load = 0
		}
		b, err = json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var gotSt Stats
		if err := json.Unmarshal(b, &gotSt); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(st, gotSt) {
			t.Fatalf("%s: got %#v, want %#v", b, gotSt, st)
		}
	})
}

// TestJSONInsideHostTypes checks the forms inside a host's own types,
// through encoding/json alone.
func TestJSONInsideHostTypes(t *testing.T) {
	type host struct {
		Shards []Shard           `json:"shards"`
		Nodes  map[NodeID]Node   `json:"nodes"`
		Stats  map[ShardID]Stats `json:"stats"`
		Plan   *Plan             `json:"plan"`
	}
	in := host{
		Shards: []Shard{{ID: 1, Range: KeyRange{End: []byte("m")}, Node: 1, Epoch: 1}, {ID: 2, Range: KeyRange{Start: []byte("m")}, Node: 2, Epoch: 4, MovingTo: 1}},
		Nodes:  map[NodeID]Node{1: {ID: 1, State: NodeUp, Shards: 1}, 2: {ID: 2, State: NodeDraining, Shards: 1}},
		Stats:  map[ShardID]Stats{2: {Keys: 5, Bytes: 50, SplitKey: []byte("x")}},
		Plan:   &Plan{Commands: []Command{AbortTransfer{Shard: 2, Epoch: 4}}},
	}
	got := jsRoundTrip(t, in, "")
	require.Equal(t, in, got)

	// A strict error inside a host type surfaces from json.Unmarshal.
	err := json.Unmarshal([]byte(`{"shards":[{"id":1,"range":{"start":"","end":null},"node":1,"epoch":1,"Epoch":2}]}`), &got)
	require.ErrorIs(t, err, ErrInvalidEncoding)
	require.ErrorContains(t, err, `unknown field "Epoch"`)
}

// jsShard is a valid shard form for the rejection cases to vary.
const jsShard = `{"id":1,"range":{"start":"YQ==","end":"Yg=="},"node":2,"epoch":3}`

func TestJSONStrictDecoding(t *testing.T) {
	unmarshal := func(v any) func([]byte) error {
		return func(b []byte) error { return json.Unmarshal(b, v) }
	}
	shard := unmarshal(new(Shard))
	keyRange := unmarshal(new(KeyRange))
	node := unmarshal(new(Node))
	stats := unmarshal(new(Stats))
	skip := unmarshal(new(Skip))
	balance := unmarshal(new(Balance))
	plan := unmarshal(new(Plan))
	command := func(b []byte) error { _, err := UnmarshalCommandJSON(b); return err }
	const planTail = `"imbalance":0,"balance":{"count":0,"bytes":0,"load":0},"rebalancing":false,"rebalancing_load":false,"min_moves":0,"min_bytes":0}`

	require.NoError(t, shard([]byte(jsShard)), "the base case is valid")
	require.NoError(t, plan([]byte(`{"commands":[],"skipped":[],`+planTail)), "the base case is valid")

	tests := []struct {
		name   string
		decode func([]byte) error
		in     string
		want   string // in the error
	}{
		// Structure.
		{"shard null", shard, `null`, "want a JSON object, got null"},
		{"shard array", shard, `[]`, "want a JSON object"},
		{"shard string", shard, `"x"`, "want a JSON object"},
		{"shard number", shard, `1`, "want a JSON object"},
		{"shard truncated", shard, `{"id":1,`, ""},
		{"shard duplicate field", shard, `{"id":1,"id":1,"range":{"start":"","end":null},"node":2,"epoch":3}`, `duplicate field "id"`},
		{"shard field in another case", shard, strings.Replace(jsShard, `"epoch"`, `"Epoch"`, 1), `unknown field "Epoch"`},
		{"shard field in upper case", shard, strings.Replace(jsShard, `"id"`, `"ID"`, 1), `unknown field "ID"`},
		{"shard Go field name", shard, strings.TrimSuffix(jsShard, "}") + `,"MovingTo":4}`, `unknown field "MovingTo"`},
		{"shard unknown field", shard, strings.Replace(jsShard, `"node"`, `"extra":1,"node"`, 1), `unknown field "extra"`},
		{"shard camel moving to", shard, strings.TrimSuffix(jsShard, "}") + `,"movingTo":4}`, `unknown field "movingTo"`},
		{"shard missing epoch", shard, `{"id":1,"range":{"start":"","end":null},"node":2}`, `missing field "epoch"`},
		{"shard missing range", shard, `{"id":1,"node":2,"epoch":3}`, `missing field "range"`},
		{"shard missing id", shard, `{"range":{"start":"","end":null},"node":2,"epoch":3}`, `missing field "id"`},
		{"shard null range", shard, `{"id":1,"range":null,"node":2,"epoch":3}`, `field "range"`},
		{"shard null epoch", shard, strings.Replace(jsShard, `"epoch":3`, `"epoch":null`, 1), "null is not allowed"},
		{"shard null moving to", shard, strings.TrimSuffix(jsShard, "}") + `,"moving_to":null}`, "null is not allowed"},
		{"shard empty range", shard, `{"id":1,"range":{"start":"Yg==","end":"Yg=="},"node":2,"epoch":3}`, "empty"},
		{"shard reversed range", shard, `{"id":1,"range":{"start":"Yg==","end":"YQ=="},"node":2,"epoch":3}`, "empty"},
		// Numbers.
		{"shard negative id", shard, strings.Replace(jsShard, `"id":1`, `"id":-1`, 1), `field "id"`},
		{"shard fractional id", shard, strings.Replace(jsShard, `"id":1`, `"id":1.5`, 1), `field "id"`},
		{"shard float-looking id", shard, strings.Replace(jsShard, `"id":1`, `"id":1.0`, 1), `field "id"`},
		{"shard exponent id", shard, strings.Replace(jsShard, `"id":1`, `"id":1e2`, 1), `field "id"`},
		{"shard id as a string", shard, strings.Replace(jsShard, `"id":1`, `"id":"1"`, 1), `field "id"`},
		{"shard id over 64 bits", shard, strings.Replace(jsShard, `"id":1`, `"id":18446744073709551616`, 1), `field "id"`},
		{"shard epoch bool", shard, strings.Replace(jsShard, `"epoch":3`, `"epoch":true`, 1), `field "epoch"`},
		{"shard trailing data", shard, jsShard + ` {}`, ""},
		// Ranges and keys.
		{"range missing end", keyRange, `{"start":""}`, `missing field "end"`},
		{"range missing start", keyRange, `{"end":null}`, `missing field "start"`},
		{"range null start", keyRange, `{"start":null,"end":null}`, "null is not allowed"},
		{"range empty end", keyRange, `{"start":"","end":""}`, "empty"},
		{"range non-canonical padding bits", keyRange, `{"start":"YR==","end":null}`, "canonical"},
		{"range unpadded", keyRange, `{"start":"YQ","end":null}`, "canonical"},
		{"range URL alphabet", keyRange, `{"start":"-_8=","end":null}`, "canonical"},
		{"range line break", keyRange, `{"start":"YQ==\n","end":null}`, "canonical"},
		{"range key as a number", keyRange, `{"start":1,"end":null}`, "base64"},
		{"range key as an array", keyRange, `{"start":[97],"end":null}`, "base64"},
		{"range human form", keyRange, `{"start":"","end":null,"range":"[\"\", +inf)"}`, `unknown field "range"`},
		{"range Start in Go case", keyRange, `{"Start":"","end":null}`, `unknown field "Start"`},
		// Nodes.
		{"node state in upper case", node, `{"id":1,"state":"Up","shards":0}`, "unknown node state"},
		{"node state unknown", node, `{"id":1,"state":"gone","shards":0}`, "unknown node state"},
		{"node state from String", node, `{"id":1,"state":"NodeState(0)","shards":0}`, "unknown node state"},
		{"node state empty", node, `{"id":1,"state":"","shards":0}`, "unknown node state"},
		{"node state as a number", node, `{"id":1,"state":1,"shards":0}`, "want a string"},
		{"node state null", node, `{"id":1,"state":null,"shards":0}`, "want a string"},
		{"node missing shards", node, `{"id":1,"state":"up"}`, `missing field "shards"`},
		{"node Id", node, `{"Id":1,"state":"up","shards":0}`, `unknown field "Id"`},
		// Stats.
		{"stats negative load", stats, `{"keys":0,"bytes":0,"load":-1,"estimated":false,"split_key":null}`, "load"},
		{"stats load as a string", stats, `{"keys":0,"bytes":0,"load":"1","estimated":false,"split_key":null}`, `field "load"`},
		{"stats missing estimated", stats, `{"keys":0,"bytes":0,"load":0,"split_key":null}`, `missing field "estimated"`},
		{"stats split key as a number", stats, `{"keys":0,"bytes":0,"load":0,"estimated":false,"split_key":5}`, "base64"},
		{"stats SplitKey", stats, `{"keys":0,"bytes":0,"load":0,"estimated":false,"SplitKey":null}`, `unknown field "SplitKey"`},
		// Skips and balance.
		{"skip unknown reason", skip, `{"reason":"bored"}`, "unknown skip reason"},
		{"skip reason in another case", skip, `{"reason":"Stats unknown"}`, "unknown skip reason"},
		{"skip reason as a number", skip, `{"reason":1}`, "want a string"},
		{"skip missing reason", skip, `{"shard":1}`, `missing field "reason"`},
		{"skip null shard", skip, `{"reason":"stats unknown","shard":null}`, "null is not allowed"},
		{"balance missing load", balance, `{"count":0,"bytes":0}`, `missing field "load"`},
		{"balance Count", balance, `{"Count":0,"bytes":0,"load":0}`, `unknown field "Count"`},
		// Plans.
		{"plan commands not a list", plan, `{"commands":{},"skipped":[],` + planTail, "want an array"},
		{"plan null command", plan, `{"commands":[null],"skipped":[],` + planTail, "[0]"},
		{"plan unknown command", plan, `{"commands":[{"type":"teleport","shard":1}],"skipped":[],` + planTail, "unknown command type"},
		{"plan bad skip", plan, `{"commands":[],"skipped":[{"reason":"?"}],` + planTail, "unknown skip reason"},
		{"plan missing min_bytes", plan, `{"commands":[],"skipped":[],"imbalance":0,"balance":{"count":0,"bytes":0,"load":0},"rebalancing":false,"rebalancing_load":false,"min_moves":0}`, `missing field "min_bytes"`},
		{"plan unknown field", plan, `{"commands":[],"skipped":[],"leader":true,` + planTail, `unknown field "leader"`},
		{"plan bad balance", plan, `{"commands":[],"skipped":[],` + strings.Replace(planTail, `"load":0}`, `"load":0,"x":1}`, 1), `unknown field "x"`},
		// Commands.
		{"command missing type", command, `{"node":4}`, `missing field "type"`},
		{"command null type", command, `{"type":null,"node":4}`, "want a string"},
		{"command type as a number", command, `{"type":1,"node":4}`, "want a string"},
		{"command type in another case", command, `{"type":"Add-Node","node":4}`, "unknown command type"},
		{"command type from String", command, `{"type":"CommandType(12)"}`, "unknown command type"},
		{"command Type key", command, `{"Type":"add-node","node":4}`, `missing field "type"`},
		{"command field of another type", command, `{"type":"abort-transfer","shard":7,"epoch":4,"to":2}`, `unknown field "to"`},
		{"command missing field", command, `{"type":"transfer","shard":7,"epoch":3,"from":1}`, `missing field "to"`},
		{"command null split key is fine but missing is not", command, `{"type":"split","shard":7,"epoch":3}`, `missing field "split_key"`},
		{"command bad state", command, `{"type":"set-node-state","node":4,"state":"sleeping"}`, "unknown node state"},
		{"command empty range", command, `{"type":"create-shard","id":0,"range":{"start":"YQ==","end":"YQ=="},"node":1}`, "empty"},
		{"command duplicate type", command, `{"type":"add-node","type":"remove-node","node":4}`, `duplicate field "type"`},
		{"command not an object", command, `["add-node",4]`, "want a JSON object"},
		{"command null", command, `null`, "want a JSON object"},
		{"command trailing data", command, `{"type":"add-node","node":4}x`, "trailing data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode([]byte(tc.in))
			require.Error(t, err, "%s", tc.in)
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
			}
			// Syntax errors come from encoding/json itself; everything
			// past it wraps the sentinel.
			var syntax *json.SyntaxError
			if !errors.As(err, &syntax) {
				require.ErrorIs(t, err, ErrInvalidEncoding)
			}
		})
	}

	// The direct call wraps the sentinel even for syntax errors, and leaves
	// the receiver as it was.
	s := Shard{ID: 99}
	require.ErrorIs(t, s.UnmarshalJSON([]byte(`{"id":1,`)), ErrInvalidEncoding)
	require.ErrorIs(t, s.UnmarshalJSON([]byte(strings.Replace(jsShard, `"epoch":3`, `"epoch":-3`, 1))), ErrInvalidEncoding)
	require.Equal(t, Shard{ID: 99}, s)
	// A null split key is the form of a nil one.
	c, err := UnmarshalCommandJSON([]byte(`{"type":"split","shard":7,"epoch":3,"split_key":null}`))
	require.NoError(t, err)
	require.Equal(t, PlaceSplit{Shard: 7, Epoch: 3}, c)
	// Field order and whitespace do not matter; escapes in names are read.
	c, err = UnmarshalCommandJSON([]byte(" {\n \"epoch\" : 3 , \"\\u0073hard\" : 7 , \"type\" : \"abort-transfer\" }\n"))
	require.NoError(t, err)
	require.Equal(t, AbortTransfer{Shard: 7, Epoch: 3}, c)
}

// jsFakeCommand is a Command of a type the package does not define.
type jsFakeCommand struct{}

func (jsFakeCommand) Type() CommandType { return 200 }
func (jsFakeCommand) String() string    { return "fake" }

func TestJSONMarshalRejects(t *testing.T) {
	bad := KeyRange{Start: []byte("b"), End: []byte("a")}
	tests := []struct {
		name string
		v    any
	}{
		{"empty range", KeyRange{Start: []byte("a"), End: []byte("a")}},
		{"empty end", KeyRange{End: []byte{}}},
		{"shard with a reversed range", Shard{ID: 1, Range: bad, Node: 1, Epoch: 1}},
		{"node without a state", Node{ID: 1}},
		{"node state out of range", Node{ID: 1, State: NodeLost + 1}},
		{"stats negative load", Stats{Load: -1}},
		{"stats NaN load", Stats{Load: math.NaN()}},
		{"stats infinite load", Stats{Load: math.Inf(1)}},
		{"skip without a reason", Skip{Shard: 1}},
		{"skip reason out of range", Skip{Reason: 255}},
		{"plan with a bad command", Plan{Commands: []Command{SetNodeState{Node: 1}}}},
		{"plan with a nil command", Plan{Commands: []Command{nil}}},
		{"plan with a bad skip", Plan{Skipped: []Skip{{}}}},
		{"plan with NaN imbalance", Plan{Imbalance: math.NaN()}},
		{"node state", NodeState(0)},
		{"command type", CommandType(0)},
		{"skip reason", SkipReason(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := json.Marshal(tc.v)
			require.ErrorIs(t, err, ErrInvalidEncoding)
		})
	}
	for _, c := range []Command{
		nil,
		jsFakeCommand{},
		&AddNode{Node: 1}, // a pointer is not the command's value type
		SetNodeState{Node: 1, State: 0},
		CreateShard{ID: 1, Range: bad, Node: 1},
	} {
		_, err := MarshalCommandJSON(c)
		require.ErrorIs(t, err, ErrInvalidEncoding, "%#v", c)
	}
}
