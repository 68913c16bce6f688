package placement

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Forecaster runs the planner ahead on a copy of a View: Forecaster.Forecast
// says what a change (or no change) will cost before it is made. Its
// fields are the pace of the forecast; the zero Forecaster forecasts moves
// that complete in the tick they begin, at DefaultConfig's tick interval
// and limit.
//
// Forecast is the function form for the zero Forecaster, as net.Dial is
// for the zero net.Dialer: the options would otherwise sit between the
// View and the variadic change.
type Forecaster struct {
	// CopyRate is the bytes a second at which a move copies its shard,
	// each move at its own rate (the windows of the Policy bound how many
	// copy at once). A move of b bytes then completes b/CopyRate +
	// MoveSetup after it began, before the first plan after that. Zero means moves complete in
	// the tick they begin. Negative, NaN and infinite rates are invalid.
	CopyRate float64

	// MoveSetup is the time every move takes besides its copy (the whole
	// move where sizes are unknown). Used only with a CopyRate. Zero: none.
	// Negative is invalid.
	MoveSetup time.Duration

	// TickInterval is the time between two plans (the Scheduler's
	// Config.TickInterval). Zero means DefaultConfig's (30 s). Negative is
	// invalid.
	TickInterval time.Duration

	// MaxActionsPerTick is the most commands a plan holds (the Scheduler's
	// Config.MaxActionsPerTick). Zero means DefaultConfig's (5). Negative
	// is invalid.
	MaxActionsPerTick int

	// MaxTicks caps the plans a forecast makes; one that reaches it
	// returns with Converged false. Zero means DefaultMaxForecastTicks.
	// Negative is invalid.
	MaxTicks int

	// Now is the time of the first plan, at which the change applies;
	// each next plan is a TickInterval later. It times cool-downs
	// (Policy.MoveCooldown), move timeouts and down timeouts against the
	// log times the View holds. The zero time means a TickInterval after
	// the newest log time the View holds (of a move, a node's state or a
	// completed move), or after the Unix epoch when it holds none.
	Now time.Time
}

// DefaultMaxForecastTicks is the plans a Forecaster with no MaxTicks makes
// before it gives up on convergence.
const DefaultMaxForecastTicks = 10_000

// ForecastResult is what a forecast found: the work the planner does from
// the View with the change applied until it has nothing left to do.
type ForecastResult struct {
	// Moves counts the transfers planned (moves begun), Aborted the moves
	// the Scheduler would abort (past Policy.MoveTimeout, or out of a node
	// declared lost), and Splits and Merges the other placement commands.
	Moves, Aborted int
	Splits, Merges int
	// BytesMoved is the sum of the sizes of the shards moved, as the host
	// last reported them (the registry's estimate for split halves and
	// merged shards); a shard of unknown size counts zero.
	BytesMoved uint64
	// Ticks is the plans that found work, in flight or to plan: the plans
	// before the one that found none (with Converged), or MaxTicks.
	Ticks int
	// Converged reports that the last plan was empty with no move in
	// flight; false when MaxTicks was reached first.
	Converged bool
	// Initial is the spreads of the first plan (the View with the change
	// applied), and Balance those of the last: the map as the forecast
	// leaves it.
	Initial, Balance Balance
	// ETA is Ticks × TickInterval: the time from the first plan to the one
	// that finds nothing left. With no CopyRate it counts the plans alone,
	// as if every copy took no time.
	ETA time.Duration
}

// String formats the result for logs: "moves 12 (1.5 GiB), splits 0,
// merges 0, ticks 4 (ETA 2m0s), converged; bytes spread 0.91 -> 0.04".
func (r ForecastResult) String() string {
	conv := "converged"
	if !r.Converged {
		conv = "not converged"
	}
	return fmt.Sprintf("moves %d (%s), splits %d, merges %d, ticks %d (ETA %v), %s; bytes spread %.2f -> %.2f",
		r.Moves, formatBytes(float64(r.BytesMoved)), r.Splits, r.Merges, r.Ticks, r.ETA, conv, r.Initial.Bytes, r.Balance.Bytes)
}

