package placement_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ukehi/placement"
)

// metricCalls maps each go-metrics emitting function to the kind it emits.
var metricCalls = map[string]placement.MetricKind{
	"IncrCounter":            placement.MetricCounter,
	"IncrCounterWithLabels":  placement.MetricCounter,
	"SetGauge":               placement.MetricGauge,
	"SetGaugeWithLabels":     placement.MetricGauge,
	"SetPrecisionGauge":      placement.MetricGauge,
	"MeasureSince":           placement.MetricTimer,
	"MeasureSinceWithLabels": placement.MetricTimer,
	"AddSample":              placement.MetricSample,
	"AddSampleWithLabels":    placement.MetricSample,
}

// emitted is one go-metrics call found in the package's source.
type emitted struct {
	name string // dotted
	kind placement.MetricKind
	pos  token.Position
}

// emittedMetrics parses the package's non-test Go files and returns every
// call of a go-metrics function. A call whose key is not a []string literal
// of string literals fails the test: its name cannot be checked.
func emittedMetrics(t *testing.T) []emitted {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []emitted
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		pkg := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/hashicorp/go-metrics" {
				pkg = "metrics"
				if imp.Name != nil {
					pkg = imp.Name.Name
				}
			}
		}
		if pkg == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); !ok || id.Name != pkg {
				return true
			}
			pos := fset.Position(call.Pos())
			kind, ok := metricCalls[sel.Sel.Name]
			if !ok {
				if sel.Sel.Name == "EmitKey" || (len(call.Args) > 0 && isStringSlice(call.Args[0])) {
					t.Errorf("%s: metrics.%s: unknown kind; add it to metricCalls and MetricKind", pos, sel.Sel.Name)
				}
				return true
			}
			name, ok := literalKey(call.Args[0])
			if !ok {
				t.Errorf("%s: metrics.%s: the key is not a []string literal of string literals", pos, sel.Sel.Name)
				return true
			}
			out = append(out, emitted{name: name, kind: kind, pos: pos})
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("found no go-metrics calls in the package")
	}
	return out
}

func isStringSlice(e ast.Expr) bool {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return false
	}
	arr, ok := lit.Type.(*ast.ArrayType)
	if !ok || arr.Len != nil {
		return false
	}
	id, ok := arr.Elt.(*ast.Ident)
	return ok && id.Name == "string"
}

// literalKey returns the dotted name of a []string{"a", "b"} literal.
func literalKey(e ast.Expr) (string, bool) {
	if !isStringSlice(e) {
		return "", false
	}
	var parts []string
	for _, elt := range e.(*ast.CompositeLit).Elts {
		lit, ok := elt.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "."), len(parts) > 0
}

// TestMetricsDocumentEveryEmittedMetric fails when the package emits a
// metric that Metrics does not document (or with another kind), and when
// Metrics documents one the package no longer emits.
func TestMetricsDocumentEveryEmittedMetric(t *testing.T) {
	documented := map[string]placement.MetricKind{}
	for _, m := range placement.Metrics() {
		documented[strings.Join(m.Name, ".")] = m.Kind
	}
	seen := map[string]bool{}
	for _, e := range emittedMetrics(t) {
		seen[e.name] = true
		kind, ok := documented[e.name]
		switch {
		case !ok:
			t.Errorf("%s: metric %s is not in placement.Metrics()", e.pos, e.name)
		case kind != e.kind:
			t.Errorf("%s: metric %s is emitted as a %s, documented as a %s", e.pos, e.name, e.kind, kind)
		}
	}
	for name := range documented {
		if !seen[name] {
			t.Errorf("placement.Metrics() documents %s, which the package does not emit", name)
		}
	}
}

func TestMetricsAreWellFormed(t *testing.T) {
	units := []string{"milliseconds", "ratio", "ticks", "commands", "moves", "bytes", "shards"}
	names := map[string]bool{}
	for _, m := range placement.Metrics() {
		name := strings.Join(m.Name, ".")
		if names[name] {
			t.Errorf("%s listed twice", name)
		}
		names[name] = true
		if len(m.Name) < 2 || m.Name[0] != "placement" {
			t.Errorf("%s: not under \"placement\"", name)
		}
		if m.Help == "" || !strings.HasSuffix(m.Help, ".") {
			t.Errorf("%s: help %q is not a sentence", name, m.Help)
		}
		if !slices.Contains(units, m.Unit) {
			t.Errorf("%s: unit %q is none of %v", name, m.Unit, units)
		}
		if (m.Kind == placement.MetricTimer) != (m.Unit == "milliseconds") {
			t.Errorf("%s: a %s in %s", name, m.Kind, m.Unit)
		}
	}
	a, b := placement.Metrics(), placement.Metrics()
	a[0].Name[0] = "changed"
	if b[0].Name[0] != "placement" {
		t.Error("Metrics returned shared slices")
	}
}
