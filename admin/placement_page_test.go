package admin_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin"
)

// placementPage is GET /placement's page: the map's header and a page of
// shards, with the cursor of the next page.
type placementPage struct {
	placementJSON
	Next *uint64 `json:"next"`
}

// withShards returns a leader env whose map holds n shards over nodes 1
// to 3, with IDs 1 to n in key order.
func withShards(t testing.TB, n int) *env {
	t.Helper()
	e := newEnv(t)
	cmds := make([]placement.Command, 0, n)
	for i := range n {
		rng := placement.KeyRange{Start: key(i), End: key(i + 1)}
		if i == 0 {
			rng.Start = nil
		}
		if i == n-1 {
			rng.End = nil
		}
		cmds = append(cmds, placement.CreateShard{Range: rng, Node: placement.NodeID(1 + i%3)})
	}
	for len(cmds) > 0 {
		batch := cmds[:min(len(cmds), 10_000)]
		cmds = cmds[len(batch):]
		resp, err := e.node.Apply(context.Background(), placement.Encode(batch...))
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(resp.([]error)...); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func key(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

// getPage reads one page of GET /placement.
func getPage(t *testing.T, e *env, query string) placementPage {
	t.Helper()
	var p placementPage
	decode(t, e.do(http.MethodGet, "/placement"+query, "", ""), http.StatusOK, &p)
	return p
}

// Following the cursor from the first page reads every shard once, in
// ID order, each page at most the limit; the last page has no cursor.
func TestGetPlacementPages(t *testing.T) {
	e := withShards(t, 25)
	// Merge shards 4 and 5 (nodes 1 and 2: 5 moves first): a hole in the
	// IDs is skipped.
	e.apply(t, placement.PlaceTransfer{Shard: 5, Epoch: 1, From: 2, To: 1})
	s4, _ := e.reg.View().Shard(4)
	s5, _ := e.reg.View().Shard(5)
	e.apply(t, placement.PlaceMerge{Left: 4, LeftEpoch: s4.Epoch, Right: 5, RightEpoch: s5.Epoch})

	var ids []uint64
	query, pages := "?limit=10", 0
	for {
		p := getPage(t, e, query)
		pages++
		if len(p.Shards) > 10 || len(p.Nodes) != 3 || p.NextShardID != 26 {
			t.Fatalf("page %d: %d shards, %d nodes, next_shard_id %d", pages, len(p.Shards), len(p.Nodes), p.NextShardID)
		}
		for _, s := range p.Shards {
			ids = append(ids, s.ID)
		}
		if p.Next == nil {
			break
		}
		if *p.Next != ids[len(ids)-1] {
			t.Fatalf("next %d, want the last ID on the page, %d", *p.Next, ids[len(ids)-1])
		}
		query = fmt.Sprintf("?limit=10&after=%d", *p.Next)
	}
	if pages != 3 || len(ids) != 24 {
		t.Fatalf("%d pages, %d shards: %v", pages, len(ids), ids)
	}
	for i, id := range ids {
		want := uint64(i + 1)
		if i >= 4 {
			want++ // 5 was merged into 4
		}
		if id != want {
			t.Fatalf("shards %v, want 1 to 25 but 5, in order", ids)
		}
	}
	// A page that ends exactly at the last shard has no cursor.
	if p := getPage(t, e, "?after=15"); len(p.Shards) != 10 || p.Next != nil {
		t.Errorf("after 15: %d shards, next %v", len(p.Shards), p.Next)
	}
	// After the largest ID there is nothing.
	if p := getPage(t, e, "?after=18446744073709551615"); len(p.Shards) != 0 || p.Next != nil {
		t.Errorf("after 2^64-1: %d shards, next %v", len(p.Shards), p.Next)
	}
	// The default limit holds them all here.
	if p := getPage(t, e, ""); len(p.Shards) != 24 || p.Next != nil {
		t.Errorf("default page: %d shards, next %v", len(p.Shards), p.Next)
	}
}

func TestGetPlacementPageLimits(t *testing.T) {
	e := withShards(t, admin.MaxPlacementLimit+1)
	if p := getPage(t, e, ""); len(p.Shards) != admin.DefaultPlacementLimit || p.Next == nil || *p.Next != admin.DefaultPlacementLimit {
		t.Errorf("default page: %d shards, next %v", len(p.Shards), p.Next)
	}
	max := getPage(t, e, fmt.Sprintf("?limit=%d", admin.MaxPlacementLimit))
	if len(max.Shards) != admin.MaxPlacementLimit || max.Next == nil {
		t.Errorf("largest page: %d shards, next %v", len(max.Shards), max.Next)
	}
	for _, tc := range []struct{ query, want string }{
		{query: "?limit=0", want: "limit: want an integer from 1 to 10000"},
		{query: "?limit=10001", want: "limit: want an integer from 1 to 10000"},
		{query: "?limit=-1", want: "limit: want an integer from 1 to 10000"},
		{query: "?limit=01", want: "limit: want an integer from 1 to 10000"},
		{query: "?limit=x", want: "limit: want an integer from 1 to 10000"},
		{query: "?limit=1&limit=2", want: `"limit": given twice`},
		{query: "?after=0", want: "after: want a shard ID"},
		{query: "?after=x", want: "after: want a shard ID"},
		{query: "?after=", want: "after: want a shard ID"},
		{query: "?afterr=3", want: `unknown query parameter "afterr"`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			requireError(t, e.do(http.MethodGet, "/placement"+tc.query, "", ""), http.StatusBadRequest, tc.want)
		})
	}
}

// discard is a ResponseWriter that keeps nothing of the body.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// pageBytes returns the bytes allocated to serve one page of limit shards
// (the least of three tries, against background noise).
func pageBytes(e *env, limit int) uint64 {
	least := ^uint64(0)
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/placement?limit=%d", limit), nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e.h.ServeHTTP(&discard{h: http.Header{}}, req)
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// A page costs memory in proportion to its limit, not to the map: the
// body is encoded as it is written.
func TestGetPlacementMemoryIsPerPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a map of 100,000 shards")
	}
	small, large := withShards(t, 10_000), withShards(t, 100_000)
	a, b := pageBytes(small, 1000), pageBytes(large, 1000)
	t.Logf("one page of 1000 shards: %d bytes allocated at 10k shards, %d at 100k", a, b)
	if b > 2*a || b > 4<<20 {
		t.Errorf("a page allocates %d bytes at 100k shards, %d at 10k: not bounded by the page", b, a)
	}
}

// BenchmarkGetPlacementPage serves one page of the default limit from maps
// of growing size: bytes and allocations a page stay flat.
//
//	cd admin && go test -run '^$' -bench GetPlacementPage -benchmem
func BenchmarkGetPlacementPage(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			e := withShards(b, n)
			req := httptest.NewRequest(http.MethodGet, "/placement?after=5000", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.h.ServeHTTP(w, req)
			}
		})
	}
}
