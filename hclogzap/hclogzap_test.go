package hclogzap_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/ukehi/placement/hclogzap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// observed returns an adapter over a zap logger that records entries at
// level and above.
func observed(level zapcore.Level, name string) (hclog.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	return hclogzap.New(zap.New(core), name), logs
}

// only returns the single entry logged, failing the test otherwise.
func only(t *testing.T, logs *observer.ObservedLogs) observer.LoggedEntry {
	t.Helper()
	all := logs.TakeAll()
	if len(all) != 1 {
		t.Fatalf("got %d entries, want 1: %+v", len(all), all)
	}
	return all[0]
}

func TestLevelsMapToZap(t *testing.T) {
	tests := []struct {
		name string
		log  func(hclog.Logger)
		want zapcore.Level
	}{
		{name: "trace", log: func(l hclog.Logger) { l.Trace("m") }, want: zapcore.DebugLevel},
		{name: "debug", log: func(l hclog.Logger) { l.Debug("m") }, want: zapcore.DebugLevel},
		{name: "info", log: func(l hclog.Logger) { l.Info("m") }, want: zapcore.InfoLevel},
		{name: "warn", log: func(l hclog.Logger) { l.Warn("m") }, want: zapcore.WarnLevel},
		{name: "error", log: func(l hclog.Logger) { l.Error("m") }, want: zapcore.ErrorLevel},
		{name: "Log warn", log: func(l hclog.Logger) { l.Log(hclog.Warn, "m") }, want: zapcore.WarnLevel},
		{name: "Log no level", log: func(l hclog.Logger) { l.Log(hclog.NoLevel, "m") }, want: zapcore.InfoLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, logs := observed(zapcore.DebugLevel, "")
			tt.log(l)
			if got := only(t, logs); got.Level != tt.want || got.Message != "m" {
				t.Errorf("got %v %q, want %v \"m\"", got.Level, got.Message, tt.want)
			}
		})
	}
}

func TestLogOffWritesNothing(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel, "")
	l.Log(hclog.Off, "m")
	if logs.Len() != 0 {
		t.Errorf("Log(Off) wrote %d entries", logs.Len())
	}
}

func TestIsFollowsZapLevel(t *testing.T) {
	l, logs := observed(zapcore.WarnLevel, "")
	got := []bool{l.IsTrace(), l.IsDebug(), l.IsInfo(), l.IsWarn(), l.IsError()}
	want := []bool{false, false, false, true, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Is* = %v, want %v", got, want)
			break
		}
	}
	if l.GetLevel() != hclog.Warn {
		t.Errorf("GetLevel = %v, want warn", l.GetLevel())
	}
	l.Info("dropped")
	l.Debug("dropped")
	if logs.Len() != 0 {
		t.Errorf("below-level messages written: %v", logs.All())
	}
}

func TestGetLevelOffWhenZapWritesNothing(t *testing.T) {
	l := hclogzap.New(zap.NewNop(), "")
	if l.GetLevel() != hclog.Off || l.IsError() {
		t.Errorf("nop zap: GetLevel = %v, IsError = %v", l.GetLevel(), l.IsError())
	}
	if hclogzap.New(nil, "x").GetLevel() != hclog.Off {
		t.Error("nil zap logger is not a no-op")
	}
}

func TestSetLevelRaisesFloorForRelatedLoggers(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel, "")
	child := l.Named("child").With("k", 1)
	l.SetLevel(hclog.Warn)
	child.Info("dropped")
	child.Warn("kept")
	if got := only(t, logs); got.Message != "kept" {
		t.Errorf("got %q", got.Message)
	}
	if child.IsInfo() || child.GetLevel() != hclog.Warn {
		t.Errorf("child IsInfo = %v, GetLevel = %v after SetLevel(Warn)", child.IsInfo(), child.GetLevel())
	}
	l.SetLevel(hclog.NoLevel)
	if !child.IsDebug() {
		t.Error("SetLevel(NoLevel) did not remove the floor")
	}
}

func TestSetLevelCannotGoBelowZap(t *testing.T) {
	l, logs := observed(zapcore.InfoLevel, "")
	l.SetLevel(hclog.Trace)
	l.Debug("dropped")
	if logs.Len() != 0 || l.IsDebug() {
		t.Error("SetLevel enabled a level the zap core disables")
	}
}

