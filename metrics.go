package placement

// MetricKind is how a metric is emitted through hashicorp/go-metrics, which
// decides its type in a sink: go-metrics' Prometheus sink turns a counter
// into a Prometheus counter, a gauge into a gauge, and timers and samples
// into summaries.
type MetricKind string

// The kinds of metric the library emits.
const (
	// MetricCounter is emitted with metrics.IncrCounter.
	MetricCounter MetricKind = "counter"
	// MetricGauge is emitted with metrics.SetGauge.
	MetricGauge MetricKind = "gauge"
	// MetricTimer is emitted with metrics.MeasureSince: a sample of the
	// time elapsed, in units of the go-metrics Config's TimerGranularity
	// (milliseconds by default).
	MetricTimer MetricKind = "timer"
	// MetricSample is emitted with metrics.AddSample.
	MetricSample MetricKind = "sample"
)

// MetricInfo documents one metric the library emits.
type MetricInfo struct {
	// Name is the go-metrics key, as the library passes it: a sink sees it
	// after go-metrics' own prefixes (the Config's ServiceName, type prefix
	// or hostname, when enabled). Prometheus' sink joins it with "_":
	// placement_imbalance_bytes.
	Name []string
	// Kind is how the metric is emitted.
	Kind MetricKind
	// Unit is the unit of the value: "milliseconds" for timers (go-metrics'
	// default granularity), "ratio" for a dimensionless spread, or what a
	// counter or a gauge counts ("ticks", "commands", "moves", "bytes",
	// "shards").
	Unit string
	// Help is one sentence on what the metric measures, without the unit.
	Help string
	// Labels are the names of the labels the metric carries, if any.
	Labels []string
}

// Metrics returns every metric the library emits to hashicorp/go-metrics'
// global sink, with its kind, unit and help text, in a new slice. A host can
// declare them to its sink, for example as the Prometheus sink's
// definitions, so that they carry help text and appear before their first
// value.
//
// The Scheduler emits them all under "placement". Every server counts
// placement.ticks; only the leader, while not paused, emits the others.
func Metrics() []MetricInfo {
	return []MetricInfo{
		{
			Name: []string{"placement", "ticks"}, Kind: MetricCounter, Unit: "ticks",
			Help: "Scheduler ticks run on this server, followers' included (a follower's tick does nothing else).",
		},
		{
			Name: []string{"placement", "plan"}, Kind: MetricTimer, Unit: "milliseconds",
			Help: "Time the leader took to plan one tick: taking a view of the map and computing the plan.",
		},
		{
			Name: []string{"placement", "imbalance"}, Kind: MetricGauge, Unit: "ratio",
			Help: "Spread of shard counts over the up nodes, (max - min) / mean, when the leader last planned; 0 with fewer than two up nodes.",
		},
		{
			Name: []string{"placement", "imbalance", "bytes"}, Kind: MetricGauge, Unit: "ratio",
			Help: "Spread of bytes per capacity share over the up nodes, (max - min) / total bytes, when the leader last planned; 0 when no stats are known.",
		},
		{
			Name: []string{"placement", "imbalance", "load"}, Kind: MetricGauge, Unit: "ratio",
			Help: "Spread of Stats.Load per capacity share over the up nodes, (max - min) / total load, when the leader last planned; 0 when no load is reported.",
		},
		{
			Name: []string{"placement", "churn", "bytes"}, Kind: MetricGauge, Unit: "bytes",
			Help: "Bytes moved in the last hour as the churn budget counts them (Policy.ChurnBytesPerHour; see placement.ChurnState), when the leader last planned; emitted only while a churn budget is set.",
		},
		{
			Name: []string{"placement", "churn", "shards"}, Kind: MetricGauge, Unit: "shards",
			Help: "Shards moved in the last hour as the churn budget counts them (Policy.ChurnShardsPerHour), when the leader last planned; emitted only while a churn budget is set.",
		},
		{
			Name: []string{"placement", "apply"}, Kind: MetricTimer, Unit: "milliseconds",
			Help: "Time the leader took to apply one tick's plan through raft (one log entry), until applied or failed.",
		},
		{
			Name: []string{"placement", "proposed"}, Kind: MetricCounter, Unit: "commands",
			Help: "Commands the leader proposed in plans that raft applied, rejected ones included.",
		},
		{
			Name: []string{"placement", "planned"}, Kind: MetricCounter, Unit: "commands", Labels: []string{"phase"},
			Help: "Commands the leader proposed in plans that raft applied, rejected ones included, by the phase of the plan that chose them (label phase: drain, re-home, split, split-hot, merge, bring-together, counts, bytes, bytes-swap, count-repair, load, load-swap; see placement.Phase).",
		},
		{
			Name: []string{"placement", "rejected"}, Kind: MetricCounter, Unit: "commands",
			Help: "Proposed commands that raft applied but the map rejected, for example because it changed since the plan.",
		},
		{
			Name: []string{"placement", "moves", "aborted"}, Kind: MetricCounter, Unit: "moves",
			Help: "Moves the leader aborted because they stayed in flight longer than Policy.MoveTimeout, or their source node was lost.",
		},
		{
			Name: []string{"placement", "moves", "back"}, Kind: MetricCounter, Unit: "moves",
			Help: "Transfers the leader began that take a shard back to a node it left, by a transfer this leader began, within BackMoveWindow (an hour): churn a stable planner does not make.",
		},
	}
}
