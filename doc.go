// Package placement decides where the key-range shards of a Go database
// live, on the leader of the database's own hashicorp/raft cluster: when a
// shard is split, when two small neighbours are merged, and when a shard
// moves from a crowded node to an emptier one. Every decision is a command
// committed through the raft log, so every replica holds the same placement
// map and a new leader carries on where the old one stopped.
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
// Taking one costs O(1) (copy-on-write B-trees), so readers never hold the
// registry's lock and never stall Apply. [Imbalance] measures how unevenly
// a View's shards are spread over the up nodes.
//
// [Command] values ([AddNode], [SetNodeState], [RemoveNode], [CreateShard],
// [PlaceSplit], [PlaceMerge], [PlaceTransfer]) are the changes. [Encode]
// packs a batch of them into one raft log entry and [Decode] unpacks it.
// Placement commands carry the epochs they were planned on, so duplicates,
// stale commands from an old leader, and commands left in doubt by a lost
// leadership apply as harmless no-ops.
//
// [Coordinator] is the pure planner: [Coordinator.Plan] takes a View and a
// limit and returns a [Plan] of commands plus the reasons ([Skip]) it left
// other candidates out. In order of concern it drains draining nodes, splits
// oversized shards, merges cold neighbours and rebalances shard counts with
// the fewest possible transfers. Its thresholds are a [Policy].
//
// [Scheduler] is the driver. On the raft leader it ticks every
// [Config].TickInterval: it issues a raft barrier once per term (and after
// any proposal whose outcome was unknown) so it never plans on a stale map,
// asks the Coordinator for at most MaxActionsPerTick commands, and proposes
// them as one log entry. On a follower it does nothing.
//
// [FSM] is the raft.FSM over a ShardRegistry: it decodes each entry and
// applies its commands in order, and snapshots and restores the registry,
// next-shard-ID counter included. [RaftNode] is the small interface the
// Scheduler proposes through; [NewRaftNode] adapts a *raft.Raft. Package
// placementtest has a fake RaftNode and a harness of real in-memory raft
// servers for tests.
//
// Wired together:
//
//	host ── ReportStats ──► ShardRegistry ◄── Apply ── FSM ◄── raft log
//	                            │ View()                         ▲
//	                            ▼                                │
//	           Scheduler ─► Coordinator.Plan ─► Encode ─► RaftNode.Apply
//
// In code, on every raft server:
//
//	reg := placement.NewShardRegistry()
//	fsm := placement.NewFSM(reg, placement.WithApplyFunc(onPlacementChange))
//	r, err := raft.NewRaft(raftConf, fsm, logStore, stableStore, snapshots, transport)
//	node := placement.NewRaftNode(r)
//	defer node.Close()
//	sched, err := placement.New(node, reg, placement.DefaultConfig())
//	handle := sched.Start()
//	defer handle.Stop()
//
// # What the host must do
//
//  1. Report shard sizes with [ShardRegistry.ReportStats], at least on the
//     servers that may lead (the leader plans with its own registry's
//     stats). Stats are soft state: not replicated, not in snapshots, and
//     never consulted by Apply. A shard whose stats are unknown is neither
//     split nor merged.
//  2. Act on placement changes. The registry only records that a shard
//     split, merged or changed owner; moving the data is the host's job. The
//     FSM's apply callback ([WithApplyFunc]) reports each applied command.
//  3. Route this package's log entries to the FSM. A host with its own
//     raft.FSM recognises them by their header ([IsEntry]), hands them to
//     [FSM.ApplyEntry], and includes [View.WriteSnapshot] output in its own
//     snapshots ([ShardRegistry.ReadSnapshot] restores it).
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
//     the same View, limit and Policy give the same Plan. Its only memory is
//     whether rebalancing is in progress (hysteresis). A Coordinator is not
//     safe for concurrent use; the Scheduler owns its own.
//   - The Scheduler runs in a goroutine its caller owns: Run blocks until
//     its context ends, and Start returns a [Handle] that stops it and waits
//     for it. No constructor starts a goroutine. Tick, Pause, Resume and
//     DryRun are safe to call from any goroutine.
package placement
