package placement

import "fmt"

// CheckProposal returns why cmds must not be proposed to a cluster whose
// map is v (the proposer's, normally the leader's), or nil. It is the
// check every proposal path of this package makes before raft sees an
// entry: the Scheduler's methods and its tick, and the admin routes. A
// host that proposes its own entries makes it too.
//
//   - A command the cluster's format version does not enable (see
//     SetFormatVersion) gives an error wrapping ErrFormatVersion: its
//     entry would be written at a newer format, which a server still on
//     an older release cannot read (it stops at the entry, and again at
//     every restart). A SetFormatVersion itself is how a version is
//     enabled and needs none.
//   - A value the wire cannot carry as it is, which Encode refuses (a
//     pause expiry outside 1970-2262, a negative duration or count in a
//     SetPolicy), or a SetPolicy that Apply would refuse whatever the
//     map (a Policy that fails Validate, MaxActionsPerTick below 1), gives
//     an error wrapping ErrInvalidCommand.
//
// Both wrap ErrRejected, as Apply's answers do: nothing was proposed.
func CheckProposal(v View, cmds ...Command) error {
	return checkProposal(v.FormatVersion(), cmds)
}

// checkProposal is CheckProposal for a cluster at format version have.
func checkProposal(have uint64, cmds []Command) error {
	for _, c := range cmds {
		if err := checkValue(c); err != nil {
			return err
		}
		if _, raise := c.(SetFormatVersion); raise {
			continue
		}
		if need := needs(c); need > have {
			return fmt.Errorf("placement: %v needs format version %d, the cluster is at %d: %w",
				c, need, have, ErrFormatVersion)
		}
	}
	return nil
}

// checkValue returns why c is invalid whatever the map, or nil.
func checkValue(c Command) error {
	switch c := c.(type) {
	case nil:
		return fmt.Errorf("placement: nil command: %w", ErrInvalidCommand)
	case SetPause:
		return pauseWire(c)
	case SetPolicy:
		if err := policyWire(c); err != nil {
			return err
		}
		if err := c.Policy.Validate(); err != nil {
			return fmt.Errorf("placement: set-policy: %w: %w", ErrInvalidCommand, err)
		}
		if c.MaxActionsPerTick < 1 {
			return fmt.Errorf("placement: set-policy: MaxActionsPerTick %d must be >= 1: %w",
				c.MaxActionsPerTick, ErrInvalidCommand)
		}
	case SetNodeState:
		if !c.State.Valid() {
			return fmt.Errorf("placement: %v: %w", c, ErrInvalidCommand)
		}
	}
	return nil
}
