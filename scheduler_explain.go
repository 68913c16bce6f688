package placement

// Explain is Coordinator.Explain on this server's map and planner, as the
// next tick would plan (DryRun's planner): why shard id is where it is and
// where the next plan may move it. It works on any server; a follower
// explains with the hysteresis the log holds, as the next leader would.
func (s *Scheduler) Explain(id ShardID) (ShardExplanation, error) {
	v, c, _ := s.planner()
	return c.Explain(v, id)
}

// ExplainNode is Coordinator.ExplainNode on this server's map and planner,
// as Explain is.
func (s *Scheduler) ExplainNode(id NodeID) (NodeExplanation, error) {
	v, c, _ := s.planner()
	return c.ExplainNode(v, id)
}

// Churn is Coordinator.Churn on this server's map, with the policy its
// ticks plan with and its clock: the churn budget and rebalancing windows
// as its next plan would find them.
func (s *Scheduler) Churn() ChurnState {
	v, c, _ := s.planner()
	return c.Churn(v)
}

// Forecast is f.Forecast on this server's map, with the policy and the
// limit its ticks plan with (the replicated ones, or its Config's), its
// tick interval and its clock, for the fields of f left zero.
func (s *Scheduler) Forecast(f Forecaster, change ...Command) (ForecastResult, error) {
	v, c, limit := s.planner()
	if f.TickInterval == 0 {
		f.TickInterval = s.cfg.TickInterval
	}
	if f.MaxActionsPerTick == 0 {
		f.MaxActionsPerTick = limit
	}
	if f.Now.IsZero() {
		f.Now = c.now
	}
	return f.Forecast(v, c.policy, change...)
}
