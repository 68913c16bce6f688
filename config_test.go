package placement_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"pgregory.net/rapid"

	"github.com/ukehi/placement"
)

func TestDefaultConfigIsValid(t *testing.T) {
	require.NoError(t, placement.DefaultPolicy().Validate())
	require.NoError(t, placement.DefaultConfig().Validate())
	require.Equal(t, placement.DefaultPolicy(), placement.DefaultConfig().Policy)
}

// TestPolicyValidateRejects runs every rejection through Policy.Validate and
// through Config.Validate, which must pass the Policy's error on.
func TestPolicyValidateRejects(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		mutate func(p *placement.Policy)
		field  string // the field the error must name
	}{
		{name: "split keys zero", mutate: func(p *placement.Policy) { p.SplitKeys = 0 }, field: "Policy.SplitKeys"},
		{name: "split bytes zero", mutate: func(p *placement.Policy) { p.SplitBytes = 0 }, field: "Policy.SplitBytes"},
		{name: "merge keys equal split keys", mutate: func(p *placement.Policy) { p.MergeKeys = p.SplitKeys }, field: "Policy.MergeKeys"},
		{name: "merge keys above split keys", mutate: func(p *placement.Policy) { p.MergeKeys = p.SplitKeys + 1 }, field: "Policy.MergeKeys"},
		{name: "merge bytes equal split bytes", mutate: func(p *placement.Policy) { p.MergeBytes = p.SplitBytes }, field: "Policy.MergeBytes"},
		{name: "merge bytes above split bytes", mutate: func(p *placement.Policy) { p.MergeBytes = math.MaxUint64 }, field: "Policy.MergeBytes"},
		{name: "merge fraction zero", mutate: func(p *placement.Policy) { p.MergeMaxFraction = 0 }, field: "Policy.MergeMaxFraction"},
		{name: "merge fraction negative", mutate: func(p *placement.Policy) { p.MergeMaxFraction = -0.5 }, field: "Policy.MergeMaxFraction"},
		{name: "merge fraction above one", mutate: func(p *placement.Policy) { p.MergeMaxFraction = 1.0000001 }, field: "Policy.MergeMaxFraction"},
		{name: "merge fraction NaN", mutate: func(p *placement.Policy) { p.MergeMaxFraction = nan }, field: "Policy.MergeMaxFraction"},
		{name: "merge fraction +Inf", mutate: func(p *placement.Policy) { p.MergeMaxFraction = inf }, field: "Policy.MergeMaxFraction"},
		{name: "merge fraction -Inf", mutate: func(p *placement.Policy) { p.MergeMaxFraction = -inf }, field: "Policy.MergeMaxFraction"},
		{name: "imbalance threshold negative", mutate: func(p *placement.Policy) { p.ImbalanceThreshold = -0.1 }, field: "Policy.ImbalanceThreshold"},
		{name: "imbalance threshold NaN", mutate: func(p *placement.Policy) { p.ImbalanceThreshold = nan }, field: "Policy.ImbalanceThreshold"},
		{name: "imbalance threshold +Inf", mutate: func(p *placement.Policy) { p.ImbalanceThreshold = inf }, field: "Policy.ImbalanceThreshold"},
		{name: "imbalance threshold -Inf", mutate: func(p *placement.Policy) { p.ImbalanceThreshold = -inf }, field: "Policy.ImbalanceThreshold"},
		{name: "stop band negative", mutate: func(p *placement.Policy) { p.StopBand = -0.01 }, field: "Policy.StopBand"},
		{name: "stop band NaN", mutate: func(p *placement.Policy) { p.StopBand = nan }, field: "Policy.StopBand"},
		{name: "stop band +Inf", mutate: func(p *placement.Policy) { p.StopBand = inf }, field: "Policy.StopBand"},
		{name: "stop band above threshold", mutate: func(p *placement.Policy) { p.StopBand = p.ImbalanceThreshold + 0.01 }, field: "Policy.StopBand"},
		{name: "stop band above zero threshold", mutate: func(p *placement.Policy) { p.ImbalanceThreshold = 0 }, field: "Policy.StopBand"},
		{name: "max moves zero", mutate: func(p *placement.Policy) { p.MaxMovesPerNode = 0 }, field: "Policy.MaxMovesPerNode"},
		{name: "max moves negative", mutate: func(p *placement.Policy) { p.MaxMovesPerNode = -1 }, field: "Policy.MaxMovesPerNode"},
		{name: "move timeout zero", mutate: func(p *placement.Policy) { p.MoveTimeout = 0 }, field: "Policy.MoveTimeout"},
		{name: "move timeout 1ns", mutate: func(p *placement.Policy) { p.MoveTimeout = time.Nanosecond }, field: "Policy.MoveTimeout"},
		{name: "move timeout under the minimum", mutate: func(p *placement.Policy) { p.MoveTimeout = placement.MinMoveTimeout - 1 }, field: "Policy.MoveTimeout"},
		{name: "down timeout negative", mutate: func(p *placement.Policy) { p.DownTimeout = -time.Second }, field: "Policy.DownTimeout"},
		{name: "down timeout 1ns", mutate: func(p *placement.Policy) { p.DownTimeout = time.Nanosecond }, field: "Policy.DownTimeout"},
		{name: "down timeout under the minimum", mutate: func(p *placement.Policy) { p.DownTimeout = placement.MinDownTimeout - 1 }, field: "Policy.DownTimeout"},
		{name: "copy rate zero", mutate: func(p *placement.Policy) { p.MinCopyRate = 0 }, field: "Policy.MinCopyRate"},
		{name: "copy rate under the minimum", mutate: func(p *placement.Policy) { p.MinCopyRate = placement.MinCopyRateFloor - 1 }, field: "Policy.MinCopyRate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := placement.DefaultPolicy()
			tc.mutate(&p)
			cfg := placement.DefaultConfig()
			cfg.Policy = p

			err := p.Validate()
			require.ErrorIs(t, err, placement.ErrInvalidConfig)
			require.ErrorContains(t, err, tc.field)
			require.EqualError(t, cfg.Validate(), err.Error())
		})
	}
}

func TestConfigValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *placement.Config)
		field  string // the field the error must name
	}{
		{name: "tick interval zero", mutate: func(c *placement.Config) { c.TickInterval = 0 }, field: "Config.TickInterval"},
		{name: "tick interval negative", mutate: func(c *placement.Config) { c.TickInterval = -time.Second }, field: "Config.TickInterval"},
		{name: "max actions zero", mutate: func(c *placement.Config) { c.MaxActionsPerTick = 0 }, field: "Config.MaxActionsPerTick"},
		{name: "max actions negative", mutate: func(c *placement.Config) { c.MaxActionsPerTick = -1 }, field: "Config.MaxActionsPerTick"},
		{name: "apply timeout zero", mutate: func(c *placement.Config) { c.ApplyTimeout = 0 }, field: "Config.ApplyTimeout"},
		{name: "apply timeout negative", mutate: func(c *placement.Config) { c.ApplyTimeout = -time.Millisecond }, field: "Config.ApplyTimeout"},
		{name: "zero policy", mutate: func(c *placement.Config) { c.Policy = placement.Policy{} }, field: "Policy.SplitKeys"},
		{name: "promoted policy field", mutate: func(c *placement.Config) { c.MaxMovesPerNode = 0 }, field: "Policy.MaxMovesPerNode"},
		{name: "zero config", mutate: func(c *placement.Config) { *c = placement.Config{} }, field: "Config.TickInterval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := placement.DefaultConfig()
			tc.mutate(&cfg)

			err := cfg.Validate()
			require.ErrorIs(t, err, placement.ErrInvalidConfig)
			require.ErrorContains(t, err, tc.field)
		})
	}
}

// TestConfigValidateAccepts pins the boundaries: each case is the edge of a
// rule that TestPolicyValidateRejects and TestConfigValidateRejects cross.
func TestConfigValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *placement.Config)
	}{
		{name: "smallest tick interval", mutate: func(c *placement.Config) { c.TickInterval = time.Nanosecond }},
		{name: "one action per tick", mutate: func(c *placement.Config) { c.MaxActionsPerTick = 1 }},
		{name: "smallest apply timeout", mutate: func(c *placement.Config) { c.ApplyTimeout = time.Nanosecond }},
		{name: "logger set", mutate: func(c *placement.Config) { c.Logger = zap.NewNop() }},
		{name: "merge thresholds zero disable merging", mutate: func(c *placement.Config) { c.MergeKeys, c.MergeBytes = 0, 0 }},
		{name: "merge thresholds just below split", mutate: func(c *placement.Config) { c.MergeKeys, c.MergeBytes = c.SplitKeys-1, c.SplitBytes-1 }},
		{name: "merge fraction one", mutate: func(c *placement.Config) { c.MergeMaxFraction = 1 }},
		{name: "smallest merge fraction", mutate: func(c *placement.Config) { c.MergeMaxFraction = math.SmallestNonzeroFloat64 }},
		{name: "no merge embargo", mutate: func(c *placement.Config) { c.MergeEmbargo = 0 }},
		{name: "stop band equals threshold", mutate: func(c *placement.Config) { c.StopBand = c.ImbalanceThreshold }},
		{name: "threshold and stop band zero", mutate: func(c *placement.Config) { c.ImbalanceThreshold, c.StopBand = 0, 0 }},
		{name: "one move per node", mutate: func(c *placement.Config) { c.MaxMovesPerNode = 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := placement.DefaultConfig()
			tc.mutate(&cfg)
			require.NoError(t, cfg.Validate())
		})
	}
}

