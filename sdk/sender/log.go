package sender

import (
	"io"
	"log/slog"
	"os"
)

// hclogTime is the timestamp layout go-plugin parses from plugin logs; a
// line with any other layout is passed on as unparsed text.
const hclogTime = "2006-01-02T15:04:05.000000Z07:00"

// NewLogger returns a logger for use inside a plugin. It writes to stderr
// in the JSON form go-plugin reads, so the gateway files each line under
// the plugin's name with its level and attributes intact.
func NewLogger(level slog.Leveler) *slog.Logger {
	return slog.New(NewLogHandler(os.Stderr, level))
}

// NewLogHandler is the handler behind [NewLogger], writing to w.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: hclogKeys})
}

// hclogKeys renames slog's built-in keys to hclog's.
func hclogKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().Format(hclogTime))
	case slog.LevelKey:
		lvl, _ := a.Value.Any().(slog.Level)
		return slog.String("@level", hclogLevel(lvl))
	case slog.MessageKey:
		return slog.String("@message", a.Value.String())
	}
	return a
}

func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
