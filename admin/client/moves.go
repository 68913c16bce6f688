package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/internal/wire"
)

var (
	_ placement.Completer  = (*Client)(nil)
	_ placement.MoveSource = (*Client)(nil)
)

// CompleteTransfer tells the leader that m.To holds shard m.Shard's data
// (POST /moves/complete), with the contract of
// placement.Scheduler.CompleteTransfer: nil when m.To owns the shard,
// also for a retry of a completion that applied; an error wrapping
// placement.ErrStaleEpoch or ErrNotMoving (and ErrRejected) when the move
// was aborted and the copy is not the owner's; ErrUnknownShard when the
// shard is gone; any other error: unknown, call again. A completion is
// idempotent, so the client retries it after an unknown outcome too.
func (c *Client) CompleteTransfer(ctx context.Context, m placement.Move) error {
	return c.endMove(ctx, "/moves/complete", m)
}

// AbortTransfer tells the leader that the copy of move m failed (POST
// /moves/abort): nil means the move is aborted, m.From owns the shard and
// the copy on m.To may be discarded; errors are as for CompleteTransfer
// (ErrStaleEpoch: the move completed, or was ended otherwise). It is
// retried as CompleteTransfer is.
func (c *Client) AbortTransfer(ctx context.Context, m placement.Move) error {
	return c.endMove(ctx, "/moves/abort", m)
}

func (c *Client) endMove(ctx context.Context, path string, m placement.Move) error {
	return c.do(ctx, call{method: http.MethodPost, path: path, body: m, kind: idempotent}, nil)
}

// WatchMoves implements placement.MoveSource over GET /moves: with token
// 0 it answers at once; with the token of its last answer it long-polls
// (Config.WatchWait at a time) until the map has changed since, and may
// answer with nothing new when the wait ends. The token is opaque (the
// map's raft index, plus one), and is good on any server of the cluster:
// a server behind it waits until it has caught up. After an answer from a
// follower that names the leader's admin URL, and the URL is one of
// Config.Servers, the client asks the leader next.
func (c *Client) WatchMoves(ctx context.Context, token uint64) ([]placement.Move, uint64, error) {
	cl := call{method: http.MethodGet, path: "/moves", kind: read}
	if token > 0 {
		cl.path = fmt.Sprintf("/moves?index=%d&wait=%s", token-1, c.cfg.WatchWait)
		cl.wait = c.cfg.WatchWait
	}
	body, err := c.moves(ctx, cl)
	if err != nil {
		return nil, token, err
	}
	return body.Moves, body.Index + 1, nil
}

// Moves returns the moves in flight into or out of node, or every move
// when node is 0, as the server the client prefers sees them (GET /moves).
func (c *Client) Moves(ctx context.Context, node placement.NodeID) ([]placement.Move, error) {
	cl := call{method: http.MethodGet, path: "/moves", kind: read}
	if node != 0 {
		cl.path = fmt.Sprintf("/moves?node=%d", node)
	}
	body, err := c.moves(ctx, cl)
	return body.Moves, err
}

// moves reads GET /moves and, if a follower answered naming the leader,
// prefers the leader from then on.
func (c *Client) moves(ctx context.Context, cl call) (wire.Moves, error) {
	var body wire.Moves
	if err := c.do(ctx, cl, &body); err != nil {
		return wire.Moves{}, err
	}
	if i := c.index(body.LeaderAdmin); !body.Leader && i >= 0 {
		c.remember(i)
	}
	return body, nil
}

// ReportProgress tells every server (POST /moves/progress) that the copy
// of move m has made copied bytes so far: soft state that each server
// keeps for itself (placement.ShardRegistry.ReportProgress), as
// ReportStats sends stats, since any server may be the next leader. The
// leader aborts a move with reports once Policy.MoveTimeout passes without
// its figure growing, so report more often than that. Each request is
// tried once (the next report is the retry); the error joins every
// server's failures, among them 404 from a server that does not hold the
// move in flight (ended, or a follower behind).
func (c *Client) ReportProgress(ctx context.Context, m placement.Move, copied uint64) error {
	body := wire.Progress{Shard: m.Shard, Epoch: m.Epoch, From: m.From, To: m.To, Copied: copied}
	if !m.Began.IsZero() {
		body.Began = m.Began.UTC().Format(time.RFC3339Nano)
	}
	cl := call{method: http.MethodPost, path: "/moves/progress", body: body}
	return c.everyServer(func(server string) error { return c.once(ctx, server, cl) })
}
