package promdefs_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-metrics"
	metricsprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ukehi/placement"
	"github.com/ukehi/placement/admin/promdefs"
)

// scrape returns the text exposition of reg.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// sink returns go-metrics over a Prometheus sink declared with
// Definitions(prefix...), registered with a fresh registry.
func sink(t *testing.T, service string, prefix ...string) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := metricsprom.PrometheusOpts{Registerer: reg, Expiration: time.Minute}
	opts.GaugeDefinitions, opts.SummaryDefinitions, opts.CounterDefinitions = promdefs.Definitions(prefix...)
	s, err := metricsprom.NewPrometheusSinkFrom(opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := metrics.DefaultConfig(service)
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false
	m, err := metrics.New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

var promType = map[placement.MetricKind]string{
	placement.MetricCounter: "counter",
	placement.MetricGauge:   "gauge",
	placement.MetricTimer:   "summary",
	placement.MetricSample:  "summary",
}

func TestDefinitionsGiveEveryMetricHelpAndType(t *testing.T) {
	m, reg := sink(t, "")
	// Values emitted as the Scheduler emits them land on the declared
	// metrics, not on undocumented twins.
	m.IncrCounter([]string{"placement", "ticks"}, 3)
	m.SetGauge([]string{"placement", "imbalance", "bytes"}, 0.25)
	m.MeasureSince([]string{"placement", "plan"}, time.Now().Add(-time.Second))
	out := scrape(t, reg)

	for _, info := range placement.Metrics() {
		name := strings.Join(info.Name, "_")
		help := "# HELP " + name + " " + info.Help + " Unit: " + info.Unit + ".\n"
		if strings.Count(out, help) != 1 {
			t.Errorf("%s: want one line %q", name, help)
		}
		if typ := "# TYPE " + name + " " + promType[info.Kind] + "\n"; !strings.Contains(out, typ) {
			t.Errorf("%s: no line %q", name, typ)
		}
		if strings.Count(out, "# HELP "+name+" ") != 1 {
			t.Errorf("%s: %d HELP lines", name, strings.Count(out, "# HELP "+name+" "))
		}
	}
	for _, want := range []string{
		"\nplacement_ticks 3\n",
		"\nplacement_imbalance_bytes 0.25\n",
		"\nplacement_plan_count 1\n",
		"\nplacement_proposed 0\n", // declared, never emitted
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in\n%s", strings.TrimSpace(want), out)
		}
	}
	if t.Failed() {
		t.Logf("scraped:\n%s", out)
	}
}

func TestDefinitionsWithServicePrefix(t *testing.T) {
	m, reg := sink(t, "db", "db")
	m.IncrCounter([]string{"placement", "ticks"}, 1)
	out := scrape(t, reg)
	if !strings.Contains(out, "# HELP db_placement_ticks Scheduler ticks") || !strings.Contains(out, "\ndb_placement_ticks 1\n") {
		t.Errorf("service-prefixed metric not declared:\n%s", out)
	}
	if strings.Contains(out, "\nplacement_") {
		t.Errorf("unprefixed metrics declared:\n%s", out)
	}
}

func TestDefinitionsCoverMetrics(t *testing.T) {
	g, s, c := promdefs.Definitions()
	if got, want := len(g)+len(s)+len(c), len(placement.Metrics()); got != want {
		t.Errorf("%d definitions for %d metrics", got, want)
	}
	prefix := []string{"a"}
	g, _, _ = promdefs.Definitions(prefix...)
	g[0].Name[0] = "changed"
	if prefix[0] != "a" {
		t.Error("Definitions shares the caller's prefix")
	}
}