// Forecast is Forecaster{}.Forecast: moves complete in the tick they
// begin, at DefaultConfig's tick interval and limit.
func Forecast(v View, p Policy, change ...Command) (ForecastResult, error) {
	return Forecaster{}.Forecast(v, p, change...)
}

// Forecast applies change, in order, to a copy of v, then runs the planner
// with policy p on the copy, a plan every TickInterval, applying each plan
// as the Scheduler would, until a plan finds nothing to do and no move is
// in flight, or MaxTicks plans were made. It returns what that took.
//
// A change that does not apply (an AddNode of a node v holds, a
// SetNodeState of one it does not) is an error that names the command and
// wraps the registry's rejection (ErrRejected). So is a p that fails
// Policy.Validate, or an invalid Forecaster field (ErrInvalidConfig).
//
// v, and the registry it came from, are untouched: the copy costs O(1)
// (copy-on-write) and each plan what it changes, not the map, so a
// forecast costs its plans. It is deterministic: the same View, policy,
// change and Forecaster give the same result.
//
// What the forecast assumes, as the simulator in examples/simulate does:
// the data does not change, and the host reports every shard's stats
// once a tick, so the merge embargo runs out and the halves of a split
// (whose stats are the registry's estimate, half of each figure) are
// split again if still too big; a move copies at CopyRate (or takes no
// time) and never fails. Each tick, as the Scheduler, it declares lost
// the nodes down past Policy.DownTimeout and aborts the moves past
// Policy.MoveTimeout (a copy longer than that never completes: the
// forecast then does not converge). A pause is not: the forecast is of
// the work, whenever it runs. The planner's hysteresis starts from the
// log's (View.Rebalancing), as a new leader's does. Moves already in
// flight in v complete when their copy would, timed from their
// View.Moves Began (from Now if unknown).
func (f Forecaster) Forecast(v View, p Policy, change ...Command) (ForecastResult, error) {
	if err := p.Validate(); err != nil {
		return ForecastResult{}, fmt.Errorf("forecast: %w", err)
	}
	if err := f.validate(); err != nil {
		return ForecastResult{}, err
	}
	fc := newForecast(f, v, p)
	for i, c := range change {
		if err := fc.reg.ApplyAt(c, fc.start); err != nil {
			return ForecastResult{}, fmt.Errorf("forecast: change %d: %w", i+1, err) // err names c
		}
	}
	fc.watchInitial()
	if err := fc.run(); err != nil {
		return ForecastResult{}, err
	}
	return fc.res, nil
}

// validate checks the Forecaster's fields.
func (f Forecaster) validate() error {
	switch {
	case !finiteNonNegative(f.CopyRate):
		return fmt.Errorf("%w: Forecaster.CopyRate %v must be finite and >= 0", ErrInvalidConfig, f.CopyRate)
	case f.MoveSetup < 0:
		return fmt.Errorf("%w: Forecaster.MoveSetup %v must be >= 0", ErrInvalidConfig, f.MoveSetup)
	case f.TickInterval < 0:
		return fmt.Errorf("%w: Forecaster.TickInterval %v must be >= 0", ErrInvalidConfig, f.TickInterval)
	case f.MaxActionsPerTick < 0:
		return fmt.Errorf("%w: Forecaster.MaxActionsPerTick %d must be >= 0", ErrInvalidConfig, f.MaxActionsPerTick)
	case f.MaxTicks < 0:
		return fmt.Errorf("%w: Forecaster.MaxTicks %d must be >= 0", ErrInvalidConfig, f.MaxTicks)
	}
	return nil
}

