package placement

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Bootstrap records a new cluster's first map: SetFormatVersion with this
// release's FormatVersion followed by cmds (typically AddNode for each data
// node and CreateShard for the first shards), as one log entry, proposed
// once by whichever server leads. It spares a host the retry loop around
// RaftNode.Apply that waiting for an election takes.
//
// Call it on every server that bootstraps the cluster (each initial voter,
// or at least every server that may win the first election), after
// raft.BootstrapCluster, with the same cmds. It waits, on node's
// LeadershipChanges and on changes to reg, until either
//
//   - this server leads: it issues a barrier, so reg holds every committed
//     entry, and if the map is still fresh (format version 1, no nodes, no
//     shards) it proposes the entry and returns once it applied here; or
//   - reg shows a map that is not fresh: another server bootstrapped (or
//     this one did, before a restart). It returns nil.
//
// So it is idempotent: a call on a cluster bootstrapped before returns nil
// and proposes nothing, and a proposal whose outcome was unknown (a lost
// leadership) is followed by a barrier before any other. ctx bounds the
// wait and the proposal; when it ends first the error wraps its error.
//
// cmds are checked before anything waits: each must apply, in order, to an
// empty map at FormatVersion (see ShardRegistry.Apply) and be one Encode
// can carry (see CheckProposal), or Bootstrap returns that command's error,
// wrapping ErrRejected, and proposes nothing. The map it proposes on is
// empty too, so the entry applies whole; should a command still be
// rejected, the error lists the rejections (the entry applied, so the map
// is no longer fresh and another call returns nil).
//
// It is for a new cluster, every server of which runs this release: the
// entry enables the newest format at once. An existing cluster raises its
// format as described under "Upgrades" in the package documentation.
//
// RaftNode.LeadershipChanges delivers each signal to one receiver, so
// call Bootstrap before starting the Scheduler on node (Scheduler.Start
// or Run). Started alongside one, which may take the signal of this
// server's election, it still notices the leadership: it also looks every
// bootstrapRecheck.
func Bootstrap(ctx context.Context, node RaftNode, reg *ShardRegistry, cmds ...Command) error {
	if node == nil || reg == nil {
		return fmt.Errorf("%w: Bootstrap needs a RaftNode and a ShardRegistry", ErrInvalidConfig)
	}
	entry := append([]Command{SetFormatVersion{Version: FormatVersion}}, cmds...)
	if err := checkBootstrap(entry); err != nil {
		return err
	}
	changes := node.LeadershipChanges()
	recheck := time.NewTicker(bootstrapRecheck)
	defer recheck.Stop()
	for {
		v, _, changed := reg.watch()
		if !fresh(v) {
			return nil
		}
		if leader, _ := node.Leader(); leader {
			// Not the leader after all (or no longer): wait for the next
			// change. Any other error, or ctx's, is the answer.
			if err := proposeBootstrap(ctx, node, reg, entry); !errors.Is(err, ErrNotLeader) || ctx.Err() != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("placement: bootstrap: %w", ctx.Err())
		case <-changes:
		case <-changed:
		case <-recheck.C:
		}
	}
}

// bootstrapRecheck is how often Bootstrap looks at the leadership without
// a signal.
const bootstrapRecheck = 250 * time.Millisecond

// fresh reports whether v is the map of a cluster never bootstrapped.
func fresh(v View) bool {
	s := v.state()
	return s.formatVersion == baseVersion && len(s.nodes) == 0 && s.byID.Len() == 0
}

// checkBootstrap returns why entry cannot bootstrap a cluster: a value the
// wire cannot carry, or a command that an empty map refuses.
func checkBootstrap(entry []Command) error {
	if err := checkProposal(FormatVersion, entry); err != nil {
		return fmt.Errorf("placement: bootstrap: %w", err)
	}
	// entry[0] raises the format, which an empty map always accepts; the
	// index in errors counts the host's commands.
	scratch := NewShardRegistry()
	for i, c := range entry {
		if err := scratch.Apply(c); err != nil {
			return fmt.Errorf("placement: bootstrap: command %d (%v): %w", i-1, c, err)
		}
	}
	return nil
}

// proposeBootstrap proposes entry on the leader if, after a barrier, reg
// is still fresh.
func proposeBootstrap(ctx context.Context, node RaftNode, reg *ShardRegistry, entry []Command) error {
	if err := node.Barrier(ctx); err != nil {
		return fmt.Errorf("placement: bootstrap: %w", err)
	}
	if !fresh(reg.View()) {
		return nil
	}
	results, err := ApplyCommands(ctx, node, entry...)
	if err != nil {
		return fmt.Errorf("placement: bootstrap: %w", err)
	}
	var rejected []error
	for i, r := range results {
		if r != nil {
			rejected = append(rejected, fmt.Errorf("placement: bootstrap: %v: %w", entry[i], r))
		}
	}
	return errors.Join(rejected...)
}
