package sender_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/callgate/callgate/sdk/sender"
)

func TestNewLogHandler_hclog_form(t *testing.T) {
	tests := []struct {
		name      string
		level     slog.Level
		wantLevel string
	}{
		{name: "trace", level: slog.LevelDebug - 4, wantLevel: "trace"},
		{name: "debug", level: slog.LevelDebug, wantLevel: "debug"},
		{name: "info", level: slog.LevelInfo, wantLevel: "info"},
		{name: "warn", level: slog.LevelWarn, wantLevel: "warn"},
		{name: "error", level: slog.LevelError, wantLevel: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(sender.NewLogHandler(&buf, slog.LevelDebug-4))
			log.Log(t.Context(), tt.level, "sent", "delivery_id", "d1")
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%s: %v", buf.Bytes(), err)
			}
			if line["@level"] != tt.wantLevel || line["@message"] != "sent" || line["delivery_id"] != "d1" {
				t.Fatalf("line = %v", line)
			}
			// go-plugin drops to raw text unless the timestamp has exactly
			// this layout.
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", line["@timestamp"].(string)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
