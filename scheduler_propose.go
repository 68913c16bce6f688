package placement

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// The Scheduler's proposals: one entry applied within ApplyTimeout, the
// plan's hysteresis recorded after it, and the completions an instant move
// rides with.

// record ends a tick whose plan applied: the planner adopts the plan's
// hysteresis flags, and when they differ from what the log holds (changed)
// and the plan had no commands to carry it, it proposes mark alone.
func (s *Scheduler) record(ctx context.Context, rep *TickReport, plan Plan, mark SetRebalancing, changed bool) error {
	s.coordMu.Lock()
	s.lead.coord.adopt(plan)
	s.coordMu.Unlock()
	if !changed {
		return nil
	}
	if _, err := s.propose(ctx, "record rebalancing", mark); err != nil {
		return err
	}
	rep.Recorded = &mark
	return nil
}

// withCompletions returns cmds with a CompleteTransfer after each
// PlaceTransfer, for Policy.InstantMoves: the move begins and completes in
// one entry, so it is never seen in flight.
func withCompletions(cmds []Command) []Command {
	out := make([]Command, 0, 2*len(cmds))
	for _, c := range cmds {
		out = append(out, c)
		if t, ok := c.(PlaceTransfer); ok {
			out = append(out, CompleteTransfer{Shard: t.Shard, Epoch: t.Epoch + 1})
		}
	}
	return out
}

// foldCompletions maps the results of withCompletions(cmds) back onto cmds:
// a transfer's result is its PlaceTransfer's, or its completion's if that
// failed.
func foldCompletions(cmds []Command, results []error) []error {
	out := make([]error, 0, len(cmds))
	j := 0
	for _, c := range cmds {
		if j >= len(results) {
			break
		}
		err := results[j]
		j++
		if _, ok := c.(PlaceTransfer); ok && j < len(results) {
			if err == nil {
				err = results[j]
			}
			j++
		}
		out = append(out, err)
	}
	return out
}

// logApplied writes the one Info line of a tick whose plan applied: how
// many commands of each kind applied, how many were rejected, the spreads
// the plan started from, and, in words, why each applied command was
// planned. The words are built only when Info is enabled.
func (s *Scheduler) logApplied(rep TickReport) {
	if !s.log.Core().Enabled(zap.InfoLevel) {
		return
	}
	var splits, merges, transfers int
	reasons := make([]string, 0, len(rep.Reasons))
	for i, c := range rep.Commands {
		if i < len(rep.Results) && rep.Results[i] != nil {
			continue
		}
		if i < len(rep.Reasons) {
			reasons = append(reasons, rep.Reasons[i].String())
		}
		switch c.(type) {
		case PlaceSplit:
			splits++
		case PlaceMerge:
			merges++
		case PlaceTransfer:
			transfers++
		}
	}
	s.log.Info("plan applied",
		zap.Int("splits", splits), zap.Int("merges", merges), zap.Int("transfers", transfers),
		zap.Int("rejected", rep.Rejected()), zap.Float64("imbalance", rep.Imbalance),
		zap.Float64("bytes", rep.Balance.Bytes), zap.Float64("load", rep.Balance.Load),
		zap.Strings("reasons", reasons))
}

// propose applies cmds as one entry within ApplyTimeout, on the tick's
// goroutine, and returns each command's result. A failure leaves the
// outcome unknown: the next plan waits for a barrier, and a not-leader
// error ends the term's memory (see lost).
func (s *Scheduler) propose(ctx context.Context, what string, cmds ...Command) ([]error, error) {
	if err := CheckProposal(s.reg.View(), cmds...); err != nil {
		return nil, fmt.Errorf("placement: %s: %w", what, err)
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	results, err := ApplyCommands(actx, s.raft, cmds...)
	if err != nil {
		s.inDoubt(err)
		return nil, fmt.Errorf("placement: %s: %w", what, err)
	}
	return results, nil
}
