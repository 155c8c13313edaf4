package pluginhost_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/callgate/callgate/core/pluginhost"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/webhook"
)

func httpSpec() pluginhost.Spec {
	return pluginhost.Spec{Name: "http", Cmd: []string{os.Args[0]}, Env: []string{pluginEnv + "=http"}}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func startHost(t *testing.T, specs ...pluginhost.Spec) *pluginhost.Host {
	t.Helper()
	h := pluginhost.New(testLogger(t), specs...)
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// receiver counts deliveries it could verify.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

const token = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := webhook.Verify(token, req.Header.Get(webhook.HeaderID), req.Header.Get(webhook.HeaderTimestamp),
			req.Header.Get(webhook.HeaderSignature), body, 0, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.ids = append(r.ids, req.Header.Get(webhook.HeaderID))
		r.mu.Unlock()
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) delivery(id string) *pluginv1.Delivery {
	return &pluginv1.Delivery{
		Id: id, Destination: r.URL, Body: []byte(`{"n":1}`), CallbackToken: token,
		Settings: map[string]string{"allow_private_networks": "true"},
	}
}

func TestHost_delivers_through_plugin_process(t *testing.T) {
	h := startHost(t, httpSpec())
	r := newReceiver(t)
	ctx := t.Context()

	if pid := h.PIDForTest("http"); pid == 0 || pid == os.Getpid() {
		t.Fatalf("plugin pid %d, test pid %d", pid, os.Getpid())
	}
	out, err := h.Send(ctx, "http", r.delivery("d1"))
	if err != nil {
		t.Fatal(err)
	}
	if out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED || string(out.GetResponseBody()) != "thanks" {
		t.Fatalf("outcome %v", out)
	}

	outs, err := h.SendBatch(ctx, "http", []*pluginv1.Delivery{r.delivery("b1"), r.delivery("b2"), r.delivery("b3")})
	if err != nil || len(outs) != 3 {
		t.Fatalf("SendBatch = %v, %v", outs, err)
	}
	for i, o := range outs {
		if o.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
			t.Errorf("batch outcome %d: %v", i, o)
		}
	}
	r.mu.Lock()
	if len(r.ids) != 4 {
		t.Errorf("receiver verified %v", r.ids)
	}
	r.mu.Unlock()

	_, err = h.ParseReceipt(ctx, "http", &pluginv1.ParseReceiptRequest{})
	if status.Code(err) != codes.Unimplemented || errors.Is(err, pluginhost.ErrPluginUnavailable) {
		t.Errorf("ParseReceipt = %v, want Unimplemented", err)
	}

	infos := h.Plugins()
	want := pluginhost.Info{Name: "http", Version: "1.0.0", ChannelKinds: []string{"http"}, Healthy: true}
	if len(infos) != 1 || infos[0].Name != want.Name || infos[0].Version != want.Version ||
		strings.Join(infos[0].ChannelKinds, ",") != "http" || !infos[0].Healthy || infos[0].Restarts != 0 {
		t.Fatalf("Plugins = %+v, want [%+v]", infos, want)
	}
	if !h.Ready() {
		t.Fatal("not ready")
	}
}

func TestHost_restarts_killed_plugin(t *testing.T) {
	h := startHost(t, httpSpec())
	r := newReceiver(t)
	ctx := t.Context()
	if _, err := h.Send(ctx, "http", r.delivery("before")); err != nil {
		t.Fatal(err)
	}
	pid := h.PIDForTest("http")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	// Many callers at once must not start many processes.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := h.Send(ctx, "http", r.delivery("racing")); err != nil && !errors.Is(err, pluginhost.ErrPluginUnavailable) {
				t.Errorf("Send right after kill: %v", err)
			}
		})
	}
	wg.Wait()

	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := h.Send(ctx, "http", r.delivery("after"))
		if err == nil {
			if out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
				t.Fatalf("outcome after restart %v", out)
			}
			break
		}
		if !errors.Is(err, pluginhost.ErrPluginUnavailable) {
			t.Fatalf("Send while restarting: %v, want ErrPluginUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin not back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if newPid := h.PIDForTest("http"); newPid == pid || newPid == 0 {
		t.Fatalf("pid %d after restart, was %d", newPid, pid)
	}
	if infos := h.Plugins(); infos[0].Restarts != 1 || !infos[0].Healthy {
		t.Fatalf("Plugins = %+v, want one restart", infos)
	}
	if !h.Ready() {
		t.Fatal("not ready after restart")
	}
}