// forecast is one Forecast's run: a private registry on a copy of the
// View, a Coordinator with its own clock, and the host's side (the copies
// in flight, the shards it reports).
//
// The registry is written in place: the forecast plans on view(), which
// it reads only before its next write, instead of on the registry's View,
// which would make every tick's first writes copy the map's node slice
// and the paths they touch (most of a forecast's time at 1M shards).
type forecast struct {
	reg   *ShardRegistry
	coord *Coordinator
	pol   Policy
	rate  float64
	setup time.Duration
	every time.Duration
	limit int
	ticks int
	start time.Time
	// due is when each move in flight completes, by shard; a move in
	// flight not in it (one v held) is timed on first sight.
	due map[ShardID]time.Time
	// report holds the shards whose next stats report changes what the
	// planner may do (under the merge embargo, or with estimated stats),
	// with whether to report a computed middle key as their split hint
	// (the halves and merges of hinted shards).
	report map[ShardID]bool
	// seenMoves and seenNodes are the chores' first sightings.
	seenMoves firstSeen[moveAttempt]
	seenNodes firstSeen[NodeID]
	res       ForecastResult
}

func newForecast(f Forecaster, v View, p Policy) *forecast {
	def := DefaultConfig()
	fc := &forecast{
		// The copy shares v's trees, copying each tree node on its first
		// write, so v is never written.
		reg:    &ShardRegistry{cur: v.state().clone(), halfLife: p.LoadHalfLife, gen: 1},
		coord:  NewCoordinator(p),
		pol:    p,
		rate:   f.CopyRate,
		setup:  f.MoveSetup,
		every:  orDefault(f.TickInterval, def.TickInterval),
		limit:  orDefault(f.MaxActionsPerTick, def.MaxActionsPerTick),
		ticks:  orDefault(f.MaxTicks, DefaultMaxForecastTicks),
		start:  f.Now,
		due:    map[ShardID]time.Time{},
		report: map[ShardID]bool{},
	}
	if fc.start.IsZero() {
		fc.start = newestLogTime(v.state()).Add(fc.every)
	}
	return fc
}

// orDefault returns x, or def when x is zero.
func orDefault[T comparable](x, def T) T {
	var zero T
	if x == zero {
		return def
	}
	return x
}

// newestLogTime is the newest log time s holds, or the Unix epoch.
func newestLogTime(s *state) time.Time {
	last := s.recent.last
	s.moves.Ascend(func(m moveItem) bool {
		last = max(last, m.began)
		return true
	})
	for i := range s.nodes {
		last = max(last, s.nodes[i].since)
	}
	return time.Unix(0, last).UTC()
}

// watchInitial finds the shards of the map whose reports the planner
// waits for: cold shards under the merge embargo next to another cold
// shard (from the tail of byKeys), and shards over a split threshold with
// estimated stats (the heads of byKeys and byBytes). It costs those
// shards, not the map.
func (fc *forecast) watchInitial() {
	s := fc.reg.cur
	p := fc.pol
	watch := func(r *shardRec) {
		_, hinted := s.hints.Get(hintItem{id: r.ID})
		fc.report[r.ID] = hinted
	}
	cold := func(r *shardRec, ok bool) bool {
		return ok && r.known && r.keys < p.MergeKeys && r.bytes < p.MergeBytes
	}
	if p.MergeKeys > 0 && p.MergeBytes > 0 && p.MergeEmbargo > 0 {
		s.byKeys.Descend(func(r *shardRec) bool {
			if r.keys >= p.MergeKeys {
				return false
			}
			if cold(r, true) && uint32(r.sinceSplit) < p.MergeEmbargo && (cold(s.w.prev(s, r)) || cold(s.w.next(s, r))) {
				watch(r)
			}
			return true
		})
	}
	over := func(big func(*shardRec) bool) func(*shardRec) bool {
		return func(r *shardRec) bool {
			if !big(r) {
				return false
			}
			if r.estimated {
				watch(r)
			}
			return true
		}
	}
	s.byKeys.Ascend(over(func(r *shardRec) bool { return r.keys > p.SplitKeys }))
	s.byBytes.Ascend(over(func(r *shardRec) bool { return r.bytes > p.SplitBytes }))
}

// view is the private registry's current map, read in place: valid
// until the registry's next write.
func (fc *forecast) view() View { return View{s: fc.reg.cur} }

