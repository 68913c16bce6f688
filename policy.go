package placement

import (
	"fmt"
	"math"
	"time"
)

// Policy holds the thresholds the Coordinator plans with: when a shard is
// split, when two neighbours are merged, and when shards are moved between
// nodes. A Policy is a plain value; start from DefaultPolicy and change the
// fields you need, then call Validate.
//
// Thresholds apply to a shard's known stats only: a shard whose stats have
// not been reported is neither split nor merged.
type Policy struct {
	// SplitKeys is a key count. A shard whose reported key count exceeds
	// it is split. Default 100,000. Zero is invalid.
	SplitKeys uint64

	// SplitBytes is a size in bytes. A shard whose reported size exceeds it
	// is split. Default 512 MiB. Zero is invalid.
	SplitBytes uint64

	// MergeKeys is a key count, below SplitKeys. A shard is cold (a merge
	// candidate) only when its reported key count is below MergeKeys and
	// its size below MergeBytes. Default 1,000. Zero means no shard is
	// cold, which disables merging.
	MergeKeys uint64

	// MergeBytes is a size in bytes, below SplitBytes; see MergeKeys.
	// Default 10 MiB. Zero means no shard is cold, which disables merging.
	MergeBytes uint64

	// MergeMaxFraction is a fraction in (0, 1]. Two cold neighbours merge
	// only if their combined keys stay at or below MergeMaxFraction ×
	// SplitKeys and their combined bytes at or below MergeMaxFraction ×
	// SplitBytes, so a merged shard is never split straight back.
	// Default 0.5. Zero is invalid.
	MergeMaxFraction float64

	// MergeEmbargo is a count of stats reports. After a split, neither half
	// is merged until the host has reported stats for it this many times;
	// nor is a shard made by CreateShard, so a key space split ahead of
	// its data is not merged back before it holds any.
	// It is a logical clock driven by the host's ReportStats calls; the
	// planner reads no wall clock. Default 3. Zero means the halves may
	// merge as soon as they are cold. It must be below 65,535.
	MergeEmbargo uint32

	// ImbalanceThreshold is a ratio: rebalancing starts when the byte
	// spread (Plan.Balance.Bytes) exceeds it, or, when no bytes are known,
	// when the count spread relative to capacity (Plan.Balance.Count;
	// Imbalance when capacities are equal) does. Moves made for counts or
	// load keep every node's bytes within ±(ImbalanceThreshold +
	// StopBand)/4 of its target, so they never start it. It must
	// be finite and at least zero. Default 0.2. Zero means any imbalance
	// that moves can reduce starts rebalancing.
	ImbalanceThreshold float64

	// StopBand is a ratio: once started, rebalancing continues until the
	// byte spread (or, with no bytes known, Balance.Count) is at or below
	// StopBand, or no move can narrow it further. It must be finite, at
	// least zero and at most ImbalanceThreshold; the gap between the two is
	// the hysteresis that keeps rebalancing from stopping just under the
	// trigger and starting again after one split. Default 0.05. Zero means
	// rebalance until the bytes (or counts) are as even as they can be.
	StopBand float64

	// CountTolerance is a fraction: while balancing bytes or load, no move
	// takes an up node's shard count outside its capacity share of the
	// count ± CountTolerance (rounded outwards), since each shard has a cost
	// of its own, and a repair phase moves the smallest shards back into
	// the band where merges, splits or drains left a node outside it, as far
	// as the bytes band allows. Default 0.25. It must be finite and at least
	// zero.
	CountTolerance float64

	// LoadThreshold is a ratio: rebalancing by load starts when the load
	// spread (Balance.Load) exceeds it. It must be finite and at least
	// zero. Default 0.25.
	LoadThreshold float64

	// LoadStopBand is a ratio: once started, rebalancing by load continues
	// until the load spread is at or below it, or no move narrows it. It
	// must be finite, at least zero and at most LoadThreshold. Default 0.1.
	LoadStopBand float64

	// MaxMovesPerNode is a count of transfers: one plan moves at most this
	// many shards into, and at most this many out of, any one node.
	// Default 5. Values below 1 are invalid.
	MaxMovesPerNode int

	// MaxInflightPerNode bounds the moves in flight (begun by PlaceTransfer,
	// not yet completed or aborted) into any one node, and out of any one
	// node: the planner begins no move that would exceed it, counting the
	// moves already in flight. Default 4. Values below 1 are invalid.
	// Re-homing the shards of a NodeLost node is exempt on that node's side
	// (it sends nothing: the host copies from replicas or backups), not on
	// the receiving node's.
	MaxInflightPerNode int

	// MaxInflightBytesPerNode bounds the bytes in flight into, and out of,
	// any one node: a move is begun only if it keeps the node's bytes in
	// flight within it, or if nothing is in flight there (so a shard larger
	// than the window still moves, alone). A shard's bytes are its known
	// size, or the mean known size. Default 2 GiB. Zero means no byte
	// window. Re-homing from a NodeLost node is exempt on its side, as for
	// MaxInflightPerNode.
	MaxInflightBytesPerNode uint64

	// MoveTimeout is the base of a move's deadline: the leader's
	// Scheduler aborts a move (AbortTransfer) once it has been in flight
	// MoveTimeout plus the time its shard's bytes take at MinCopyRate,
	// measured from the time its PlaceTransfer was appended to the log, so
	// that a new leader neither forgets nor restarts the clock. A move
	// whose copy reports progress (ShardRegistry.ReportProgress) is judged
	// by it instead: it is aborted once MoveTimeout has passed since its
	// copied bytes last grew, so a host that reports progress must report
	// more often than that. A new leader waits MoveTimeout on its own
	// clock from its election before it aborts a move begun under another
	// leader, and never aborts such a move before MoveTimeout past its
	// deadline unless the old rule (its deadline's length from the
	// election) has run out too, so a clock running ahead of the last
	// leader's by less than MoveTimeout cuts no move short. Default 10
	// minutes. It must be at least MinMoveTimeout (zero and negative are
	// invalid).
	MoveTimeout time.Duration

	// MinCopyRate is in bytes per second: the least rate at which the
	// host is assumed to copy a shard, so a move's deadline grows with its
	// shard's bytes (its known size, or the mean known size) ÷
	// MinCopyRate on top of MoveTimeout; at the default a 64 GiB shard
	// has MoveTimeout plus about 1 h 49 min. It must be at least
	// MinCopyRateFloor (1 MiB/s). Default 10 MiB/s. Needs format version
	// 6 when it differs from the default.
	MinCopyRate uint64

	// InstantMoves is for hosts whose moves take no time (shared storage):
	// the Scheduler proposes each PlaceTransfer with its CompleteTransfer
	// in the same entry, so a move is never seen in flight, and the
	// planner keeps no windows. A host that drives Coordinator.Plan itself
	// must add the completions itself. Default false.
	InstantMoves bool

	// DownTimeout, if positive, is how long a data node may stay down
	// before the leader declares it lost (SetNodeState to NodeLost), so
	// that its shards are re-homed from replicas or backups, as PD does
	// after max-store-down-time. It is measured from the log time of the
	// SetNodeState that took the node down (View.NodeSince), so a change
	// of leader neither forgets nor restarts it, and a new leader also
	// waits DownTimeout on its own clock from its election; a state with no log time
	// (taken before format version 3, or applied without a time) is timed
	// from when the current leader first saw it. It needs format version
	// 2. Default 0: a down node stays down until an operator acts.
	// Otherwise it must be at least MinDownTimeout; negative is invalid.
	DownTimeout time.Duration

	// MinGain is a fraction in [0, 1): a load-balancing transfer (a swap
	// by the net load it carries) is planned only when it carries at
	// least MinGain of the load its pick aims to move: the smaller of the
	// source's excess over its load target and the destination's
	// shortfall below its own. So a move whose gain is noise-sized next to
	// the gap it addresses (two shards traded to shift a thousandth of a
	// node's load against an excess of its whole target) is never taken.
	// The bytes phase's single moves need no such rule: every byte they
	// move closes a byte of the gap, and the phase runs only from
	// ImbalanceThreshold down to StopBand, far above the noise of a node's
	// sum. Drains, re-homing and count repair are exempt. Zero takes any
	// gain. Default 0.25. Needs format version 5 when it differs from the
	// default.
	MinGain float64

	// MoveCooldown is how long a shard that a transfer moved is not moved
	// again by rebalancing, from the log time of the entry that completed
	// the move (of the PlaceTransfer, for moves that complete at once), so
	// a change of leader keeps it; a new leader also waits out a shard's
	// cool-down on its own clock from its election, like MoveTimeout. A
	// node that joins or comes up after the move lifts it (the node needs
	// shards). Rebalancing also never sends a shard back to the node it
	// left within MaxMoveCooldown. Drains, re-homing from lost nodes and
	// splits are exempt. Zero turns
	// it off. Default 30 minutes; at most MaxMoveCooldown. Needs format
	// version 5 when it differs from the default.
	MoveCooldown time.Duration

	// LoadHalfLife is a count of stats reports: the registry keeps each
	// shard's load as an exponentially decaying average of the reported
	// loads whose weight halves every LoadHalfLife reports, so one noisy
	// report moves nothing. A shard's first report, and its first after a
	// split or merge, is taken as it is. Zero keeps the last report as it
	// is. Default 8; below 65,535. Needs format version 5 when it differs
	// from the default.
	LoadHalfLife uint32

	// ChurnBytesPerHour is a fraction in [0, 1]: the most bytes the
	// rebalancing phases may have moved in any hour, as a fraction of the
	// bytes of all shards (see ChurnState for how they are counted). Once
	// it is spent, rebalancing plans no transfer (SkipChurnBudget) until
	// moves age out of the hour; drains, re-homing, splits and merges are
	// never held by it, and drains and re-homing are not counted. Zero
	// turns it off (the default). A budget below one shard's bytes stops
	// rebalancing. Needs format version 6 when it
	// differs from the default.
	ChurnBytesPerHour float64

	// ChurnShardsPerHour is ChurnBytesPerHour for shard counts: the most
	// shards rebalancing may have moved in any hour, as a fraction in
	// [0, 1] of all shards. Zero turns it off (the default). Needs format
	// version 6 when it differs from the default.
	ChurnShardsPerHour float64

	// RebalanceWindows are the UTC times of day at which rebalancing may
	// begin transfers, at most MaxRebalanceWindows ranges, used entries
	// first and unused ones the zero TimeOfDayRange. Outside them
	// (quiet hours) the planner still drains, re-homes, splits and merges
	// but plans no rebalancing transfer (SkipQuietHours). A window's
	// start is an ordinary trigger: the per-plan caps, windows in flight
	// and the churn budget all still apply. The times are the
	// Coordinator's clock (SetClock), or, without one, the newest log
	// time its view applied. No ranges (the default) means always. Needs
	// format version 6 when it differs from the default.
	RebalanceWindows [MaxRebalanceWindows]TimeOfDayRange

	// SendBytesPerSecond is in bytes per second: the rate at which a node
	// is assumed to send shards, so the planner begins a move out of a
	// node only while its bytes in flight out of it can be sent within
	// MoveTimeout at this rate (or nothing is in flight there, so a
	// larger shard still moves, alone), as for MaxInflightBytesPerNode,
	// the smaller of the two applying. A slow node thus takes fewer
	// moves; a move held by it is reported as SkipRateLimit. It applies
	// to every move, drains included; re-homing from a lost node is
	// exempt on that node's side. Zero turns it off (the default);
	// otherwise it must be at least MinCopyRateFloor. Needs format version
	// 6 when it differs from the default.
	SendBytesPerSecond uint64

	// ReceiveBytesPerSecond is SendBytesPerSecond for the bytes in flight
	// into a node. Zero turns it off (the default); otherwise it must be
	// at least MinCopyRateFloor. Needs format version 6 when it differs
	// from the default.
	ReceiveBytesPerSecond uint64
}

