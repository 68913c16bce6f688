// Package hclogzap adapts a *zap.Logger to hashicorp/go-hclog's Logger
// interface, so that hashicorp/raft (and raft-wal, and the raft transports
// and snapshot stores) log through the host's zap logger instead of writing
// their own text format to stderr.
//
// Levels map as hclog.Trace and hclog.Debug → zap Debug (zap has no trace
// level), Info → Info, Warn → Warn, Error → Error. The zap core decides what
// is enabled: IsTrace and IsDebug report whether zap's Debug is enabled, and
// so on. SetLevel can raise the threshold above zap's (for example, to keep
// raft at Warn while the host logs at Info) but never lower it below what
// the zap core enables; hclog.Off silences the adapter.
//
// Key-value arguments become zap fields: keys are strings (a non-string key
// is formatted with %s, as hclog does), an odd trailing value is logged
// under hclog.MissingKey, and hclog's Format, Hex, Octal, Binary and Quote
// values are rendered as hclog renders them. Other values go through zap.Any,
// so errors, Stringers and numbers keep their zap encodings.
//
// Stack traces are opt-in: by default no message written through the
// adapter carries one, whatever zap.AddStacktrace the host's logger was
// built with (zap.NewProduction adds one to every Error, and raft logs
// routine network failures at Error). WithStacktraceLevel chooses a level at
// or above which messages do carry one.
package hclogzap

import (
	"fmt"
	"io"
	"log"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Option configures New.
type Option func(*options)

type options struct {
	stack zapcore.LevelEnabler
}

// never enables no level: the default for stack traces.
var never = zap.LevelEnablerFunc(func(zapcore.Level) bool { return false })

// WithStacktraceLevel makes messages written at zap level level or above
// carry a stack trace, starting at hclog's caller. The level is zap's, after
// the mapping in the package documentation: zapcore.ErrorLevel covers
// hclog's Error, zapcore.DebugLevel covers every message. It replaces the
// host logger's own zap.AddStacktrace for the adapter's messages; without
// this option no message carries a stack trace.
func WithStacktraceLevel(level zapcore.Level) Option {
	return func(o *options) { o.stack = level }
}

// New returns an hclog.Logger that writes to l under the name name (appended
// to l's own name, if it has one; "" adds none). A nil l means zap.NewNop().
// Messages carry no stack trace unless WithStacktraceLevel says so.
func New(l *zap.Logger, name string, opts ...Option) hclog.Logger {
	if l == nil {
		l = zap.NewNop()
	}
	o := options{stack: never}
	for _, opt := range opts {
		opt(&o)
	}
	// Two frames sit between hclog's caller and zap's Check: the exported
	// method (Info, Log, ...) and emit. AddStacktrace replaces whatever
	// the host's logger had; every logger derived here keeps ours, since
	// they are all built from base.
	base := l.WithOptions(zap.AddCallerSkip(2), zap.AddStacktrace(o.stack))
	a := &adapter{base: base, name: name, floor: new(atomic.Int32)}
	a.build()
	return a
}

// adapter is immutable after construction except for the level floor,
// which it shares with every logger derived from it, as hclog asks of
// SetLevel.
type adapter struct {
	base    *zap.Logger // the host's logger, before our name and fields
	name    string      // hclog's full name, relative to base
	implied []any       // With's key-value pairs, deduplicated by key
	floor   *atomic.Int32
	z       *zap.Logger // base with name and implied fields applied
}

var _ hclog.Logger = (*adapter)(nil)

// build derives z from base, name and implied. Rebuilding from base (rather
// than calling z.Named or z.With) is what lets ResetNamed drop the old name
// and With replace a key's value instead of adding a duplicate field.
func (a *adapter) build() {
	z := a.base
	if a.name != "" {
		z = z.Named(a.name)
	}
	if len(a.implied) > 0 {
		z = z.With(fields(a.implied)...)
	}
	a.z = z
}

func (a *adapter) derive(name string, implied []any) *adapter {
	d := &adapter{base: a.base, name: name, implied: implied, floor: a.floor}
	d.build()
	return d
}

// zapLevel maps an hclog level to the zap level it is written at.
func zapLevel(l hclog.Level) zapcore.Level {
	switch l {
	case hclog.Trace, hclog.Debug:
		return zapcore.DebugLevel
	case hclog.Warn:
		return zapcore.WarnLevel
	case hclog.Error:
		return zapcore.ErrorLevel
	default: // Info, and NoLevel as hclog treats it
		return zapcore.InfoLevel
	}
}

// enabled reports whether a message at l would be written.
func (a *adapter) enabled(l hclog.Level) bool {
	if l == hclog.NoLevel {
		l = hclog.Info
	}
	if l >= hclog.Off || l < hclog.Level(a.floor.Load()) {
		return false
	}
	return a.z.Core().Enabled(zapLevel(l))
}

func (a *adapter) emit(l hclog.Level, msg string, args []any) {
	if !a.enabled(l) {
		return
	}
	if ce := a.z.Check(zapLevel(l), msg); ce != nil {
		ce.Write(fields(args)...)
	}
}

// Log implements hclog.Logger.
func (a *adapter) Log(level hclog.Level, msg string, args ...any) { a.emit(level, msg, args) }

// Trace implements hclog.Logger; it writes at zap's Debug level.
func (a *adapter) Trace(msg string, args ...any) { a.emit(hclog.Trace, msg, args) }

// Debug implements hclog.Logger.
func (a *adapter) Debug(msg string, args ...any) { a.emit(hclog.Debug, msg, args) }

// Info implements hclog.Logger.
func (a *adapter) Info(msg string, args ...any) { a.emit(hclog.Info, msg, args) }

// Warn implements hclog.Logger.
func (a *adapter) Warn(msg string, args ...any) { a.emit(hclog.Warn, msg, args) }

// Error implements hclog.Logger.
func (a *adapter) Error(msg string, args ...any) { a.emit(hclog.Error, msg, args) }

// IsTrace implements hclog.Logger: true when zap's Debug level is enabled.
func (a *adapter) IsTrace() bool { return a.enabled(hclog.Trace) }

// IsDebug implements hclog.Logger.
func (a *adapter) IsDebug() bool { return a.enabled(hclog.Debug) }

// IsInfo implements hclog.Logger.
func (a *adapter) IsInfo() bool { return a.enabled(hclog.Info) }

// IsWarn implements hclog.Logger.
func (a *adapter) IsWarn() bool { return a.enabled(hclog.Warn) }

// IsError implements hclog.Logger.
func (a *adapter) IsError() bool { return a.enabled(hclog.Error) }

// ImpliedArgs implements hclog.Logger. It returns a copy.
func (a *adapter) ImpliedArgs() []any { return slices.Clone(a.implied) }

// With implements hclog.Logger. A key given again replaces its earlier
// value, as in hclog; an odd trailing value is kept under hclog.MissingKey.
func (a *adapter) With(args ...any) hclog.Logger {
	implied := slices.Clone(a.implied)
	for i := 0; i < len(args); i += 2 {
		key, val := hclog.MissingKey, args[i]
		if i+1 < len(args) {
			key, val = keyString(args[i]), args[i+1]
		}
		if j := slices.Index(keysOf(implied), key); j >= 0 {
			implied[2*j+1] = val
		} else {
			implied = append(implied, key, val)
		}
	}
	return a.derive(a.name, implied)
}

// keysOf returns the keys of a deduplicated key-value list.
func keysOf(kv []any) []string {
	keys := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		keys = append(keys, kv[i].(string))
	}
	return keys
}

