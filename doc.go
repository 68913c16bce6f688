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
// other candidates out. In order of concern it drains draining nodes (and
// re-homes the shards of lost ones), splits oversized and hot shards,
// merges cold neighbours (bringing them onto one node first), and
// rebalances bytes against node capacity and load, keeping
// shard counts within a tolerance; with no sizes known it rebalances shard
// counts with the fewest possible transfers. Each kind of work has a quarter
// of the plan's limit reserved, so none waits on another for more than a
// tick (a long drain does not hold back splits), and candidates on nodes
// that are not up cost no scan budget. Its thresholds are a [Policy];
// "How the planner balances" below is its design.
//
// [Scheduler] is the driver. On the raft leader it ticks every
// [Config].TickInterval: it issues a raft barrier once per term (and after
// any proposal whose outcome was unknown) so it never plans on a stale map,
// asks the Coordinator for at most MaxActionsPerTick commands, and proposes
// them as one log entry. When a plan starts or ends a rebalance the entry
// also carries a [SetRebalancing] (once the cluster is at format version
// 2), so the hysteresis is replicated with the plan: a new leader resumes
// exactly what the log says is in
// progress, and errors within a term (a busy leader's enqueue timeout)
// change nothing. On a follower it does nothing.
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
//	err = placement.Bootstrap(ctx, node, reg, placement.AddNode{Node: 1},
//		placement.CreateShard{Range: placement.KeyRange{}, Node: 1}) // a new cluster's first map
//	sched, err := placement.New(node, reg, placement.DefaultConfig())
//	handle := sched.Start()
//	defer handle.Stop()
//
// # How the planner balances
//
// What a database feels is bytes on disk and work per node, not shard
// counts, so the planner balances three dimensions over the up nodes, each
// in proportion to the node's capacity share capᵢ / Σ cap
// ([NodeStats].Capacity, reported with [ShardRegistry.ReportNodeStats]; an
// unknown capacity counts as the mean known one, and with none known every
// up node is equal):
//
//   - bytes ([Stats].Bytes): the primary objective. Node i's target is
//     total × shareᵢ; its ratio is bytesᵢ / targetᵢ, and the spread
//     (Plan.Balance.Bytes) is the largest ratio minus the smallest.
//   - shard counts: a constraint, not an objective. No bytes or load move
//     takes a node's count outside its share of the count ±
//     Policy.CountTolerance (25%), since each shard costs something of its
//     own; a repair phase moves the smallest shards when merges, splits,
//     drains or cold-neighbour moves leave a node outside that band, as far
//     as the bytes band allows. The count band bends before bytes do: a
//     node holding a few large shards against one holding many small ones
//     can stay outside it, and the repair reports it as
//     [SkipCountBandInfeasible] rather than push bytes out of their band.
//     Where the count band refuses every single bytes move between two
//     nodes, the bytes phase swaps a large shard for a small one.
//   - load ([Stats].Load, a host-defined rate): balanced the same way, with
//     its own trigger and stop band (Policy.LoadThreshold, LoadStopBand).
//
// Shards whose stats are unknown count at the mean known size and load.
// When no bytes are known at all the planner balances counts as described
// under "Move-optimal counts", and load, if reported, with counts as the
// dimension whose band load moves keep.
//
// One rule weighs capacity, in every phase and in count mode too: a
// node's target in any dimension is its capacity share of the total, and
// a spread, a band or a trigger is measured on amountᵢ / targetᵢ. Drains
// and cold-neighbour moves pick the node least full for its share. With
// equal or unknown capacities every share is 1/n, and the figures are the
// unweighted ones: Plan.Balance.Count is then exactly Plan.Imbalance.
//
// The dimensions do not fight because each phase owns one dimension and may
// only use the others' slack, never push them out of their bands (the rule
// CockroachDB's allocator applies to its dimensions; PD keeps a separate
// tolerance for size in the same spirit):
//
//  1. Rebalancing by bytes starts when the byte spread exceeds
//     Policy.ImbalanceThreshold and goes on down to Policy.StopBand
//     (hysteresis in bytes); it ends there only once no move out of an
//     up node is in flight (see "Moves"). The same holds for load.
//     Each move goes from the node furthest above
//     its target to the one furthest below, keeps both nodes' counts in
//     their band and their load within ±(LoadThreshold+LoadStopBand)/4 of
//     target (the load slack).
//     Where the count band refuses a single move (the source at its
//     lowest count, or the destination at its highest), a shard of the
//     source goes for one of the destination at most half the net size
//     coming back (a swap): counts stay, the net bytes obey the rules of a
//     single move, and no swap moves more than twice the bytes it evens
//     out.
//  2. The count repair phase keeps bytes within ±(ImbalanceThreshold +
//     StopBand)/4 (the bytes slack) and load within the load slack, and
//     reports the nodes it must leave
//     outside their count band (SkipCountBandInfeasible).
//  3. Rebalancing by load keeps bytes within the bytes slack and counts
//     in their band. A move that would break those is paired with a
//     colder shard of about the same size coming back (a swap).
//
// A slack is half the midpoint between a dimension's stop band and its
// trigger, so moves made for one dimension leave another's spread short of
// its trigger by half the hysteresis: noise in the stats cannot then lift
// it over the trigger (see "The stability contract").
//
// Within a phase, every move narrows the gap between its source and
// destination in that phase's dimension: moving x changes the gap of ratios
// by −x·(1/tₛ + 1/t_d), so x must stay below 2·gap / (1/tₛ + 1/t_d) (the
// no-ping-pong rule). That is exactly the condition for the move to lower
// Σ (amountᵢ − targetᵢ)² / targetᵢ in its dimension. Bands alone cannot stop
// two phases from undoing each other when one of them is stuck above its
// trigger, so every bytes and load move must also lower the sum of the two
// potentials, each divided by its total squared (a swap counts as one
// move). Count repairs only ever bring a node closer to its count band, and
// no bytes or load move takes one out of it. So, with fixed stats, every balancing
// move lowers the count violation, or leaves it and lowers the potential: no
// placement recurs, and planning reaches a fixed point, an empty plan. When
// sizes are known this replaces the count planner's "never moves a shard
// twice": a move that overshoots its target (the best fit may be a little
// larger than the gap) can be followed by a smaller one back, but there is
// never a cycle.
//
// Which shard: the ideal size closes the smaller of the source's excess and
// the destination's deficit, spread over the shards the destination still
// needs to reach its count band (so a node that joins empty gets shards of
// the right size and number at once), but no thinner than the source can
// afford above its own count band. Of the few shards of the source nearest
// that size (byNode is ordered by size), the closest that narrows the pair
// and keeps the other bands is moved. Every move goes from above target to
// below it, so the bytes moved stay near the lower bound Σ max(0, bytesᵢ −
// targetᵢ), which each plan reports as Plan.MinBytes; on the scenarios in
// TestTargetNewNodeBytes and examples/simulate the planner moves 0.93–0.98 ×
// that bound, since it stops at the stop band rather than at exact targets.
//
// Hot shards: a shard whose load alone exceeds its node's fair share of
// load is split at the host's split-key hint (load-based splitting), or
// reported as [SkipHotNoSplitKey] when there is none. Such a shard is moved
// only when the move lowers the hotter node of the pair: the source's load
// after it and the destination's load after it are both below the source's
// load before it, relative to their fair shares (with equal capacities, the
// destination's load plus the shard's, net of a cold shard coming back in
// a swap, is below the source's load). Otherwise moving it would only move
// the hot spot, and it is reported as [SkipHotShard]. Like any load move it
// keeps counts and bytes in their bands and narrows the pair, so several
// hot shards that cannot be split end on different nodes. Cold neighbours on different
// nodes are brought onto one node by a transfer, and merged by the next
// plan; two cold shards merge only while the result stays below
// MergeMaxFraction of the split thresholds and of the node's fair load.
//
// Cost: the planner reads per-node sums the registry maintains on every
// change (Usage: known shards, bytes and load; O(nodes) to read), its
// indexes (byNode ordered by size, by keys, by bytes, and byLoad, the shards
// with load > 0, by node and hottest first: 13 bytes a shard measured
// when every shard reports a load, none otherwise; the registry keeps each
// node's hottest load, so hot splits look only into nodes that hold a hot
// shard), and per
// phase makes one pass over the up nodes that keeps the few best sources,
// destinations and extremes; after that a move costs a few O(log shards)
// lookups and O(log nodes + moves planned so far) to pick its nodes.
// A pick that fails rules out a node; after the plan's scan budget of
// failed picks a phase ends as stuck ([SkipScanBudget]), so a phase that
// cannot move (its spread above the trigger, no move that obeys the
// rules) costs no more than one that can, rather than a failed pick per
// node. The node records are read once per plan.
// Drains still pick each destination by a pass over the up nodes.
//
// # The stability contract
//
// Stats are never still: sizes grow, load comes and goes, and every report
// carries noise. A planner that chases each report trades shards back and
// forth. Ours keeps four rules, so that on a map with nothing to gain it
// moves nothing, whatever the noise:
//
//  1. Smoothing. [ShardRegistry.ReportStats] keeps each shard's load as an
//     exponentially decaying average whose weight halves every
//     Policy.LoadHalfLife reports (8), so one noisy report moves nothing.
//     Report the shard's recent rate at a steady cadence; the registry
//     averages.
//  2. A minimum gain. A load move, or a swap, is planned only when the
//     load it carries (net, for a swap) is at least Policy.MinGain (25%)
//     of the gap it addresses: the smaller of the source's excess and the
//     destination's shortfall, capped at the hottest shard the source
//     could send (no single move addresses more). So two shards are never
//     traded to shift a sliver of load. The bytes phase needs no such
//     rule: each byte it moves closes a byte of the gap, and it runs only
//     from ImbalanceThreshold down to StopBand, far above the noise of a
//     node's sum.
//  3. Settled phases. A balancing phase that runs above its trigger and
//     finds no move that obeys the rules (few large shards a node, a hot
//     shard without a split key) has left the nodes as even as their
//     shards allow. It records that it is settled, with the map it settled
//     on, reports [SkipSettled], and does not engage again until the map
//     changes materially: the up nodes change (a node joins, leaves or
//     changes state), an up node's shard count changes (a split, a merge,
//     a move made or aborted), or an up node's share of the dimension moves
//     by more than the phase's stop band. A settled plan costs one pass
//     over the up nodes. The memory is the Coordinator's, not the log's: a
//     new leader runs the phase once, under rules 2 and 4, and settles.
//  4. A cool-down. A shard that moved is not moved again by rebalancing
//     within Policy.MoveCooldown (30 minutes) of the log time of the entry
//     that completed its move, and, on a new leader, of its election if
//     the move was that recent in log time (so a clock that runs ahead
//     never cuts it short). A node that joins or comes up after the move
//     lifts it: the map changed, and the node needs shards. Rebalancing
//     never sends a shard back to the node it left within a day. Drains,
//     re-homing from a lost node, splits and merges are exempt. The registry keeps a day of
//     moves (MaxMoveCooldown), replicated from format version 5 and in
//     snapshots; before format version 5 there is no cool-down.
//
// Measured (examples/simulate, scenario noise: 12 nodes, 1,200 shards,
// Zipf load with an unsplittable hot shard, 300 ticks of noisy stats after
// settling): see the README for the figures. TestNoiseMovesNothingBack
// checks the contract on random converged maps.
//
// # Where the planner's pieces live
//
// For those changing the planner: a plan runs the phases listed in the
// phases table (coordinator.go), one file each: plan_drain.go,
// plan_split.go, plan_merge.go, plan_counts.go (counts, and the repair of
// counts while bytes are balanced), plan_bytes.go and plan_load.go. A
// phase uses four components, each a value with its contract in its own
// file: the ledger, the plan being built (plan_ledger.go); the projection
// of the map as the plan leaves it (plan_projection.go, with the moves in
// flight and the per-node caps in plan_inflight.go and the in-flight
// windows in plan_window.go); the lookups of candidate shards
// (plan_lookup.go); and, for the rebalancing phases, the balancer
// (plan_balance.go, over the dimensions of plan_dims.go) with the pair
// loop they share (plan_loop.go). The planner holds them as named fields
// (led, proj, look, bal, settle), not embedded: each phase reaches a
// component only through its methods. The settled phases (plan_settle.go)
// are the Coordinator's memory between plans; the cool-down reads the
// registry's recent moves (registry_recent.go) through the ledger, which
// treats a cooling shard as taken while a rebalancing phase runs. The
// churn budget and quiet hours (plan_churn.go) are checked before each
// rebalancing phase and, for the budget, by fits for each rebalancing
// transfer. A refusal is a returned value: a byte window's (or the
// budget's) refusal, and the node a failed pick blames.
//
// Every command a phase plans goes into the plan with its [Reason]
// (reason.go), through the ledger's use: the phase and dimension, the
// shard's stats, and the gap before and after. The pair loop measures a
// rebalancing move's spread from the extremes it keeps anyway, so the
// reasons cost a few stores per command planned and nothing per candidate
// weighed; the words are built only by Reason.String and MarshalJSON. The
// Scheduler logs them with the plan, counts the applied commands by phase
// (placement.planned) and keeps the newest in its journal
// ([Scheduler.Journal]).
//
// # Explanations
//
// The planner is pure, so it can say exactly why. [Coordinator.Explain]
// answers for one shard: its owner and state (moving, hot, due a split,
// recently split, cooling down and until when) and, for every up node
// other than its owner, the verdict on moving it there: allowed or not,
// the phase whose rule decides, the reason as a [SkipReason] (an in-flight
// window, the count band, the cool-down, a gain too small, ...), and the
// spread of each dimension had it moved, the best candidate first.
// [Coordinator.ExplainNode] answers for one node: for a node being
// drained, what is left, what is in flight, which windows hold the drain
// and why its first shards have not moved; for an up node, its targets,
// how far it is from them, and whether it is a source or a destination
// of each phase that runs. Both read the Coordinator without changing it
// (the next Plan is the same with or without them), cost a few lookups
// and a pass over the nodes however many shards there are, and judge
// with the planner's own rules on the map the next plan starts from, so
// the first move of the next plan is always one Explain allows
// (TestExplainAgreesWithPlan). Their JSON forms are what the admin
// server's /explain routes serve.
//
// # Move-optimal counts
//
// With no bytes known, rebalancing evens out shard counts relative to
// capacity. It starts when the count spread Plan.Balance.Count (max − min
// of countᵢ / targetᵢ; Plan.Imbalance with equal capacities) exceeds
// Policy.ImbalanceThreshold, and stops in a band: with S shards, node i's
// real target is tᵢ = S × shareᵢ, and at some common level ρ every node
// holds from ⌈ρ·tᵢ⌉ to ⌈ρ·tᵢ⌉ + max(1, ⌊StopBand × tᵢ⌋) shards: a
// spread within StopBand, or as even as one shard on each node allows.
// With equal capacities that is max − min ≤ max(1, ⌊StopBand × S/n⌋).
// Each node's target is the largest-remainder rounding of tᵢ (larger
// remainders first, then the nodes fullest above their floor, then the
// lowest ID; with equal capacities ⌊S/n⌋ or ⌈S/n⌉, the larger ones to the
// fullest nodes), within the band of least cost. Every transfer goes from
// a node above its target to one below, the furthest above the band to the
// furthest below it first, so a plan never moves a shard twice and reaches
// the band in exactly the minimum number of moves, which it reports as
// Plan.MinMoves (see countBand in plan_counts.go for why).
//
// # What the host must do
//
//  1. Report shard sizes (and load, if it balances load) with
//     [ShardRegistry.ReportStats], and node capacities with
//     [ShardRegistry.ReportNodeStats], at least on the servers that may
//     lead (the leader plans with its own registry's stats). Stats are soft
//     state: not replicated, not in snapshots, and never consulted by
//     Apply. A shard whose stats are unknown is neither split nor merged.
//  2. Move the data, and say when a move is done (see "Moves" below). The
//     FSM's apply callback ([WithApplyFunc], or [WithEffectFunc], which
//     also gives the ID a split or CreateShard took) reports each applied
//     command; after a snapshot install or a restart from a snapshot,
//     [WithRestoreFunc] gives the map before and after, and [Diff] lists
//     what changed, so a host reconciles on the map's state rather than
//     only on the commands it saw. A transfer whose From is a [NodeLost]
//     node re-homes a shard whose owner is gone for good: copy it from
//     replicas or backups. Declare a node lost with SetNodeState once it
//     will not come back (a down node keeps its shards), or let the leader
//     do it after Policy.DownTimeout; RemoveNode takes it out once it owns
//     nothing and nothing is moving into it.
//  3. Route this package's log entries to the FSM. A host with its own
//     raft.FSM recognises them by their header ([IsEntry]), hands them to
//     [FSM.ApplyEntryAt] with the log entry's AppendedAt, and includes
//     [View.WriteSnapshot] output in its own snapshots
//     ([FSM.RestoreFrom] restores it and calls the restore function; from
//     format version 3 it reads exactly what was written, so the host's
//     own data may follow, while older formats are read to the end and
//     need the host's framing: see [View.SnapshotSelfDelimiting]).
//  4. Add nodes and bootstrap shards through commands (AddNode,
//     SetNodeState, RemoveNode, CreateShard) committed through raft, never by
//     changing a registry directly, so that every replica sees the change.
//     [Bootstrap] proposes a new cluster's first map once a leader is
//     elected; [ApplyCommands] proposes later ones with a result for each.
//
// # Moves
//
// A transfer has two phases (from format version 3). PlaceTransfer begins
// a move: the shard keeps its owner, which goes on serving it, and
// [Shard.MovingTo] names the target. The host copies the data to the
// target, then proposes CompleteTransfer ([Scheduler.CompleteTransfer] on
// the leader), which makes the target the owner; or AbortTransfer when the
// copy fails. Every phase moves the shard to its next epoch, so a stale
// completion is rejected like any stale command; a shard in flight is not
// split, merged or moved again ([ErrShardMoving]). A node that leaves the
// up state (drained, down, lost) takes no more data: the moves into it are
// aborted as part of that state change. A node declared lost also loses
// the moves out of it (its copy can never finish): from format version 4
// in the same command (listed in [Effect].Aborted), at version 3 by the
// leader's next tick; either way the plan that follows re-homes those
// shards.
//
// A copy is level-triggered: the host works from [View.Moves], keyed by
// shard and epoch, not from the apply callback alone, since the copy and
// its completion may land on different leaders. Scheduler.CompleteTransfer
// answers nil exactly when the target owns the shard, its copy being the
// owner's data; a retry of a completion that applied (its answer lost with
// a change of leader) is answered nil too, never as an abort. Only
// ErrStaleEpoch or ErrNotMoving (the move was aborted, and the target does
// not own the shard) mean the copy may be discarded. From format version 4
// the command names its target (CompleteTransfer.To), so every replica
// answers so alike.
//
// [Mover] is that loop, built: give it a copy function, a [MoveSource]
// (the local [ShardRegistry] on a raft server, the admin API's client on a
// data node that is not one) and a [Completer] that reaches the leader
// (the admin client from any server; the [Scheduler] where the leader
// is). It copies the moves into its node with bounded concurrency,
// retries with backoff, cancels a copy whose move is aborted or begun
// again at a new epoch, and completes or aborts each move, retrying while
// the outcome is unknown. It keeps nothing it cannot learn from the map,
// so a leader change or a restart of its process loses no move.
//
// A move's deadline grows with its size: the leader aborts a move in
// flight longer than Policy.MoveTimeout (the base, default 10 minutes)
// plus its shard's bytes at Policy.MinCopyRate (default 10 MiB/s, at least
// 1 MiB/s: a 64 GiB shard gets 10 minutes plus 1 h 49 min), timed from its
// PlaceTransfer's log time (raft's Log.AppendedAt, held by every replica),
// so a change of leader neither forgets the clock nor restarts it. A host
// that reports a copy's progress ([ShardRegistry.ReportProgress], admin
// POST /moves/progress, or [ReportCopied] in a [Mover] whose OnProgress
// sends it on) has the move judged by it instead: the move lives while
// its copied bytes grow, and is aborted MoveTimeout after they last grew,
// however large the shard. Progress is soft state, on the leader's clock;
// report it to every server, more often than MoveTimeout.
//
// Since a move's log time comes from another server's clock, a new leader
// gives a move begun under another leader one MoveTimeout on its own
// clock from its election (time for the first progress report), and then
// aborts it only once its deadline plus MoveTimeout has passed since it
// began, or its whole deadline since the election: a leader whose clock
// runs ahead of its predecessor's by less than MoveTimeout, or steps
// forward as much, aborts nothing early. DownTimeout and a pause's TTL
// are judged the same way with their own length in both places. A
// failover can thus extend them by up to their length (a move's deadline
// by MoveTimeout), and never cut them short. The planner counts moves in flight as
// made when it weighs the nodes, so it never plans the same rebalance
// twice, and begins no move that would put more than
// Policy.MaxInflightPerNode moves, or MaxInflightBytesPerNode bytes, in
// flight into or out of any node ([SkipInflightWindow]); re-homing a lost
// node's shards is exempt on the lost node's side (it has no data to
// send), not on the target's. Hosts whose moves
// take no time (shared storage) set Policy.InstantMoves: each PlaceTransfer
// is proposed with its CompleteTransfer in one entry.
//
// Counting moves in flight as made is a projection, and an abort undoes
// it: the shard stays where it was. So the hysteresis does not end a
// rebalance on the projection alone: a rebalance (by bytes or counts, and
// by load, each on its own) whose projected spread reaches its stop band
// ends only when no move out of an up node is in flight and the plan
// begins none; until then it stays on, planning nothing in the band
// ([Plan].Rebalancing). When the moves complete, the next plan sees the
// real spread and ends the rebalance; when one is aborted, the spread it
// leaves may lie under the trigger, and the rebalance, still on, goes on
// (a new leader takes it up from the log's SetRebalancing). Moves out of
// nodes that are not up do not hold a rebalance: they are drains, and the
// drain plans an aborted one again whatever the rebalance.
//
// Before format version 3, PlaceTransfer moves the shard at once (the
// owner changes when the entry applies and the host copies afterwards), as
// releases before this one did; every replica applies it the same way.
// Raising the format to 3 therefore changes what the host must do: it
// completes moves from then on (or sets Policy.InstantMoves), or every move
// waits out MoveTimeout and is aborted. Make the host ready before the
// version is raised, by hand or by Config.ClusterFormat.
//
// A paused scheduler proposes nothing, aborts of timed-out moves included:
// they wait for the pause to end.
//
// # Forecasts
//
// The planner is pure, so what a change will cost can be known before it
// is made. [Forecast] applies the change (say an [AddNode], or a
// [SetNodeState] to NodeDraining) to a copy of a View and runs the planner
// on the copy, a plan a tick, applying each plan as the Scheduler would,
// until a plan finds nothing to do: it returns the moves and bytes moved,
// the splits and merges, the ticks, whether it converged, the spreads
// before and after, and an ETA. A [Forecaster] sets the pace: the copy
// rate of a move (moves complete in their tick without one; with one, they
// take bytes / rate, and the in-flight windows hold them as they would),
// the tick interval, the plan limit. The copy costs O(1) and each plan
// what it changes, so adding a node to a 1M-shard map forecasts in a
// fraction of a second; the View and its registry are untouched. A change
// that does not apply is an error naming it. The forecast assumes the data
// does not change and the host reports stats once a tick; examples/simulate
// prints each scenario's forecast beside its run, and where the workload
// holds still they agree exactly.
//
// # Operator settings
//
// The pause and the planner's settings are in the log too (format version
// 3), so every server plans alike and a change of leader keeps them.
// [Scheduler.Pause] proposes a [SetPause], optionally with an expiry: the
// leader whose clock passes it proposes the pause's end, so replicas never
// disagree on whether the cluster is paused. [Scheduler.SetPolicy]
// proposes a [SetPolicy]: from then on every leader plans with that Policy
// and MaxActionsPerTick rather than its own Config's. PauseLocal is a
// per-server override that is not replicated. Validate refuses a
// MoveTimeout below [MinMoveTimeout] and a MinCopyRate below
// [MinCopyRateFloor], naming the field, so a typo ("1ns") cannot make every
// move abort on the next tick. The impact limits below are Policy fields
// too (format version 6, tags 2 to 6 of the tagged SetPolicy), so they are
// replicated, in snapshots, and in PUT /policy's JSON as
// "churn_bytes_per_hour", "churn_shards_per_hour", "rebalance_windows"
// (an array of {"start", "end"} minutes after midnight UTC),
// "send_bytes_per_second" and "receive_bytes_per_second", each optional
// and left out at its default.
//
// # Impact limits
//
// Rate limits per node (Policy.SendBytesPerSecond, ReceiveBytesPerSecond)
// bound every move, drains included: a node takes a move only while its
// bytes in flight out of it (into it) can be copied within MoveTimeout at
// its rate, a byte window beside MaxInflightBytesPerNode, so a slow node
// takes fewer moves (SkipRateLimit names it). Two more settings bound how
// much, and when, rebalancing may move; neither ever holds a drain, a lost
// node's re-homing, a split or a merge, which keep the cluster safe rather
// than even.
//
// The churn budget (Policy.ChurnBytesPerHour, ChurnShardsPerHour) is the
// share of all bytes, and of all shards, that may have moved in any
// sliding hour ([ChurnWindow]). It is counted from the registry's
// replicated record of recent moves (their completion log times) and the
// moves in flight, against the Coordinator's clock ([Coordinator.SetClock]),
// so a new leader sees what its predecessor spent. Moves out of a node
// being emptied (drains, re-homing from a lost node) are not counted (see
// [ChurnState] for the edge cases); while a budget is set,
// rebalancing moves no shard that moved within the hour, so no move is
// hidden behind a later one of the same shard. Once a
// transfer would exceed it the rebalancing phases stop (SkipChurnBudget);
// [Coordinator.Churn] reports what is used and allowed, the leader's
// Scheduler emits it as placement.churn.bytes and placement.churn.shards
// while a budget is set, and Explain names the budget for a move it holds.
//
// Rebalancing windows (Policy.RebalanceWindows) are up to
// [MaxRebalanceWindows] UTC times of day at which rebalancing may begin
// transfers; outside them (quiet hours) the plan reports SkipQuietHours
// and balances nothing, and a window's start is an ordinary trigger: the
// per-plan caps, the windows in flight and the churn budget pace what
// follows, so the backlog of the quiet hours does not arrive at once.
// Moves already in flight when a window closes complete as usual.
//
// # Pressure
//
// A host may report a data node's foreground pressure, from 0 (idle) to 1
// (saturated), from its own admission control or load shedding
// ([ShardRegistry.ReportPressure]; POST /nodes/{id}/pressure in package
// admin, and client.Client.ReportPressure). The planner narrows the
// node's in-flight windows, into it and out of it, to (1 − pressure) of
// their moves (MaxInflightPerNode, rounded down) and bytes
// (MaxInflightBytesPerNode and the rate limits): with the default 4
// moves, pressure 0.3 leaves 2, 0.75 leaves 1, and above 0.75 no move
// begins into or out of the node, drains included, until it eases; a
// lone move larger than the narrowed byte window still goes while the
// move count allows one. Re-homing from a lost node is exempt on the lost node's
// side, as for the windows. A move held only by the narrowing is
// SkipPressure, in plans and in Explain; ExplainNode shows the pressure.
// It acts through the windows, so not under Policy.InstantMoves nor below
// format version 3 (moves there complete at once). Pressure
// is soft state like the stats: not replicated, forgotten on a restore,
// held until the next report; a host reports it to every server that may
// lead, and again (0) when it eases.
//
// # Upgrades
//
// Log entries are written at the lowest format version that carries their
// commands: version 1 for every placement command of the first release, a
// later version only for what later releases add (version 2:
// SetRebalancing, SetFormatVersion, and SetNodeState to [NodeLost];
// version 3: CompleteTransfer, AbortTransfer, SetPause and SetPolicy;
// version 4: a CompleteTransfer that names its target; version 5: a
// SetPolicy whose stability fields (MinGain, MoveCooldown, LoadHalfLife)
// are not the defaults, and the record of recent moves behind the
// cool-down, written in snapshot version 4; version 6: a SetPolicy whose
// MinCopyRate is not the default, as wire type 16, which carries the
// fields added from version 6 on by tag, so the next ones need no new
// command type). Snapshots stay version 1
// until the cluster's version is raised. [IsEntry]
// recognises every version of the header, and [FSM.ApplyEntry] stops the
// replica (it panics) on an entry of a version newer than it reads, rather
// than skip it and let its map fall behind.
//
// What a format version adds is held back until the log enables it: a
// [SetFormatVersion] records the cluster's version, and SetRebalancing and
// NodeLost are rejected before version 2 (the Scheduler then records no
// hysteresis: a new leader rebalances only above the trigger), and
// CompleteTransfer and AbortTransfer before version 3 (PlaceTransfer then
// moves at once; see "Moves"). Nothing newer than the cluster's version
// is ever proposed: every proposal path (the Scheduler's methods and its
// tick, the admin routes) calls [CheckProposal] first and refuses such a
// command with ErrFormatVersion before raft sees it, so a server still on
// the older release never meets an entry it cannot read. Upgrade in
// this order: every server, one at a time; then the version is raised,
// in one of two ways. With [Config.ClusterFormat] set (admin.ClusterFormat
// asks each voter's GET /status), the leader raises it by itself, once
// every voter reports that its build reads the newer format; a voter that
// cannot be asked keeps it where it is. Without it, the operator proposes
// SetFormatVersion{Version: FormatVersion} (admin POST /cluster/version)
// once every server runs the new release. A new cluster includes it in its
// bootstrap entry, as [Bootstrap] does.
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
//     whether rebalancing is in progress (hysteresis), which the Scheduler
//     records in the log and a new leader's planner resumes from
//     (Coordinator.Resume). A Coordinator is not safe for concurrent use;
//     the Scheduler owns its own.
//   - The Scheduler runs in a goroutine its caller owns: Run blocks until
//     its context ends, and Start returns a [Handle] that stops it and waits
//     for it. No constructor starts a goroutine. Tick, Pause, Resume and
//     DryRun are safe to call from any goroutine.
package placement
