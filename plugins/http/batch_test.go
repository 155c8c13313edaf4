package httpplugin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	httpplugin "github.com/callgate/callgate/plugins/http"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

func TestSendBatch_concurrent_bounded_in_order(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		if r.Header.Get("webhook-id") == "bad" {
			w.WriteHeader(http.StatusGone)
		}
		_, _ = io.WriteString(w, r.Header.Get("webhook-id"))
	}))
	defer srv.Close()

	const n = 3 * httpplugin.BatchConcurrency
	ds := make([]*pluginv1.Delivery, n)
	for i := range ds {
		ds[i] = &pluginv1.Delivery{Id: strconv.Itoa(i), Destination: srv.URL, Settings: private()}
	}
	ds[5].Id = "bad"
	outs, err := httpplugin.New().SendBatch(t.Context(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != n {
		t.Fatalf("%d outcomes for %d deliveries", len(outs), n)
	}
	for i, out := range outs {
		if string(out.GetResponseBody()) != ds[i].GetId() {
			t.Errorf("outcome %d answers %q, want %q", i, out.GetResponseBody(), ds[i].GetId())
		}
	}
	if outs[5].GetKind() != permanent || outs[4].GetKind() != delivered {
		t.Errorf("kinds %v, %v", outs[4].GetKind(), outs[5].GetKind())
	}
	if p := peak.Load(); p < 2 || p > httpplugin.BatchConcurrency {
		t.Errorf("peak concurrency %d, want 2..%d", p, httpplugin.BatchConcurrency)
	}
}
