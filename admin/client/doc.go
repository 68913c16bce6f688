// Package client is a typed client of the placement admin API (package
// admin) for data nodes that are not raft servers: it learns the moves in
// flight, completes or aborts them, reports stats, and makes the
// operator's calls, over HTTP to whichever server answers.
//
// # Use
//
//	c, err := client.New(client.Config{
//		Servers: []string{"http://10.0.0.1:8001", "http://10.0.0.2:8001", "http://10.0.0.3:8001"},
//		Token:   token,
//	})
//	if err != nil { ... }
//	// Stats: every 10s, to every server.
//	go c.Heartbeat(ctx, 10*time.Second, func() client.Report {
//		return client.Report{Node: self, Capacity: diskBytes, Shards: engine.Stats()}
//	}, nil)
//	// Moves: level-triggered, from the leader's map.
//	for token := uint64(0); ctx.Err() == nil; {
//		moves, next, err := c.WatchMoves(ctx, token)
//		if err != nil { continue } // after a pause
//		token = next
//		for _, m := range moves {
//			if m.To == self { copyThen(m, c.CompleteTransfer) } // or c.AbortTransfer
//		}
//	}
//
// The Client is a placement.Completer and a placement.MoveSource, so a
// placement Mover can run on a data node with it as on a raft server with
// the Scheduler and the ShardRegistry.
//
// # Servers and retries
//
// Any server takes any call: a follower forwards a write of replicated
// state to the leader (one hop) and relays its answer, which then carries
// X-Placement-Forwarded-To. The client tries first the server that last
// answered, and moves on to the next on a failure that proves the call
// was not proposed: no connection, 421 (to the leader the 421 names, when
// it is one of Config.Servers), 410 (a server that left the cluster), or
// 503 without "outcome" (no leader yet). It waits Config.Backoff, doubling
// up to Config.MaxBackoff, between tries (not after a 421 naming the
// leader), makes at most Config.Attempts tries, and stops when ctx ends.
//
// Reads are retried after any failure. A write whose request was sent and
// whose outcome is unknown (503 with "outcome": "unknown", or a connection
// lost after the request went out) is not retried: its error wraps
// ErrOutcomeUnknown, since it may have applied. CompleteTransfer and
// AbortTransfer are the exception: they are idempotent (a retry of an end
// that applied answers as the first did), so the client retries them.
//
// Rejections come back as an *Error whose Unwrap is the placement
// sentinel named by the answer's "code" (placement.ErrStaleEpoch,
// ErrNotMoving, ErrUnknownShard, ErrNodeExists, ...), each wrapping
// placement.ErrRejected: errors.Is works as with the Scheduler's errors.
//
// # Stats
//
// Stats are soft state that each server keeps for itself, and the
// planner runs on whichever server leads, so ReportStats and
// ReportNodeStats send to every server, once each, and join the errors;
// the next heartbeat is the retry.
//
// # Moves
//
// WatchMoves long-polls GET /moves with the map's raft index, which is
// the same on every replica, so its token is good on any server. A
// follower's map may lag the leader's; after an answer from a follower
// that names the leader's admin URL (one of Config.Servers), the client
// prefers the leader.
package client