// at is the time of plan tick (1 for the first).
func (fc *forecast) at(tick int) time.Time {
	return fc.start.Add(time.Duration(tick-1) * fc.every)
}

// run plans and applies until a plan finds nothing to do, or the cap.
func (fc *forecast) run() error {
	fc.coord.Resume(fc.view())
	for tick := 1; ; tick++ {
		now := fc.at(tick)
		fc.coord.SetClock(now, time.Time{})
		if err := fc.chores(now); err != nil {
			return err
		}
		v := fc.view()
		plan := fc.coord.Plan(v, fc.limit)
		if tick == 1 {
			fc.res.Initial = plan.Balance
		}
		fc.res.Balance = plan.Balance
		if len(plan.Commands) == 0 && v.MoveCount() == 0 && !fc.waiting(v, plan) {
			fc.res.Converged = true
			fc.res.Ticks = tick - 1
			break
		}
		if tick > fc.ticks {
			fc.res.Ticks = fc.ticks
			break
		}
		if err := fc.apply(v, plan, now); err != nil {
			return fmt.Errorf("forecast: tick %d: %w", tick, err)
		}
		if err := fc.completeDue(now.Add(fc.every)); err != nil {
			return fmt.Errorf("forecast: tick %d: %w", tick, err)
		}
		fc.reportStats()
	}
	fc.res.ETA = time.Duration(fc.res.Ticks) * fc.every
	return nil
}

// waiting reports whether an empty plan over v only waits for a
// rebalancing window or the churn budget: the same plan without them
// would move something, so the forecast ticks on rather than converge.
func (fc *forecast) waiting(v View, plan Plan) bool {
	held := false
	for _, s := range plan.Skipped {
		held = held || s.Reason == SkipQuietHours || s.Reason == SkipChurnBudget
	}
	if !held {
		return false
	}
	free := fc.pol
	free.ChurnBytesPerHour, free.ChurnShardsPerHour = 0, 0
	free.RebalanceWindows = [MaxRebalanceWindows]TimeOfDayRange{}
	c := *fc.coord
	c.policy = free
	return len(c.preview(v, fc.limit, nil).Commands) > 0
}

// chores declares lost the nodes down past DownTimeout and aborts the
// moves past MoveTimeout, as the Scheduler does before it plans.
func (fc *forecast) chores(now time.Time) error {
	var lost []NodeID
	lost, fc.seenNodes = lostNodes(fc.view(), fc.pol, now, time.Time{}, fc.seenNodes)
	for _, n := range lost {
		if err := fc.reg.ApplyAt(SetNodeState{Node: n, State: NodeLost}, now); err != nil {
			return fmt.Errorf("forecast: declare node %d lost: %w", n, err)
		}
	}
	if fc.reg.cur.moves.Len() == 0 {
		return nil
	}
	var aborts []AbortTransfer
	aborts, _, fc.seenMoves = expiredMoves(fc.view(), fc.pol, fc.limit, now, time.Time{}, fc.seenMoves, nil)
	for _, a := range aborts {
		if err := fc.reg.ApplyAt(a, now); err != nil {
			return fmt.Errorf("forecast: %v: %w", a, err)
		}
		delete(fc.due, a.Shard)
		fc.res.Aborted++
	}
	return nil
}