func TestArgsBecomeFields(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel, "")
	err := errors.New("boom")
	l.Info("m", "str", "v", "int", 7, "err", err, "hex", hclog.Hex(255),
		"oct", hclog.Octal(8), "bin", hclog.Binary(5), "quote", hclog.Quote("a b"),
		"fmt", hclog.Format{"%d-%s", 1, "x"}, 42, "non-string key", "odd")
	got := only(t, logs).ContextMap()
	want := map[string]any{
		"str": "v", "int": int64(7), "err": "boom", "hex": "0xff", "oct": "010",
		"bin": "0b101", "quote": `"a b"`, "fmt": "1-x", "%!s(int=42)": "non-string key",
		hclog.MissingKey: "odd",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %q = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d fields %v, want %d", len(got), got, len(want))
	}
}

func TestWithAddsAndReplacesImpliedArgs(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel, "")
	w := l.With("a", 1, "b", 2).With("a", 3, "dangling")
	w.Info("m", "c", 4)
	got := only(t, logs).ContextMap()
	want := map[string]any{"a": int64(3), "b": int64(2), "c": int64(4), hclog.MissingKey: "dangling"}
	if len(got) != len(want) {
		t.Fatalf("fields = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %q = %#v, want %#v", k, got[k], v)
		}
	}
	implied := w.ImpliedArgs()
	if len(implied) != 6 || implied[0] != "a" || implied[1] != 3 {
		t.Errorf("ImpliedArgs = %v", implied)
	}
	implied[1] = "changed"
	if w.ImpliedArgs()[1] != 3 {
		t.Error("ImpliedArgs returned the logger's own slice")
	}
	if len(l.ImpliedArgs()) != 0 {
		t.Errorf("With changed the parent: %v", l.ImpliedArgs())
	}
}

func TestNamedAndResetNamed(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := hclogzap.New(zap.New(core).Named("host"), "raft")
	tests := []struct {
		name     string
		logger   hclog.Logger
		wantName string
		wantZap  string
	}{
		{name: "New", logger: l, wantName: "raft", wantZap: "host.raft"},
		{name: "Named", logger: l.Named("wal"), wantName: "raft.wal", wantZap: "host.raft.wal"},
		{name: "Named empty", logger: l.Named(""), wantName: "raft", wantZap: "host.raft"},
		{name: "ResetNamed", logger: l.Named("wal").ResetNamed("snap"), wantName: "snap", wantZap: "host.snap"},
		{name: "ResetNamed keeps args", logger: l.With("k", "v").ResetNamed("x"), wantName: "x", wantZap: "host.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.logger.Info("m")
			got := only(t, logs)
			if tt.logger.Name() != tt.wantName || got.LoggerName != tt.wantZap {
				t.Errorf("Name = %q, zap name %q; want %q, %q", tt.logger.Name(), got.LoggerName, tt.wantName, tt.wantZap)
			}
		})
	}
	l.With("k", "v").ResetNamed("x").Info("m")
	if got := only(t, logs).ContextMap(); got["k"] != "v" {
		t.Errorf("ResetNamed dropped implied args: %v", got)
	}
}

func TestStandardLogger(t *testing.T) {
	tests := []struct {
		name      string
		opts      *hclog.StandardLoggerOptions
		line      string
		wantLevel zapcore.Level
		wantMsg   string
	}{
		{name: "plain", opts: nil, line: "[WARN] hello", wantLevel: zapcore.InfoLevel, wantMsg: "[WARN] hello"},
		{name: "infer", opts: &hclog.StandardLoggerOptions{InferLevels: true}, line: "[WARN] hello", wantLevel: zapcore.WarnLevel, wantMsg: "hello"},
		{name: "infer ERR", opts: &hclog.StandardLoggerOptions{InferLevels: true}, line: "[ERR] bad", wantLevel: zapcore.ErrorLevel, wantMsg: "bad"},
		{name: "infer none", opts: &hclog.StandardLoggerOptions{InferLevels: true}, line: "hi", wantLevel: zapcore.InfoLevel, wantMsg: "hi"},
		{name: "force", opts: &hclog.StandardLoggerOptions{ForceLevel: hclog.Error}, line: "[DEBUG] x", wantLevel: zapcore.ErrorLevel, wantMsg: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, logs := observed(zapcore.DebugLevel, "")
			l.StandardLogger(tt.opts).Println(tt.line)
			got := only(t, logs)
			if got.Level != tt.wantLevel || got.Message != tt.wantMsg {
				t.Errorf("got %v %q, want %v %q", got.Level, got.Message, tt.wantLevel, tt.wantMsg)
			}
		})
	}
}

