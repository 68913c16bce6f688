package placement

import (
	"context"
	"slices"
)

// Index returns the raft index of the last log entry the FSM had applied
// to the registry when the View was taken: the same on every replica for
// the same map, so a client can carry it from one server to another. It
// is 0 before the FSM applies an entry (and after a restart it stays at 0
// until the first entry applies after the snapshot's restore; see
// ShardRegistry.Await). Commands applied with ShardRegistry.Apply do not
// move it.
func (v View) Index() uint64 { return v.index }

// applied records that the FSM applied (or rejected) the entry at index.
func (g *ShardRegistry) applied(index uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if index > g.index {
		g.index = index
	}
	g.wake()
}

// wake releases Await's waiters: the map changed. g.mu must be held.
func (g *ShardRegistry) wake() {
	g.gen++
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}

// Await returns a View once the registry's index passes index (the FSM
// has applied a later entry, whether or not it changed the map), or, when
// ctx ends first, the current View and ctx's error. With index 0 it
// returns at once. Changes that do not move the index (ShardRegistry.Apply,
// a snapshot's restore) do not end the wait; WatchMoves wakes on those.
//
// It is the long poll behind the admin API's GET /moves?index=K: a client
// that passes the Index of the last View it saw, from any server, wakes
// when a later entry has applied.
func (g *ShardRegistry) Await(ctx context.Context, index uint64) (View, error) {
	for {
		v, _, changed := g.watch()
		if index == 0 || v.index > index {
			return v, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return g.View(), ctx.Err()
		}
	}
}

// watch returns the current View, the registry's change count, and a
// channel closed at the next change (see wake).
func (g *ShardRegistry) watch() (View, uint64, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shared = true
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return View{s: g.cur, index: g.index}, g.gen, g.changed
}

// WatchMoves implements MoveSource from the map this registry holds, for
// a data node that is also a raft server: the moves in flight and a token
// for the next call. With token 0 it answers at once; with the token of
// its last answer it waits until the map changes (any command applied or
// a snapshot restored) or ctx ends (then it returns ctx's error). The
// token is this registry's own: do not carry it to another server.
func (g *ShardRegistry) WatchMoves(ctx context.Context, token uint64) ([]Move, uint64, error) {
	for {
		v, gen, changed := g.watch()
		if token == 0 || gen != token {
			return slices.Collect(v.Moves()), gen, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, token, ctx.Err()
		}
	}
}