// Name implements hclog.Logger: the name given to New and Named, without
// the zap logger's own name.
func (a *adapter) Name() string { return a.name }

// Named implements hclog.Logger: name is appended to the current name,
// separated by a dot (zap's separator too).
func (a *adapter) Named(name string) hclog.Logger {
	if a.name != "" && name != "" {
		name = a.name + "." + name
	} else if name == "" {
		name = a.name
	}
	return a.derive(name, a.implied)
}

// ResetNamed implements hclog.Logger: the name replaces the adapter's name.
// The zap logger's own name, given by the host, stays.
func (a *adapter) ResetNamed(name string) hclog.Logger { return a.derive(name, a.implied) }

// SetLevel implements hclog.Logger for this logger and every logger derived
// from the same New call. It sets a floor under zap's level: messages below
// level are dropped even if zap would write them; it cannot enable what zap
// does not. hclog.NoLevel removes the floor.
func (a *adapter) SetLevel(level hclog.Level) { a.floor.Store(int32(level)) }

// GetLevel implements hclog.Logger: the lowest level that would be written,
// or hclog.Off if none would.
func (a *adapter) GetLevel() hclog.Level {
	for l := hclog.Trace; l < hclog.Off; l++ {
		if a.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

// StandardLogger implements hclog.Logger with a *log.Logger writing to
// StandardWriter(opts).
func (a *adapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

// StandardWriter implements hclog.Logger: each Write is one message. With
// opts.ForceLevel, every message is written at that level; with
// opts.InferLevels, a leading "[DEBUG]", "[INFO]", "[WARN]", "[ERROR]" (or
// "[ERR]") or "[TRACE]" picks the level and is stripped; otherwise messages
// are written at Info. InferLevelsWithTimestamp is not supported: a
// timestamp before the level tag leaves the message at Info.
func (a *adapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	w := &stdWriter{a: a}
	if opts != nil {
		w.infer, w.force = opts.InferLevels, opts.ForceLevel
	}
	return w
}

// fields converts hclog key-value pairs to zap fields.
func fields(args []any) []zap.Field {
	out := make([]zap.Field, 0, (len(args)+1)/2)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			out = append(out, field(hclog.MissingKey, args[i]))
			break
		}
		out = append(out, field(keyString(args[i]), args[i+1]))
	}
	return out
}

func keyString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprintf("%s", k)
}

// field renders hclog's formatting types as hclog does and leaves the rest
// to zap.Any.
func field(key string, val any) zap.Field {
	switch v := val.(type) {
	case hclog.Format:
		if len(v) > 0 {
			if format, ok := v[0].(string); ok {
				return zap.String(key, fmt.Sprintf(format, v[1:]...))
			}
		}
		return zap.String(key, fmt.Sprint(v...))
	case hclog.Hex:
		return zap.String(key, "0x"+strconv.FormatUint(uint64(v), 16))
	case hclog.Octal:
		return zap.String(key, "0"+strconv.FormatUint(uint64(v), 8))
	case hclog.Binary:
		return zap.String(key, "0b"+strconv.FormatUint(uint64(v), 2))
	case hclog.Quote:
		return zap.String(key, strconv.Quote(string(v)))
	case hclog.CapturedStacktrace:
		return zap.String(key, string(v))
	}
	return zap.Any(key, val)
}
