package pluginhost

import (
	"context"
	"io"
	"log"
	"log/slog"
	"slices"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// hclogger hands go-plugin's logging, and the plugin's own log lines that
// go-plugin reads from its stderr, to slog. go-plugin speaks only hclog.
type hclogger struct {
	base  *slog.Logger // with the implied args but not the name
	log   *slog.Logger // base with the name, what lines go to
	name  string
	args  []any
	level *atomic.Int32 // an hclog.Level, shared with loggers derived from this one
}

func newHCLogger(log *slog.Logger) hclog.Logger {
	l := &hclogger{base: log, log: log, level: new(atomic.Int32)}
	l.level.Store(int32(lowestEnabled(log)))
	return l
}

// lowestEnabled is the most verbose hclog level the slog handler takes,
// so go-plugin can skip parsing lines that would be dropped anyway.
func lowestEnabled(log *slog.Logger) hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if log.Enabled(context.Background(), slogLevel(l)) {
			return l
		}
	}
	return hclog.Off
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug, hclog.NoLevel:
		return slog.LevelDebug
	case hclog.Info:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (l *hclogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < hclog.Level(l.level.Load()) {
		return
	}
	l.log.Log(context.Background(), slogLevel(level), msg, renameKeys(args)...)
}

// renameKeys renames go-plugin's "plugin" key, which holds the
// executable's path, so it cannot be taken for the "plugin" attribute
// the host sets to the plugin's configured name.
func renameKeys(args []any) []any {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "plugin" {
			args = slices.Clone(args)
			args[i] = "plugin_path"
		}
	}
	return args
}

func (l *hclogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hclogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hclogger) enabled(level hclog.Level) bool { return level >= hclog.Level(l.level.Load()) }

func (l *hclogger) IsTrace() bool { return l.enabled(hclog.Trace) }
func (l *hclogger) IsDebug() bool { return l.enabled(hclog.Debug) }
func (l *hclogger) IsInfo() bool  { return l.enabled(hclog.Info) }
func (l *hclogger) IsWarn() bool  { return l.enabled(hclog.Warn) }
func (l *hclogger) IsError() bool { return l.enabled(hclog.Error) }

func (l *hclogger) ImpliedArgs() []any { return l.args }

func (l *hclogger) With(args ...any) hclog.Logger {
	c := *l
	c.base = l.base.With(args...)
	c.args = append(append([]any(nil), l.args...), args...)
	return c.named(l.name)
}

func (l *hclogger) Name() string { return l.name }

// Named is how go-plugin marks its sub-loggers, among them the one that
// carries the plugin's stderr; the name becomes a "logger" attribute.
func (l *hclogger) Named(name string) hclog.Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return l.ResetNamed(name)
}

func (l *hclogger) ResetNamed(name string) hclog.Logger {
	c := *l
	return c.named(name)
}

func (l *hclogger) named(name string) *hclogger {
	l.name = name
	l.log = l.base
	if name != "" {
		l.log = l.base.With("logger", name)
	}
	return l
}

func (l *hclogger) SetLevel(level hclog.Level) { l.level.Store(int32(level)) }
func (l *hclogger) GetLevel() hclog.Level      { return hclog.Level(l.level.Load()) }

func (l *hclogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(l.log.Handler(), slog.LevelInfo)
}

func (l *hclogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return l.StandardLogger(opts).Writer()
}

var _ hclog.Logger = (*hclogger)(nil)
