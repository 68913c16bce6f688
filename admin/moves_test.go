package admin_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
	"github.com/ukehi/placement/placementtest"
)

// movesAnswer is GET /moves's body.
type movesAnswer struct {
	Index uint64           `json:"index"`
	Moves []placement.Move `json:"moves"`
}

// moveEnded is a 200 from POST /moves/complete or /moves/abort.
type moveEnded struct {
	Move    placement.Move `json:"move"`
	Outcome string         `json:"outcome"`
}

// codedError is an error answer with its code.
type codedError struct {
	Error   string `json:"error"`
	Code    string `json:"code"`
	Outcome string `json:"outcome"`
}

// beginMove brings the map to format version, seeds shards 1 to 3 (on
// nodes 1, 1 and 2) and moves shard s from node from to node to; it
// returns the move in flight.
func (e *env) beginMove(t *testing.T, version uint64, s placement.ShardID, from, to placement.NodeID) placement.Move {
	t.Helper()
	if e.reg.View().FormatVersion() < version {
		e.apply(t, placement.SetFormatVersion{Version: version})
	}
	if e.reg.View().ShardCount() == 0 {
		e.seedShards(t)
	}
	sh, _ := e.reg.View().Shard(s)
	e.apply(t, placement.PlaceTransfer{Shard: s, Epoch: sh.Epoch, From: from, To: to})
	for m := range e.reg.View().Moves() {
		if m.Shard == s {
			return m
		}
	}
	t.Fatalf("shard %d is not moving", s)
	return placement.Move{}
}

