package placement

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The Scheduler's control API: the operator's replicated settings and the
// host's answers to moves, each proposed as one command on the leader.
// Every one is checked first (CheckProposal): a command the cluster's
// format version does not enable is refused with ErrFormatVersion before
// raft sees it, so no server still on an older release is ever handed an
// entry it cannot read; an invalid value is refused with
// ErrInvalidCommand.

// Pause pauses the cluster's scheduling: it proposes a SetPause, so every
// leader, now and after any change of leader, proposes nothing until
// Resume, or until ttl has passed when ttl is positive (the leader whose
// clock passes the expiry the entry records proposes the end of the
// pause; a leader elected meanwhile waits the whole ttl on its own clock
// too). It must run on the leader (an error wrapping ErrNotLeader
// otherwise) once the cluster is at format version 3 (ErrFormatVersion
// before). A ttl that ends past 2262 is refused (ErrInvalidCommand).
func (s *Scheduler) Pause(ctx context.Context, ttl time.Duration) error {
	c := SetPause{Paused: true}
	if ttl > 0 {
		c.Until = s.now().Add(ttl)
	}
	return s.proposeCommand(ctx, c)
}

// Resume ends a pause made by Pause (on any server) and asks a running loop
// for a prompt tick. It must run on the leader.
func (s *Scheduler) Resume(ctx context.Context) error {
	if err := s.proposeCommand(ctx, SetPause{}); err != nil {
		return err
	}
	s.wakeUp()
	return nil
}

// SetPolicy replicates p and maxActionsPerTick (SetPolicy): every leader
// plans with them from then on, whatever its Config says. It must run on
// the leader at format version 3; an invalid p, or maxActionsPerTick below
// 1, is refused before proposing with an error wrapping ErrInvalidCommand
// (and ErrInvalidConfig, naming the field, for p).
func (s *Scheduler) SetPolicy(ctx context.Context, p Policy, maxActionsPerTick int) error {
	if err := s.proposeCommand(ctx, SetPolicy{Policy: p, MaxActionsPerTick: maxActionsPerTick}); err != nil {
		return err
	}
	s.wakeUp()
	return nil
}

// proposeCommand checks c (CheckProposal) against this server's map,
// proposes it, and returns its rejection, if any.
func (s *Scheduler) proposeCommand(ctx context.Context, c Command) error {
	if err := CheckProposal(s.reg.View(), c); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	results, err := ApplyCommands(actx, s.raft, c)
	if err != nil {
		return fmt.Errorf("placement: propose %v: %w", c, err)
	}
	return results[0]
}

// CompleteTransfer proposes the CompleteTransfer of move m: the host calls
// it once m.To holds the shard's data, passing the Move as it learned it
// (View.Moves, or the PlaceTransfer it saw applied: Shard, Epoch
// PlaceTransfer.Epoch+1, From and To). It must run on the leader (an error
// wrapping ErrNotLeader otherwise; a host forwards it to the leader); the
// leader's map decides, so a follower that has not yet applied the move
// answers ErrNotLeader, not ErrNotMoving. Before format version 3 a
// PlaceTransfer moves the shard at once and there is nothing to complete:
// the answer is ErrFormatVersion, and nothing is proposed.
//
// The answers, which are the host's contract:
//
//   - nil: m.To owns the shard; its copy is the owner's data. This is also
//     the answer to a retry of a completion that applied before (its
//     answer lost with a change of leader): a retry never reads as an
//     abort. From format version 4 the command names m.To and every
//     replica decides so alike; at version 3 the leader's map, just
//     applied, decides.
//   - an error wrapping ErrStaleEpoch or ErrNotMoving: the move was
//     aborted (or aborted and begun again) and m.To does not own the
//     shard: the copy on m.To is not the owner's. Discard it, unless
//     View.Moves shows a newer move of the shard into m.To in flight.
//   - ErrUnknownShard: the shard is gone (merged into its neighbour since,
//     or never existed); whether m.To's copy is wanted depends on who owns
//     its key range now (View.Lookup).
//   - ErrNotLeader, or any error not wrapping ErrRejected: the outcome is
//     unknown; retry on the leader.
func (s *Scheduler) CompleteTransfer(ctx context.Context, m Move) error {
	c := CompleteTransfer{Shard: m.Shard, Epoch: m.Epoch}
	if s.reg.View().FormatVersion() >= versionDest {
		c.To = m.To
	}
	err := s.proposeCommand(ctx, c)
	if c.To == 0 && m.To != 0 && (errors.Is(err, ErrStaleEpoch) || errors.Is(err, ErrNotMoving)) {
		// Version 3: the command cannot tell a completion that applied
		// before from an abort; the leader's map, which has applied the
		// entry, can.
		if sh, ok := s.reg.View().Shard(m.Shard); ok && sh.Node == m.To {
			return nil
		}
	}
	return err
}

// AbortTransfer proposes the AbortTransfer of move m: a host calls it when
// a copy fails and will not be retried. Errors are as for
// CompleteTransfer: nil means the move is aborted and the copy on m.To may
// be discarded.
func (s *Scheduler) AbortTransfer(ctx context.Context, m Move) error {
	return s.proposeCommand(ctx, AbortTransfer{Shard: m.Shard, Epoch: m.Epoch})
}