func TestStandardWriterReportsFullWrite(t *testing.T) {
	l, logs := observed(zapcore.DebugLevel, "")
	n, err := l.StandardWriter(nil).Write([]byte("line\n"))
	if n != 5 || err != nil {
		t.Errorf("Write = %d, %v; want 5, nil", n, err)
	}
	if got := only(t, logs); got.Message != "line" {
		t.Errorf("message %q", got.Message)
	}
}

func TestCallerIsTheHclogCaller(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := hclogzap.New(zap.New(core, zap.AddCaller()), "")
	l.Info("m")
	got := only(t, logs)
	if !got.Caller.Defined || got.Caller.Function != "github.com/ukehi/placement/hclogzap_test.TestCallerIsTheHclogCaller" {
		t.Errorf("caller = %+v", got.Caller)
	}
}

// stacks logs "m" at level through l, a derived logger and a standard
// logger forced to level, and returns the stack trace of each entry.
func stacks(t *testing.T, l hclog.Logger, logs *observer.ObservedLogs, level hclog.Level) []string {
	t.Helper()
	l.Log(level, "m")
	l.Named("child").With("k", "v").Log(level, "m")
	l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: level}).Print("m")
	var out []string
	for _, e := range logs.TakeAll() {
		out = append(out, e.Stack)
	}
	if len(out) != 3 {
		t.Fatalf("got %d entries, want 3", len(out))
	}
	return out
}

func TestNoStacktraceByDefault(t *testing.T) {
	// The host asks zap for a stack trace on every level; the adapter's
	// messages still carry none.
	core, logs := observer.New(zapcore.DebugLevel)
	l := hclogzap.New(zap.New(core, zap.AddStacktrace(zapcore.DebugLevel)), "raft")
	for _, level := range []hclog.Level{hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		for i, st := range stacks(t, l, logs, level) {
			if st != "" {
				t.Errorf("%v entry %d has a stack trace:\n%s", level, i, st)
			}
		}
	}
}

func TestNoStacktraceInProductionOutput(t *testing.T) {
	// As zap.NewProduction builds it: JSON, stack traces from Error up.
	var buf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(&buf), zapcore.DebugLevel)
	host := zap.New(core, zap.AddStacktrace(zapcore.ErrorLevel))
	host.Error("direct")
	if !strings.Contains(buf.String(), `"stacktrace"`) {
		t.Fatalf("the host logger itself writes no stack trace: %s", buf.String())
	}
	buf.Reset()
	hclogzap.New(host, "raft").Error("failed to heartbeat", "error", errors.New("refused"))
	if out := buf.String(); out == "" || strings.Contains(out, `"stacktrace"`) {
		t.Errorf("hclog Error line: %s", out)
	}
}

func TestWithStacktraceLevel(t *testing.T) {
	tests := []struct {
		name   string
		option zapcore.Level
		host   []zap.Option
		level  hclog.Level
		want   bool
	}{
		{name: "error at error", option: zapcore.ErrorLevel, level: hclog.Error, want: true},
		{name: "warn below error", option: zapcore.ErrorLevel, level: hclog.Warn},
		{name: "host's lower level ignored", option: zapcore.ErrorLevel,
			host: []zap.Option{zap.AddStacktrace(zapcore.DebugLevel)}, level: hclog.Info},
		{name: "warn at warn", option: zapcore.WarnLevel, level: hclog.Warn, want: true},
		{name: "error above warn", option: zapcore.WarnLevel, level: hclog.Error, want: true},
		{name: "info below warn", option: zapcore.WarnLevel, level: hclog.Info},
		{name: "trace at debug", option: zapcore.DebugLevel, level: hclog.Trace, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			l := hclogzap.New(zap.New(core, tt.host...), "raft", hclogzap.WithStacktraceLevel(tt.option))
			for i, st := range stacks(t, l, logs, tt.level) {
				if got := st != ""; got != tt.want {
					t.Errorf("entry %d: stack trace %v, want %v:\n%s", i, got, tt.want, st)
				}
			}
		})
	}
}

func TestStacktraceStartsAtHclogCaller(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := hclogzap.New(zap.New(core), "", hclogzap.WithStacktraceLevel(zapcore.ErrorLevel))
	l.Error("m")
	st := only(t, logs).Stack
	if want := "github.com/ukehi/placement/hclogzap_test.TestStacktraceStartsAtHclogCaller\n"; !strings.HasPrefix(st, want) {
		t.Errorf("stack trace does not start at the caller:\n%s", st)
	}
}