// apply applies a plan made on v at now, as the Scheduler proposes it,
// and counts its commands. A rejection is a bug: nothing else changes the
// copy between planning and applying. v is the registry's map, written in
// place (see forecast): what it reads of a command's shards, it reads
// before applying the command, and no shard is in two commands.
func (fc *forecast) apply(v View, plan Plan, now time.Time) error {
	s := v.state()
	for _, cmd := range plan.Commands {
		var hinted bool
		var bytes uint64
		next := fc.reg.cur.nextID
		switch c := cmd.(type) {
		case PlaceTransfer:
			if st, known := v.Stats(c.Shard); known {
				bytes = st.Bytes
			}
		case PlaceSplit:
			_, hinted = s.hints.Get(hintItem{id: c.Shard})
		case PlaceMerge:
			_, l := s.hints.Get(hintItem{id: c.Left})
			_, r := s.hints.Get(hintItem{id: c.Right})
			hinted = l || r
		}
		if err := fc.reg.ApplyAt(cmd, now); err != nil {
			return fmt.Errorf("planned %v rejected: %w", cmd, err)
		}
		switch c := cmd.(type) {
		case PlaceSplit:
			fc.res.Splits++
			fc.report[c.Shard], fc.report[next] = hinted, hinted
		case PlaceMerge:
			fc.res.Merges++
			delete(fc.report, c.Right)
			fc.report[c.Left] = hinted
		case PlaceTransfer:
			fc.res.Moves++
			fc.res.BytesMoved = satAdd(fc.res.BytesMoved, bytes)
			if _, moving := fc.reg.cur.moving(c.Shard); !moving {
				continue // one phase, before format version 3
			}
			if fc.rate == 0 || fc.pol.InstantMoves {
				// As the Scheduler proposes an instant move: its
				// completion in the same entry.
				done := CompleteTransfer{Shard: c.Shard, Epoch: c.Epoch + 1}
				if err := fc.reg.ApplyAt(done, now); err != nil {
					return fmt.Errorf("%v rejected: %w", done, err)
				}
				continue
			}
			fc.due[c.Shard] = now.Add(fc.copyTime(bytes))
		}
	}
	return nil
}

// copyTime is how long a move of b bytes takes at the copy rate, as the
// simulator counts it (rounded up to the nanosecond).
func (fc *forecast) copyTime(b uint64) time.Duration {
	return fc.setup + time.Duration(math.Ceil(float64(b)/fc.rate*float64(time.Second)))
}

// completeDue completes, in shard order and at their due times, the moves
// whose copy ends by next (the next plan's time). A move the copy did not
// begin (v held it in flight) is timed from its Began, or from the
// forecast's start when unknown.
func (fc *forecast) completeDue(next time.Time) error {
	var done []CompleteTransfer
	var at []time.Time
	s := fc.reg.cur
	s.moves.Ascend(func(m moveItem) bool {
		due, ok := fc.due[m.id]
		if !ok {
			r, _ := s.shard(m.id)
			bytes := uint64(0)
			if r.known {
				bytes = r.bytes
			}
			began := fc.start
			if m.began != 0 {
				began = time.Unix(0, m.began)
			}
			due = began
			if fc.rate > 0 {
				due = began.Add(fc.copyTime(bytes))
			}
			fc.due[m.id] = due
		}
		if !due.After(next) {
			r, _ := s.shard(m.id)
			done = append(done, CompleteTransfer{Shard: m.id, Epoch: r.Epoch})
			at = append(at, due)
		}
		return true
	})
	for i, c := range done {
		if err := fc.reg.ApplyAt(c, at[i]); err != nil {
			return fmt.Errorf("%v rejected: %w", c, err)
		}
		delete(fc.due, c.Shard)
	}
	return nil
}

// reportStats reports, unchanged, the stats of the shards whose report
// the planner waits for, as the host reports every shard's once a tick;
// a shard drops out once past the merge embargo with reported stats.
func (fc *forecast) reportStats() {
	if len(fc.report) == 0 {
		return
	}
	ids := make([]ShardID, 0, len(fc.report))
	for id := range fc.report {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		// ReportStats may replace cur (a View shares it): read it anew.
		r, ok := fc.reg.cur.shard(id)
		if !ok || !r.known {
			delete(fc.report, id)
			continue
		}
		st, _ := fc.reg.cur.stats(r)
		if st.SplitKey == nil && fc.report[id] {
			st.SplitKey, _ = MidKey(r.Range)
		}
		if err := fc.reg.ReportStats(id, st); err != nil {
			delete(fc.report, id) // cannot happen: the shard is there
			continue
		}
		if r, _ = fc.reg.cur.shard(id); !r.estimated && uint32(r.sinceSplit) >= fc.pol.MergeEmbargo {
			delete(fc.report, id)
		}
	}
}
