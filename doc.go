// Package placement decides where the key-range shards of a Go database
// live, on the leader of the database's own hashicorp/raft cluster: when a
// shard is split, when two small neighbours are merged, and when a shard
// moves from a crowded node to an emptier one. Every decision is a command
// committed through the raft log, so every replica holds the same placement
// map and a new leader carries on where the old one stopped.
//
// Status: the ShardRegistry, View, the commands and their wire format,
// Imbalance, Policy and Config exist. The Coordinator, Scheduler, FSM and
// RaftNode described below are planned but not built yet; this documentation
// gives only their roles, not their final APIs.
//
// # The pieces
//
// [ShardRegistry] is the placement map: data nodes, each with a
// [NodeState], and shards, each a [KeyRange] with an owning node and an
// epoch. It is the replicated state. The only way to change placement is
// [ShardRegistry.Apply], which is deterministic and checks every
// precondition; a command that no longer fits (a stale epoch, a wrong owner,
// an unknown shard) is rejected as a no-op with an error wrapping
// [ErrRejected], and never blocks the log.
//
// A [View], from [ShardRegistry.View], is a consistent snapshot of the map.
// Taking one costs O(1) (copy-on-write), so readers never hold the
// registry's lock and never stall Apply. [Imbalance] measures how unevenly
// a View's shards are spread over the up nodes.
//
// [Command] values (AddNode, SetNodeState, RemoveNode, CreateShard,
// PlaceSplit, PlaceMerge, PlaceTransfer) are the changes. [Encode] packs a
// batch of them into one raft log entry and [Decode] unpacks it. Placement
// commands carry the epochs they were planned on, so duplicates, stale
// commands from an old leader, and commands left in doubt by a lost
// leadership apply as harmless no-ops.
//
// The Coordinator (planned) is the pure planner: given a View, a [Policy]
// and a limit it returns a Plan of commands plus the reasons it skipped
// other candidates. In order of concern it drains draining nodes, splits
// oversized shards, merges undersized neighbours and rebalances shard
// counts.
//
// The Scheduler (planned) is the driver. On the raft leader it ticks every
// [Config].TickInterval: it issues a raft barrier once per term so it never
// plans on a stale map, asks the Coordinator for at most MaxActionsPerTick
// commands, and proposes them as one log entry. On a follower it does
// nothing.
//
// The FSM (planned) is the raft.FSM over a ShardRegistry: it decodes each
// entry and applies its commands in order, and snapshots and restores the
// registry. RaftNode (planned) is the small interface the Scheduler proposes
// through, with an adapter for *raft.Raft.
//
// Wired together:
//
//	host ── ReportStats ──► ShardRegistry ◄── Apply ── FSM ◄── raft log
//	                            │ View()                         ▲
//	                            ▼                                │
//	           Scheduler ─► Coordinator.Plan ─► Encode ─► RaftNode.Apply
//
// # What the host must do
//
//  1. Report shard sizes with [ShardRegistry.ReportStats] on whichever node
//     sees them. Stats are soft state: not replicated, not in snapshots, and
//     never consulted by Apply. A shard whose stats are unknown is neither
//     split nor merged.
//  2. Act on transfers. The registry only records that a shard's owner
//     changed; moving the data from the old owner to the new one is the
//     host's job.
//  3. Route this package's log entries to the FSM. A host with its own
//     raft.FSM recognises them by their header ([IsEntry]) and hands them on.
//  4. Add nodes and bootstrap shards through commands (AddNode,
//     SetNodeState, RemoveNode, CreateShard) committed through raft, never by
//     changing a registry directly, so that every replica sees the change.
//
// # Concurrency
//
//   - A ShardRegistry is safe for concurrent use. ReportStats and View may
//     be called from any goroutine.
//   - ShardRegistry.Apply changes replicated state, so it is called from one
//     place: the raft apply goroutine, through the FSM. Calling it anywhere
//     else makes replicas diverge.
//   - A View is immutable and safe to read from any goroutine, however long
//     it is held; later Applies do not change it.
//   - Coordinator.Plan is pure: no goroutines, locks, clock, logging or I/O;
//     the same View and Policy give the same Plan.
//   - The Scheduler (planned) runs in a goroutine its caller owns: Run
//     blocks until its context ends, and Start returns a handle that stops
//     it and waits for it. No constructor starts a goroutine.
package placement
