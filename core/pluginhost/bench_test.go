package pluginhost_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/callgate/callgate/core/pluginhost"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// BenchmarkPluginSend measures one delivery through the real http plugin
// process to a loopback receiver that does nothing: the go-plugin gRPC
// round trip plus the HTTP request, signed. Sub-benchmarks: one caller, and
// as many as the dispatcher's default workers.
func BenchmarkPluginSend(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer rcv.Close()
	h := pluginhost.New(slog.New(slog.DiscardHandler), httpSpec())
	if err := h.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	d := &pluginv1.Delivery{Id: "dlv_bench", Destination: rcv.URL, Body: make([]byte, 500), CallbackToken: "token",
		Settings: map[string]string{"allow_private_networks": "true"}}
	send := func() {
		out, err := h.Send(context.Background(), "http", d)
		if err != nil || out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
			b.Fatalf("send: %v %v", out, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			send()
		}
	})
	b.Run("parallel32", func(b *testing.B) {
		b.SetParallelism(16) // 32 callers on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send()
			}
		})
	})
}

// BenchmarkPluginRoundTrip measures what the plugin protocol itself costs
// per delivery: the echo plugin process answers at once and sends
// nothing. "unary" is a plugin built without SendStream (one Send RPC per
// delivery), "stream" one with it (deliveries of concurrent callers
// share a stream and its messages). Run with -cpu to vary GOMAXPROCS.
func BenchmarkPluginRoundTrip(b *testing.B) {
	for _, mode := range []struct{ name, plugin string }{{"unary", "echo-legacy"}, {"stream", "echo"}} {
		h := pluginhost.New(slog.New(slog.DiscardHandler), echoSpec("echo", mode.plugin))
		if err := h.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		d := &pluginv1.Delivery{Id: "dlv_bench", Destination: "+15550001111", Body: make([]byte, 500)}
		send := func(b *testing.B) {
			out, err := h.Send(context.Background(), "echo", d)
			if err != nil || out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
				b.Fatalf("send: %v %v", out, err)
			}
		}
		b.Run(mode.name+"/serial", func(b *testing.B) {
			for b.Loop() {
				send(b)
			}
		})
		b.Run(mode.name+"/parallel32", func(b *testing.B) {
			b.SetParallelism(32 / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					send(b)
				}
			})
		})
		h.Close()
	}
}
