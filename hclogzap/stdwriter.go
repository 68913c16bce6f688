package hclogzap

import (
	"bytes"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// stdWriter is the io.Writer behind StandardWriter and StandardLogger: the
// standard library's log package (and raft's older code paths) write one
// line per call, which becomes one message.
type stdWriter struct {
	a     *adapter
	infer bool
	force hclog.Level
}

// Write logs p, without trailing whitespace, as one message. It never fails.
func (w *stdWriter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimRight(p, " \t\r\n"))
	level, stripped := pickLevel(msg)
	switch {
	case w.force != hclog.NoLevel:
		w.a.emit(w.force, stripped, nil)
	case w.infer:
		w.a.emit(level, stripped, nil)
	default:
		w.a.emit(hclog.Info, msg, nil)
	}
	return len(p), nil
}

// levelTags are the prefixes hclog's own standard writer recognises.
var levelTags = []struct {
	tag   string
	level hclog.Level
}{
	{"[TRACE]", hclog.Trace},
	{"[DEBUG]", hclog.Debug},
	{"[INFO]", hclog.Info},
	{"[WARN]", hclog.Warn},
	{"[ERROR]", hclog.Error},
	{"[ERR]", hclog.Error},
}

// pickLevel returns the level a leading tag names (Info if none) and msg
// without the tag.
func pickLevel(msg string) (hclog.Level, string) {
	for _, t := range levelTags {
		if rest, ok := strings.CutPrefix(msg, t.tag); ok {
			return t.level, strings.TrimSpace(rest)
		}
	}
	return hclog.Info, msg
}