// MaxMoveCooldown is the longest Policy.MoveCooldown: the registry keeps
// the log time of each shard's last move for this long.
const MaxMoveCooldown = 24 * time.Hour

// The shortest timeouts Validate accepts. A shorter one is a typo ("1ns"
// for "1m") rather than a plan: the leader checks timeouts once a tick and
// commits each abort or loss through raft, so a move or a down node could
// not be judged on a sub-second clock anyway, and a node briefly down (a
// restart) would lose its shards.
const (
	// MinMoveTimeout is the least Policy.MoveTimeout.
	MinMoveTimeout = time.Second
	// MinDownTimeout is the least positive Policy.DownTimeout (0 still
	// means never).
	MinDownTimeout = time.Second
)

// MinCopyRateFloor is the least Policy.MinCopyRate Validate accepts, in
// bytes per second: 1 MiB/s, at which a 64 GiB shard has a little over 18
// hours. A slower rate is a unit slip (bits, KiB) rather than a plan, and
// would keep a dead copy in flight for days.
const MinCopyRateFloor = 1 << 20

// DefaultPolicy returns the default thresholds. It passes Validate.
func DefaultPolicy() Policy {
	return Policy{
		SplitKeys:          100_000,
		SplitBytes:         512 << 20,
		MergeKeys:          1_000,
		MergeBytes:         10 << 20,
		MergeMaxFraction:   0.5,
		MergeEmbargo:       3,
		ImbalanceThreshold: 0.2,
		StopBand:           0.05,
		CountTolerance:     0.25,
		LoadThreshold:      0.25,
		LoadStopBand:       0.1,
		MaxMovesPerNode:    5,

		MaxInflightPerNode:      4,
		MaxInflightBytesPerNode: 2 << 30,
		MoveTimeout:             10 * time.Minute,
		MinCopyRate:             10 << 20,

		MinGain:      0.25,
		MoveCooldown: 30 * time.Minute,
		LoadHalfLife: 8,
	}
}