// TestHost_ready_notices_dead_plugin shows a probe alone brings a plugin
// back when no deliveries flow.
func TestHost_ready_notices_dead_plugin(t *testing.T) {
	h := startHost(t, httpSpec())
	if err := syscall.Kill(h.PIDForTest("http"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sawDown := false
	deadline := time.Now().Add(15 * time.Second)
	for !h.Ready() || !sawDown {
		sawDown = sawDown || !h.Ready()
		if time.Now().After(deadline) {
			t.Fatalf("sawDown=%v, Plugins=%+v", sawDown, h.Plugins())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHost_checksum(t *testing.T) {
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(exe)
	tests := []struct {
		name    string
		sha     string
		wantErr error
	}{
		{name: "matches", sha: hex.EncodeToString(sum[:])},
		{name: "matches_upper_case", sha: strings.ToUpper(hex.EncodeToString(sum[:]))},
		{name: "mismatch", sha: strings.Repeat("ab", 32), wantErr: pluginhost.ErrChecksumMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := httpSpec()
			spec.SHA256 = tt.sha
			h := pluginhost.New(testLogger(t), spec)
			defer h.Close()
			err := h.Start(t.Context())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Start = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), `"http"`) {
				t.Errorf("error %q does not name the plugin", err)
			}
			if (err == nil) != h.Ready() {
				t.Errorf("Ready = %v after Start = %v", h.Ready(), err)
			}
		})
	}
}

func TestHost_start_failures(t *testing.T) {
	tests := []struct {
		name     string
		specs    []pluginhost.Spec
		wantErr  error
		wantText string
	}{
		{
			name:     "handshake_version_mismatch",
			specs:    []pluginhost.Spec{{Name: "future", Cmd: []string{os.Args[0]}, Env: []string{pluginEnv + "=http-v2"}}},
			wantErr:  pluginhost.ErrHandshakeMismatch,
			wantText: "protocol version",
		},
		{name: "exits_at_once", specs: []pluginhost.Spec{{Name: "crasher", Cmd: []string{os.Args[0]}, Env: []string{pluginEnv + "=crash"}}}, wantText: `"crasher"`},
		{name: "no_such_executable", specs: []pluginhost.Spec{{Name: "ghost", Cmd: []string{"/nonexistent/callgate-ghost"}}}, wantText: `"ghost"`},
		{name: "second_fails", specs: []pluginhost.Spec{httpSpec(), {Name: "ghost", Cmd: []string{"/nonexistent/x"}}}, wantText: `"ghost"`},
		{name: "no_command", specs: []pluginhost.Spec{{Name: "empty"}}, wantText: `"empty"`},
		{name: "bad_sha", specs: []pluginhost.Spec{{Name: "s", Cmd: []string{"x"}, SHA256: "xyz"}}, wantText: "64 hex digits"},
		{name: "duplicate", specs: []pluginhost.Spec{httpSpec(), httpSpec()}, wantText: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := pluginhost.New(testLogger(t), tt.specs...)
			defer h.Close()
			err := h.Start(t.Context())
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Start = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
			}
			if h.Ready() {
				t.Error("ready after a failed start")
			}
		})
	}
}

func TestHost_unknown_plugin(t *testing.T) {
	h := startHost(t, httpSpec())
	ctx := t.Context()
	_, err := h.Send(ctx, "smtp", &pluginv1.Delivery{})
	if !errors.Is(err, pluginhost.ErrUnknownPlugin) {
		t.Errorf("Send = %v", err)
	}
	_, err = h.SendBatch(ctx, "smtp", nil)
	if !errors.Is(err, pluginhost.ErrUnknownPlugin) {
		t.Errorf("SendBatch = %v", err)
	}
	_, err = h.ParseReceipt(ctx, "smtp", &pluginv1.ParseReceiptRequest{})
	if !errors.Is(err, pluginhost.ErrUnknownPlugin) {
		t.Errorf("ParseReceipt = %v", err)
	}
}

func TestHost_close_stops_processes(t *testing.T) {
	h := pluginhost.New(testLogger(t), httpSpec())
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	pid := h.PIDForTest("http")
	h.Close()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still running after Close", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h.Ready() {
		t.Error("ready after Close")
	}
	if _, err := h.Send(t.Context(), "http", &pluginv1.Delivery{}); !errors.Is(err, pluginhost.ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	h.Close() // twice is fine
	if err := h.Start(t.Context()); !errors.Is(err, pluginhost.ErrClosed) {
		t.Errorf("Start after Close = %v", err)
	}
}

// syncBuffer lets the plugin's log lines, written from go-plugin's
// goroutines, be read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(b.buf.Bytes()) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func TestHost_forwards_plugin_logs(t *testing.T) {
	var buf syncBuffer
	h := pluginhost.New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), httpSpec())
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.Close()
	// go-plugin's server, inside the plugin process, logs its address on
	// stderr at debug level.
	for _, l := range buf.lines() {
		if l["msg"] == "plugin address" && l["plugin"] == "http" && l["level"] == "DEBUG" && l["address"] != nil {
			return
		}
	}
	t.Fatalf("no forwarded plugin line in:\n%s", buf.buf.String())
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 50 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{6, 3200 * time.Millisecond},
		{7, 5 * time.Second},
		{1000, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := pluginhost.BackoffForTest(tt.failures); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}