// moveBody is m's JSON form, a request body.
func moveBody(t *testing.T, m placement.Move) string {
	t.Helper()
	data, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// getMoves reads GET /moves with query q ("" for none).
func (e *env) getMoves(t *testing.T, q string) movesAnswer {
	t.Helper()
	var got movesAnswer
	decode(t, e.do(http.MethodGet, "/moves"+q, "", ""), http.StatusOK, &got)
	return got
}

func shardsOf(moves []placement.Move) []placement.ShardID {
	ids := []placement.ShardID{}
	for _, m := range moves {
		ids = append(ids, m.Shard)
	}
	return ids
}

func TestGetMovesListsAndFilters(t *testing.T) {
	e := newEnv(t)
	if got := e.getMoves(t, ""); len(got.Moves) != 0 || got.Index != e.reg.View().Index() {
		t.Fatalf("no moves: got %+v", got)
	}
	m3 := e.beginMove(t, placement.FormatVersion, 3, 2, 3)
	m1 := e.beginMove(t, placement.FormatVersion, 1, 1, 3)
	all := e.getMoves(t, "")
	if all.Index != e.reg.View().Index() || all.Index == 0 {
		t.Errorf("index %d, want the map's %d", all.Index, e.reg.View().Index())
	}
	if !slices.Equal(all.Moves, []placement.Move{m1, m3}) {
		t.Errorf("moves %v, want %v and %v in shard order", all.Moves, m1, m3)
	}
	for _, c := range []struct {
		node string
		want []placement.ShardID
	}{
		{node: "1", want: []placement.ShardID{1}},
		{node: "2", want: []placement.ShardID{3}},
		{node: "3", want: []placement.ShardID{1, 3}},
		{node: "9", want: []placement.ShardID{}},
	} {
		if got := shardsOf(e.getMoves(t, "?node="+c.node).Moves); !slices.Equal(got, c.want) {
			t.Errorf("node %s: shards %v, want %v", c.node, got, c.want)
		}
	}
}

// A long poll answers once the map's index passes the one given: here when
// a move begins.
func TestGetMovesLongPollWakesWhenAMoveBegins(t *testing.T) {
	e := newEnv(t)
	e.apply(t, placement.SetFormatVersion{Version: placement.FormatVersion})
	e.seedShards(t)
	before := e.getMoves(t, "")
	answer := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		answer <- e.do(http.MethodGet, "/moves?wait=20s&index="+strconv.FormatUint(before.Index, 10), "", "")
	}()
	m := e.beginMove(t, placement.FormatVersion, 2, 1, 3)
	select {
	case rec := <-answer:
		var got movesAnswer
		decode(t, rec, http.StatusOK, &got)
		if got.Index <= before.Index || !slices.Equal(got.Moves, []placement.Move{m}) {
			t.Errorf("answer %+v, want index above %d and move %v", got, before.Index, m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not answer")
	}
}

// A server that stops (Options.Stopping closed) answers its long polls
// at once, so that its http.Server's Shutdown need not wait them out.
func TestGetMovesLongPollEndsWhenTheServerStops(t *testing.T) {
	stopping := make(chan struct{})
	e := newEnv(t, func(o *admin.Options) { o.Stopping = stopping })
	m := e.beginMove(t, placement.FormatVersion, 1, 1, 2)
	answer := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		answer <- e.do(http.MethodGet, "/moves?wait=20s&index="+strconv.FormatUint(e.reg.View().Index(), 10), "", "")
	}()
	close(stopping)
	select {
	case rec := <-answer:
		var got movesAnswer
		decode(t, rec, http.StatusOK, &got)
		if !slices.Equal(got.Moves, []placement.Move{m}) {
			t.Errorf("answer %+v, want the current move %v", got, m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not answer")
	}
}

// At the end of the wait the answer is the map as it is; a wait longer
// than Options.MaxMoveWait is cut to it.
func TestGetMovesWaitEnds(t *testing.T) {
	e := newEnv(t, func(o *admin.Options) { o.MaxMoveWait = 50 * time.Millisecond })
	m := e.beginMove(t, placement.FormatVersion, 1, 1, 2)
	index := strconv.FormatUint(e.reg.View().Index(), 10)
	for _, q := range []string{"?index=" + index + "&wait=20ms", "?index=" + index + "&wait=1h", "?index=" + index} {
		got := e.getMoves(t, q)
		if got.Index != e.reg.View().Index() || !slices.Equal(got.Moves, []placement.Move{m}) {
			t.Errorf("%s: %+v, want the current moves", q, got)
		}
	}
}

// A map that has applied no raft entry has index 0, for which
// ShardRegistry.Await answers at once: the wait ends with any change
// instead, so a client is not answered in a loop.
func TestGetMovesAtIndexZeroWaitsForAChange(t *testing.T) {
	reg := placement.NewShardRegistry()
	node := placementtest.NewFakeRaft(nil)
	node.SetLeader(true)
	sched, err := placement.New(node, reg, placement.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h, err := admin.New(admin.Options{Scheduler: sched, Registry: reg, Node: node, Raft: newFakeRaft(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{reg: reg, h: h}
	answer := make(chan *httptest.ResponseRecorder, 1)
	go func() { answer <- e.do(http.MethodGet, "/moves?index=0&wait=20s", "", "") }()
	for n := placement.NodeID(1); ; n++ {
		if err := reg.Apply(placement.AddNode{Node: n}); err != nil {
			t.Fatal(err)
		}
		select {
		case rec := <-answer:
			var got movesAnswer
			decode(t, rec, http.StatusOK, &got)
			if got.Index != 0 || len(got.Moves) != 0 {
				t.Errorf("answer %+v", got)
			}
			return
		case <-time.After(10 * time.Millisecond): // the poll may not have begun: change the map again
		}
	}
}

func TestGetMovesRefusesBadQueries(t *testing.T) {
	e := newEnv(t)
	for want, queries := range map[string][]string{
		"node:":                   {"?node=0", "?node=01", "?node=x", "?node=-1"},
		"index:":                  {"?index=-1", "?index=01", "?index=x"},
		"wait:":                   {"?index=1&wait=0s", "?index=1&wait=-1s", "?index=1&wait=soon", "?index=1&wait=10"},
		"needs index":             {"?wait=1s"},
		"given twice":             {"?node=1&node=2", "?index=1&index=1"},
		"unknown query parameter": {"?limit=5", "?Node=1"},
	} {
		for _, q := range queries {
			t.Run(q, func(t *testing.T) {
				requireError(t, e.do(http.MethodGet, "/moves"+q, "", ""), http.StatusBadRequest, want)
			})
		}
	}
}
