package placement

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Config configures a Scheduler. Start from DefaultConfig, change the fields
// you need, and check the result with Validate. Dependencies (the raft node,
// the registry) are constructor arguments, not fields.
type Config struct {
	// TickInterval is how often the scheduler plans on the leader. After
	// gaining leadership it ticks at once instead of waiting a whole
	// interval. Default 30s. Zero or negative is invalid.
	TickInterval time.Duration

	// MaxActionsPerTick is the most commands one tick proposes; they are
	// batched into one raft log entry. Default 5. Values below 1 are
	// invalid.
	MaxActionsPerTick int

	// ApplyTimeout is how long one proposal (a barrier or an apply) may wait
	// for raft before the tick gives up on it. Default 10s. Zero or
	// negative is invalid.
	ApplyTimeout time.Duration

	// Policy holds the planner's thresholds; its fields are promoted, so
	// cfg.ImbalanceThreshold works. Default DefaultPolicy(). The zero Policy
	// is invalid.
	Policy

	// Logger receives the scheduler's logs. Default nil, which means no
	// logging.
	Logger *zap.Logger

	// OnTick, if set, is called by Run after every tick with its report and
	// error, on the scheduler's goroutine; it must return quickly. Default
	// nil, which means no callback. Ticks run by calling Tick directly are
	// not reported here.
	OnTick func(TickReport, error)

	// ClusterFormat, if set, returns the newest log entry format version
	// that every voter understands: the least of each voter's FormatVersion.
	// While the cluster's version (View.FormatVersion) is below this
	// build's, the leader calls it once a tick, before planning, and
	// proposes SetFormatVersion when it returns a newer version, so the
	// format is raised only once every voter has said it reads it. It must
	// fail, not guess, when a voter cannot be asked; an error is logged at
	// Debug and the tick goes on. ctx carries ApplyTimeout. Default nil: the
	// operator raises the version (SetFormatVersion; the admin package's
	// POST /cluster/version), and admin.ClusterFormat asks voters'
	// admin endpoints.
	ClusterFormat func(ctx context.Context) (uint64, error)

	// Clock, if set, is the scheduler's time source for Policy.MoveTimeout,
	// pause expiries and DownTimeout; tests pass a fake one. Default nil:
	// time.Now.
	Clock func() time.Time
}

// DefaultConfig returns the default configuration. It passes Validate.
func DefaultConfig() Config {
	return Config{
		TickInterval:      30 * time.Second,
		MaxActionsPerTick: 5,
		ApplyTimeout:      10 * time.Second,
		Policy:            DefaultPolicy(),
	}
}

// Validate reports the first invalid field, checking c's own fields and
// then c.Policy, as an error that wraps ErrInvalidConfig and names the
// field. It does not modify c or fill in defaults.
func (c Config) Validate() error {
	switch {
	case c.TickInterval <= 0:
		return fmt.Errorf("%w: Config.TickInterval %v must be > 0", ErrInvalidConfig, c.TickInterval)
	case c.MaxActionsPerTick < 1:
		return fmt.Errorf("%w: Config.MaxActionsPerTick %d must be >= 1", ErrInvalidConfig, c.MaxActionsPerTick)
	case c.ApplyTimeout <= 0:
		return fmt.Errorf("%w: Config.ApplyTimeout %v must be > 0", ErrInvalidConfig, c.ApplyTimeout)
	}
	return c.Policy.Validate()
}
