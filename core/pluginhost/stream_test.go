package pluginhost_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callgate/callgate/core/pluginhost"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

const (
	viaStream = "/callgate.plugin.v1.Sender/SendStream"
	viaUnary  = "/callgate.plugin.v1.Sender/Send"
)

func echoSpec(name, mode string) pluginhost.Spec {
	return pluginhost.Spec{Name: name, Cmd: []string{os.Args[0]}, Env: []string{pluginEnv + "=" + mode}}
}

// sendEcho sends one delivery to the echo plugin and returns the gRPC
// method that carried it.
func sendEcho(t *testing.T, h *pluginhost.Host, name, id string) (string, error) {
	out, err := h.Send(t.Context(), name, &pluginv1.Delivery{Id: id})
	if err != nil {
		return "", err
	}
	if out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED || out.GetVendorMessageId() != id {
		return "", fmt.Errorf("delivery %s answered %v", id, out)
	}
	return string(out.GetResponseBody()), nil
}

// TestHost_send_stream: concurrent sends share the plugin's SendStream and
// each caller gets its own delivery's answer; a plugin built before the
// stream is sent to with unary calls.
func TestHost_send_stream(t *testing.T) {
	h := startHost(t, echoSpec("echo", "echo"), echoSpec("legacy", "echo-legacy"))
	for _, tt := range []struct{ plugin, via string }{{"echo", viaStream}, {"legacy", viaUnary}} {
		t.Run(tt.plugin, func(t *testing.T) {
			var wg sync.WaitGroup
			for i := range 64 {
				wg.Go(func() {
					via, err := sendEcho(t, h, tt.plugin, fmt.Sprintf("dlv_%d", i))
					if err != nil || via != tt.via {
						t.Errorf("send %d: via %q, %v; want via %s", i, via, err, tt.via)
					}
				})
			}
			wg.Wait()
		})
	}
	// Deliveries queued together are packed into one message only as far
	// as gRPC's 4 MiB limit allows.
	t.Run("large_bodies", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				out, err := h.Send(t.Context(), "echo", &pluginv1.Delivery{Id: fmt.Sprint(i), Body: make([]byte, 900<<10)})
				if err != nil || out.GetVendorMessageId() != fmt.Sprint(i) {
					t.Errorf("send %d: %v, %v", i, out, err)
				}
			})
		}
		wg.Wait()
	})
}

// TestHost_send_stream_hanging_delivery: a delivery whose receiver hangs
// holds up no other on the stream, and its caller giving up cancels it.
func TestHost_send_stream_hanging_delivery(t *testing.T) {
	h := startHost(t, echoSpec("echo", "echo"))
	if via, err := sendEcho(t, h, "echo", "first"); err != nil || via != viaStream {
		t.Fatalf("first send: via %q, %v", via, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	hung := make(chan error, 1)
	go func() {
		_, err := h.Send(ctx, "echo", &pluginv1.Delivery{Id: "hung", Destination: "hang"})
		hung <- err
	}()
	for i := range 20 {
		if via, err := sendEcho(t, h, "echo", fmt.Sprintf("dlv_%d", i)); err != nil || via != viaStream {
			t.Fatalf("send %d beside a hanging one: via %q, %v", i, via, err)
		}
	}
	select {
	case err := <-hung:
		t.Fatalf("the hanging delivery returned %v before its caller gave up", err)
	default:
	}
	cancel()
	if err := <-hung; !errors.Is(err, context.Canceled) || errors.Is(err, pluginhost.ErrPluginUnavailable) {
		t.Fatalf("hanging delivery after cancel: %v, want context.Canceled", err)
	}
	// The stream is still good.
	if via, err := sendEcho(t, h, "echo", "after"); err != nil || via != viaStream {
		t.Fatalf("send after a cancel: via %q, %v", via, err)
	}
}

// TestHost_send_stream_plugin_killed: calls waiting on the stream of a
// plugin that dies fail as unavailable, so the dispatcher retries them,
// and the restarted plugin gets a new stream.
func TestHost_send_stream_plugin_killed(t *testing.T) {
	h := startHost(t, echoSpec("echo", "echo"))
	if _, err := sendEcho(t, h, "echo", "before"); err != nil {
		t.Fatal(err)
	}
	hung := make(chan error, 1)
	arrived := filepath.Join(t.TempDir(), "arrived")
	go func() {
		_, err := h.Send(t.Context(), "echo", &pluginv1.Delivery{Id: "hung", Destination: "hang", Subject: arrived})
		hung <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(arrived); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hanging delivery never reached the plugin")
		}
	}
	if err := syscall.Kill(h.PIDForTest("echo"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; !errors.Is(err, pluginhost.ErrPluginUnavailable) {
		t.Fatalf("delivery in flight when the plugin died: %v, want ErrPluginUnavailable", err)
	}
	waitBack(t, h, "echo")
	if via, err := sendEcho(t, h, "echo", "after"); err != nil || via != viaStream {
		t.Fatalf("send after the restart: via %q, %v", via, err)
	}
}

// waitBack sends until the restarted plugin answers.
func waitBack(t *testing.T, h *pluginhost.Host, name string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := sendEcho(t, h, name, "probe")
		if err == nil {
			return
		}
		if !errors.Is(err, pluginhost.ErrPluginUnavailable) || time.Now().After(deadline) {
			t.Fatalf("plugin %s not back: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sink collects the receipts the host hands it.
type sink struct {
	ch chan string
}

func (s *sink) PluginReceipt(_ context.Context, plugin string, r *pluginv1.ParsedReceipt) {
	s.ch <- plugin + " " + r.GetDeliveryId() + " " + r.GetVendorMessageId() + " " + r.GetStatus()
}

// TestHost_receipts: the receipts a plugin reports on its own reach the
// sink, again after the plugin is restarted; a plugin that reports none
// is left alone without complaint.
func TestHost_receipts(t *testing.T) {
	var logs syncBuffer
	h := pluginhost.New(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), echoSpec("echo", "echo"), echoSpec("legacy", "echo-legacy"))
	s := &sink{ch: make(chan string, 100)}
	h.SetReceiptSink(s)
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)

	if _, err := sendEcho(t, h, "echo", "d1"); err != nil {
		t.Fatal(err)
	}
	if got := <-s.ch; got != "echo d1 v-d1 delivered" {
		t.Fatalf("receipt %q", got)
	}
	if err := syscall.Kill(h.PIDForTest("echo"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitBack(t, h, "echo")
	if got := <-s.ch; got != "echo probe v-probe delivered" {
		t.Fatalf("receipt after restart %q", got)
	}
	if _, err := sendEcho(t, h, "legacy", "d2"); err != nil {
		t.Fatal(err)
	}
	h.Close()
	select {
	case got := <-s.ch:
		t.Fatalf("unexpected receipt %q", got)
	default:
	}
	for _, l := range logs.lines() {
		if l["plugin"] == "legacy" && (l["level"] == "WARN" || l["level"] == "ERROR") {
			t.Errorf("the plugin without receipts logged %v", l)
		}
		if msg, _ := l["msg"].(string); strings.Contains(msg, "receipt stream") {
			t.Errorf("receipt stream trouble logged: %v", l)
		}
	}
}