// Validate reports the first invalid field, as an error that wraps
// ErrInvalidConfig and names the field (Policy.MoveTimeout). Each field's
// comment states its rule; MoveTimeout must be at least MinMoveTimeout,
// DownTimeout 0 or at least MinDownTimeout, and MinCopyRate at least
// MinCopyRateFloor. It does not modify p or
// fill in defaults.
func (p Policy) Validate() error {
	if err := p.validateLogged(); err != nil {
		return err
	}
	switch {
	case p.MoveTimeout < MinMoveTimeout:
		return fmt.Errorf("%w: Policy.MoveTimeout %v is below the minimum %v",
			ErrInvalidConfig, p.MoveTimeout, MinMoveTimeout)
	case p.DownTimeout != 0 && p.DownTimeout < MinDownTimeout:
		return fmt.Errorf("%w: Policy.DownTimeout %v is below the minimum %v (0 turns it off)",
			ErrInvalidConfig, p.DownTimeout, MinDownTimeout)
	}
	return nil
}

// validateLogged holds Validate's rules but for the minimum timeouts,
// which came later: the rules a policy already in a log or a snapshot was
// accepted by, and so the ones a replica replaying it must apply.
func (p Policy) validateLogged() error {
	switch {
	case p.SplitKeys == 0:
		return fmt.Errorf("%w: Policy.SplitKeys must be > 0", ErrInvalidConfig)
	case p.SplitBytes == 0:
		return fmt.Errorf("%w: Policy.SplitBytes must be > 0", ErrInvalidConfig)
	case p.MergeKeys >= p.SplitKeys:
		return fmt.Errorf("%w: Policy.MergeKeys %d not below SplitKeys %d",
			ErrInvalidConfig, p.MergeKeys, p.SplitKeys)
	case p.MergeBytes >= p.SplitBytes:
		return fmt.Errorf("%w: Policy.MergeBytes %d not below SplitBytes %d",
			ErrInvalidConfig, p.MergeBytes, p.SplitBytes)
	case !(p.MergeMaxFraction > 0 && p.MergeMaxFraction <= 1):
		// Written as a negation so that NaN, which fails every
		// comparison, is rejected too.
		return fmt.Errorf("%w: Policy.MergeMaxFraction %v not in (0, 1]",
			ErrInvalidConfig, p.MergeMaxFraction)
	case p.MergeEmbargo >= neverSplit:
		return fmt.Errorf("%w: Policy.MergeEmbargo %d must be below %d",
			ErrInvalidConfig, p.MergeEmbargo, neverSplit)
	case !finiteNonNegative(p.ImbalanceThreshold):
		return fmt.Errorf("%w: Policy.ImbalanceThreshold %v must be finite and >= 0",
			ErrInvalidConfig, p.ImbalanceThreshold)
	case !finiteNonNegative(p.StopBand):
		return fmt.Errorf("%w: Policy.StopBand %v must be finite and >= 0",
			ErrInvalidConfig, p.StopBand)
	case p.StopBand > p.ImbalanceThreshold:
		return fmt.Errorf("%w: Policy.StopBand %v above ImbalanceThreshold %v",
			ErrInvalidConfig, p.StopBand, p.ImbalanceThreshold)
	case !finiteNonNegative(p.CountTolerance):
		return fmt.Errorf("%w: Policy.CountTolerance %v must be finite and >= 0",
			ErrInvalidConfig, p.CountTolerance)
	case !finiteNonNegative(p.LoadThreshold):
		return fmt.Errorf("%w: Policy.LoadThreshold %v must be finite and >= 0",
			ErrInvalidConfig, p.LoadThreshold)
	case !finiteNonNegative(p.LoadStopBand):
		return fmt.Errorf("%w: Policy.LoadStopBand %v must be finite and >= 0",
			ErrInvalidConfig, p.LoadStopBand)
	case p.LoadStopBand > p.LoadThreshold:
		return fmt.Errorf("%w: Policy.LoadStopBand %v above LoadThreshold %v",
			ErrInvalidConfig, p.LoadStopBand, p.LoadThreshold)
	case p.MaxMovesPerNode < 1:
		return fmt.Errorf("%w: Policy.MaxMovesPerNode %d must be >= 1",
			ErrInvalidConfig, p.MaxMovesPerNode)
	case p.MaxInflightPerNode < 1:
		return fmt.Errorf("%w: Policy.MaxInflightPerNode %d must be >= 1",
			ErrInvalidConfig, p.MaxInflightPerNode)
	case p.MoveTimeout <= 0:
		return fmt.Errorf("%w: Policy.MoveTimeout %v must be > 0",
			ErrInvalidConfig, p.MoveTimeout)
	case p.DownTimeout < 0:
		return fmt.Errorf("%w: Policy.DownTimeout %v must be >= 0",
			ErrInvalidConfig, p.DownTimeout)
	case !(p.MinGain >= 0 && p.MinGain < 1):
		return fmt.Errorf("%w: Policy.MinGain %v not in [0, 1)",
			ErrInvalidConfig, p.MinGain)
	case p.MoveCooldown < 0 || p.MoveCooldown > MaxMoveCooldown:
		return fmt.Errorf("%w: Policy.MoveCooldown %v not in 0..%v",
			ErrInvalidConfig, p.MoveCooldown, MaxMoveCooldown)
	case p.LoadHalfLife >= neverSplit:
		return fmt.Errorf("%w: Policy.LoadHalfLife %d must be below %d",
			ErrInvalidConfig, p.LoadHalfLife, neverSplit)
	case !(p.ChurnBytesPerHour >= 0 && p.ChurnBytesPerHour <= 1):
		return fmt.Errorf("%w: Policy.ChurnBytesPerHour %v not in [0, 1]",
			ErrInvalidConfig, p.ChurnBytesPerHour)
	case !(p.ChurnShardsPerHour >= 0 && p.ChurnShardsPerHour <= 1):
		return fmt.Errorf("%w: Policy.ChurnShardsPerHour %v not in [0, 1]",
			ErrInvalidConfig, p.ChurnShardsPerHour)
	case p.validWindows() != nil:
		return p.validWindows()
	case p.SendBytesPerSecond != 0 && p.SendBytesPerSecond < MinCopyRateFloor:
		return fmt.Errorf("%w: Policy.SendBytesPerSecond %d bytes/s is below the minimum %d (1 MiB/s; 0 turns it off)",
			ErrInvalidConfig, p.SendBytesPerSecond, MinCopyRateFloor)
	case p.ReceiveBytesPerSecond != 0 && p.ReceiveBytesPerSecond < MinCopyRateFloor:
		return fmt.Errorf("%w: Policy.ReceiveBytesPerSecond %d bytes/s is below the minimum %d (1 MiB/s; 0 turns it off)",
			ErrInvalidConfig, p.ReceiveBytesPerSecond, MinCopyRateFloor)
	case p.MinCopyRate < MinCopyRateFloor:
		// The floor came with the field, so no logged policy is below it.
		return fmt.Errorf("%w: Policy.MinCopyRate %d bytes/s is below the minimum %d (1 MiB/s)",
			ErrInvalidConfig, p.MinCopyRate, MinCopyRateFloor)
	}
	return nil
}

// finiteNonNegative reports whether f is a real number at or above zero
// (not NaN, not +Inf).
func finiteNonNegative(f float64) bool {
	return f >= 0 && !math.IsInf(f, 1)
}
