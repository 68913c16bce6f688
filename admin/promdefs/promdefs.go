// Package promdefs declares the placement library's metrics to
// hashicorp/go-metrics' Prometheus sink, so that they carry help text and
// units on /metrics. It is a separate package so that the library itself
// does not import Prometheus.
//
//	opts := metricsprom.DefaultPrometheusOpts
//	opts.GaugeDefinitions, opts.SummaryDefinitions, opts.CounterDefinitions = promdefs.Definitions()
//	sink, err := metricsprom.NewPrometheusSinkFrom(opts)
//
// The sink keeps a declared metric for its lifetime: it is exported (at
// zero) before its first value and does not expire. A gauge therefore keeps
// the value it had when this server last planned as the leader; read the
// placement gauges of the current leader.
package promdefs

import (
	"slices"

	metricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/ukehi/placement"
)

// Definitions returns placement.Metrics() as the Prometheus sink's
// definitions: counters as counters, gauges as gauges, timers and samples as
// summaries. Each help text ends with the metric's unit.
//
// The names must be the keys the sink receives. With go-metrics'
// ServiceName set (and EnableServiceLabel false), pass it as prefix; with
// EnableTypePrefix or EnableHostname (without EnableHostnameLabel) the keys
// carry more prefixes, which Definitions does not add.
func Definitions(prefix ...string) (gauges []metricsprom.GaugeDefinition, summaries []metricsprom.SummaryDefinition, counters []metricsprom.CounterDefinition) {
	for _, m := range placement.Metrics() {
		name := slices.Concat(prefix, m.Name)
		help := m.Help + " Unit: " + m.Unit + "."
		switch m.Kind {
		case placement.MetricGauge:
			gauges = append(gauges, metricsprom.GaugeDefinition{Name: name, Help: help})
		case placement.MetricTimer, placement.MetricSample:
			summaries = append(summaries, metricsprom.SummaryDefinition{Name: name, Help: help})
		case placement.MetricCounter:
			counters = append(counters, metricsprom.CounterDefinition{Name: name, Help: help})
		}
	}
	return gauges, summaries, counters
}
