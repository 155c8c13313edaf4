package ruleruntime

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// hostModule is the module rules import callgate's functions from.
const hostModule = "callgate_v1"

// Bounds of what one call may log, through log, stdout and stderr together.
const (
	maxLogLines    = 100
	maxLogLineSize = 1 << 10
)

// LogLine is one line a rule logged during a call: through callgate_v1.log
// (its level as given), stdout (Info) or stderr (Warn).
type LogLine struct {
	Level slog.Level
	Text  string
}

// wasmLevels maps the ABI's levels 0-3 to slog's.
var wasmLevels = [...]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// hostLog implements callgate_v1.log(level, ptr, len).
func (r *Runtime) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	level, ptr, n := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	text, ok := mod.Memory().Read(ptr, n)
	if !ok {
		// Fails the call with ErrBadPointer; the instance is dropped.
		panic(fmt.Errorf("%w: log(%d, %d, %d) reads past %d bytes", ErrBadPointer, level, ptr, n, mod.Memory().Size()))
	}
	lvl := slog.LevelError
	if level < uint32(len(wasmLevels)) {
		lvl = wasmLevels[level]
	}
	if v, ok := r.callers.Load(mod); ok {
		v.(*instance).logs.add(lvl, text)
		return
	}
	// A start function runs before its instance is known: log it directly.
	r.logger.Log(ctx, slog.LevelDebug, clip(text), "rule_level", lvl, "source", "log")
}

// hostNowMS implements callgate_v1.now_ms().
func hostNowMS(_ context.Context, stack []uint64) {
	stack[0] = uint64(time.Now().UnixMilli())
}

// logBuffer collects one call's lines within the bounds.
type logBuffer struct {
	lines   []LogLine
	dropped int
}

func (b *logBuffer) add(level slog.Level, text []byte) {
	if len(b.lines) >= maxLogLines {
		b.dropped++
		return
	}
	b.lines = append(b.lines, LogLine{Level: level, Text: clip(text)})
}

// take returns the lines collected and empties the buffer.
func (b *logBuffer) take() []LogLine {
	if len(b.lines) == 0 && b.dropped == 0 {
		return nil
	}
	lines := append([]LogLine(nil), b.lines...)
	if b.dropped > 0 {
		lines = append(lines, LogLine{Level: slog.LevelWarn, Text: fmt.Sprintf("callgate: %d more log lines dropped", b.dropped)})
	}
	clear(b.lines)
	b.lines, b.dropped = b.lines[:0], 0
	return lines
}

// clip copies at most maxLogLineSize bytes of text, as valid UTF-8.
func clip(text []byte) string {
	if len(text) > maxLogLineSize {
		cut := maxLogLineSize // back up to the start of a rune
		for cut > maxLogLineSize-utf8.UTFMax && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return strings.ToValidUTF8(string(text), "\uFFFD")
}

// lineWriter turns what a rule writes to stdout or stderr into log lines.
// Only the first maxLogLineSize bytes of a line are kept.
type lineWriter struct {
	logs    *logBuffer
	level   slog.Level
	partial []byte
	long    bool // the current line was cut
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLogLineSize - len(w.partial); len(chunk) > room {
			chunk, w.long = chunk[:room], true
		}
		w.partial = append(w.partial, chunk...)
		if i < 0 {
			break
		}
		w.flush()
		p = p[i+1:]
	}
	return n, nil
}

// flush ends the current line, if any.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 || w.long {
		w.logs.add(w.level, w.partial)
	}
	w.partial, w.long = w.partial[:0], false
}