func TestConfigValidateDoesNotModify(t *testing.T) {
	tests := []struct {
		name string
		cfg  placement.Config
	}{
		{name: "zero", cfg: placement.Config{}},
		{name: "default", cfg: placement.DefaultConfig()},
		{name: "default with logger", cfg: func() placement.Config {
			c := placement.DefaultConfig()
			c.Logger = zap.NewNop()
			return c
		}()},
		{name: "invalid policy", cfg: func() placement.Config {
			c := placement.DefaultConfig()
			c.StopBand = 1
			return c
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			_ = cfg.Validate()
			_ = cfg.Policy.Validate()
			require.Equal(t, tc.cfg, cfg)
		})
	}
}

// TestPolicyValidateProperty checks Validate against the rules stated on
// Policy's fields, on arbitrary input including NaN and infinities: it never
// panics, every error wraps ErrInvalidConfig, and every accepted Policy
// obeys every rule. Each case is the default policy with a few fields
// drawn at random, so that a rule is often the only one broken (a policy
// of all-random fields is almost never valid, which would leave the
// accepting side untested).
func TestPolicyValidateProperty(t *testing.T) {
	ratio := rapid.OneOf(
		rapid.Float64(),
		rapid.Float64Range(-0.5, 1.5),
		rapid.SampledFrom([]float64{0, 1, math.NaN(), math.Inf(1), math.Inf(-1)}),
	)
	count := rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 4))
	small := rapid.IntRange(-2, 10)
	// Durations around the minimums (a second), in steps fine enough to
	// land just under and at them.
	timeout := rapid.OneOf(
		rapid.Custom(func(t *rapid.T) time.Duration {
			return time.Duration(rapid.Int64Range(-2, 5).Draw(t, "seconds")) * time.Second
		}),
		rapid.Custom(func(t *rapid.T) time.Duration {
			return time.Duration(rapid.Int64Range(-2e9, 2e9).Draw(t, "nanoseconds"))
		}),
		rapid.SampledFrom([]time.Duration{time.Nanosecond, time.Second - 1, time.Second}),
	)
	cooldown := rapid.SampledFrom([]time.Duration{-1, 0, time.Minute,
		placement.MaxMoveCooldown, placement.MaxMoveCooldown + 1})
	// Rates around their floor (1 MiB/s), 0 turning the per-node ones off.
	rate := rapid.SampledFrom([]uint64{0, 1, placement.MinCopyRateFloor - 1,
		placement.MinCopyRateFloor, 10 << 20})
	half := rapid.OneOf(rapid.Uint32(), rapid.Uint32Range(65_530, 65_540))

	type field struct {
		name string
		set  func(t *rapid.T, p *placement.Policy)
	}
	fields := []field{
		{"SplitKeys", func(t *rapid.T, p *placement.Policy) { p.SplitKeys = count.Draw(t, "v") }},
		{"SplitBytes", func(t *rapid.T, p *placement.Policy) { p.SplitBytes = count.Draw(t, "v") }},
		{"MergeKeys", func(t *rapid.T, p *placement.Policy) { p.MergeKeys = count.Draw(t, "v") }},
		{"MergeBytes", func(t *rapid.T, p *placement.Policy) { p.MergeBytes = count.Draw(t, "v") }},
		{"MergeMaxFraction", func(t *rapid.T, p *placement.Policy) { p.MergeMaxFraction = ratio.Draw(t, "v") }},
		{"MergeEmbargo", func(t *rapid.T, p *placement.Policy) { p.MergeEmbargo = half.Draw(t, "v") }},
		{"ImbalanceThreshold", func(t *rapid.T, p *placement.Policy) { p.ImbalanceThreshold = ratio.Draw(t, "v") }},
		{"StopBand", func(t *rapid.T, p *placement.Policy) { p.StopBand = ratio.Draw(t, "v") }},
		{"MaxMovesPerNode", func(t *rapid.T, p *placement.Policy) { p.MaxMovesPerNode = small.Draw(t, "v") }},
		{"CountTolerance", func(t *rapid.T, p *placement.Policy) { p.CountTolerance = ratio.Draw(t, "v") }},
		{"LoadThreshold", func(t *rapid.T, p *placement.Policy) { p.LoadThreshold = ratio.Draw(t, "v") }},
		{"LoadStopBand", func(t *rapid.T, p *placement.Policy) { p.LoadStopBand = ratio.Draw(t, "v") }},
		{"MaxInflightPerNode", func(t *rapid.T, p *placement.Policy) { p.MaxInflightPerNode = small.Draw(t, "v") }},
		{"MaxInflightBytesPerNode", func(t *rapid.T, p *placement.Policy) { p.MaxInflightBytesPerNode = count.Draw(t, "v") }},
		{"MoveTimeout", func(t *rapid.T, p *placement.Policy) { p.MoveTimeout = timeout.Draw(t, "v") }},
		{"InstantMoves", func(t *rapid.T, p *placement.Policy) { p.InstantMoves = rapid.Bool().Draw(t, "v") }},
		{"DownTimeout", func(t *rapid.T, p *placement.Policy) { p.DownTimeout = timeout.Draw(t, "v") }},
		{"MinGain", func(t *rapid.T, p *placement.Policy) { p.MinGain = ratio.Draw(t, "v") }},
		{"MoveCooldown", func(t *rapid.T, p *placement.Policy) { p.MoveCooldown = cooldown.Draw(t, "v") }},
		{"LoadHalfLife", func(t *rapid.T, p *placement.Policy) { p.LoadHalfLife = half.Draw(t, "v") }},
		{"MinCopyRate", func(t *rapid.T, p *placement.Policy) { p.MinCopyRate = rate.Draw(t, "v") }},
		{"SendBytesPerSecond", func(t *rapid.T, p *placement.Policy) { p.SendBytesPerSecond = rate.Draw(t, "v") }},
		{"ReceiveBytesPerSecond", func(t *rapid.T, p *placement.Policy) { p.ReceiveBytesPerSecond = rate.Draw(t, "v") }},
		{"ChurnBytesPerHour", func(t *rapid.T, p *placement.Policy) { p.ChurnBytesPerHour = ratio.Draw(t, "v") }},
		{"ChurnShardsPerHour", func(t *rapid.T, p *placement.Policy) { p.ChurnShardsPerHour = ratio.Draw(t, "v") }},
	}
	rapid.Check(t, func(t *rapid.T) {
		p := placement.DefaultPolicy()
		for range rapid.IntRange(0, 4).Draw(t, "changes") {
			f := rapid.SampledFrom(fields).Draw(t, "field")
			f.set(t, &p)
		}
		floor := uint64(placement.MinCopyRateFloor)
		offOrFloor := func(r uint64) bool { return r == 0 || r >= floor }
		inUnit := func(f float64) bool { return f >= 0 && f <= 1 }
		valid := p.SplitKeys > 0 && p.SplitBytes > 0 &&
			p.MergeKeys < p.SplitKeys && p.MergeBytes < p.SplitBytes &&
			p.MergeMaxFraction > 0 && p.MergeMaxFraction <= 1 &&
			p.ImbalanceThreshold >= 0 && !math.IsInf(p.ImbalanceThreshold, 0) &&
			p.StopBand >= 0 && p.StopBand <= p.ImbalanceThreshold &&
			p.MergeEmbargo < 65_535 &&
			p.CountTolerance >= 0 && !math.IsInf(p.CountTolerance, 0) &&
			p.LoadThreshold >= 0 && !math.IsInf(p.LoadThreshold, 0) &&
			p.LoadStopBand >= 0 && p.LoadStopBand <= p.LoadThreshold &&
			p.MaxMovesPerNode >= 1 && p.MaxInflightPerNode >= 1 && p.MoveTimeout >= time.Second &&
			(p.DownTimeout == 0 || p.DownTimeout >= time.Second) &&
			p.MinGain >= 0 && p.MinGain < 1 &&
			p.MoveCooldown >= 0 && p.MoveCooldown <= placement.MaxMoveCooldown &&
			p.LoadHalfLife < 65_535 &&
			p.MinCopyRate >= floor && offOrFloor(p.SendBytesPerSecond) &&
			offOrFloor(p.ReceiveBytesPerSecond) &&
			inUnit(p.ChurnBytesPerHour) && inUnit(p.ChurnShardsPerHour)

		err := p.Validate()
		require.Equal(t, valid, err == nil, "Validate() = %v", err)
		if err != nil {
			require.ErrorIs(t, err, placement.ErrInvalidConfig)
		}
	})
}
