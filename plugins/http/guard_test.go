package httpplugin_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	httpplugin "github.com/callgate/callgate/plugins/http"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

func TestSend_refuses_internal_addresses(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// None of these connect: the guard refuses the address before the
	// connect call, so the unroutable ones do not wait for a timeout.
	tests := []struct {
		name     string
		dest     string
		settings map[string]string
	}{
		{name: "loopback", dest: srv.URL},
		{name: "loopback_explicit_false", dest: srv.URL, settings: map[string]string{"allow_private_networks": "false"}},
		{name: "localhost_after_dns", dest: "http://localhost:" + port},
		{name: "loopback_v6", dest: "http://[::1]:" + port},
		{name: "private", dest: "http://10.1.2.3/"},
		{name: "cgnat", dest: "http://100.64.0.1/"},
		{name: "metadata", dest: "http://169.254.169.254/latest/meta-data/"},
		{name: "multicast", dest: "http://224.0.0.1/"},
		{name: "unspecified", dest: "http://0.0.0.0:" + port},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out := send(t, &pluginv1.Delivery{Destination: tt.dest, Settings: tt.settings})
			if out.GetKind() != permanent || !strings.Contains(out.GetError(), "allow_private_networks") {
				t.Fatalf("outcome %v", out)
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("refusal took %s", time.Since(start))
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
}

func TestSend_bad_deliveries_are_permanent(t *testing.T) {
	tests := []struct {
		name string
		d    *pluginv1.Delivery
	}{
		{name: "empty_destination", d: &pluginv1.Delivery{}},
		{name: "not_a_url", d: &pluginv1.Delivery{Destination: "http://exa mple.com/%zz"}},
		{name: "ftp_scheme", d: &pluginv1.Delivery{Destination: "ftp://example.com/x"}},
		{name: "file_scheme", d: &pluginv1.Delivery{Destination: "file:///etc/passwd"}},
		{name: "no_host", d: &pluginv1.Delivery{Destination: "http:///path"}},
		{name: "short_key", d: &pluginv1.Delivery{Destination: "http://example.com/", CallbackKey: []byte("short")}},
		{name: "bad_method", d: &pluginv1.Delivery{Destination: "http://example.com/", Method: "GE T"}},
		{name: "bad_header", d: &pluginv1.Delivery{Destination: "http://example.com/", Headers: map[string]string{"X-A": "a\r\nInjected: 1"}}},
		{name: "bad_timeout_setting", d: &pluginv1.Delivery{Destination: "http://example.com/", Settings: map[string]string{"timeout_ms": "-5"}}},
		{name: "bad_allow_setting", d: &pluginv1.Delivery{Destination: "http://example.com/", Settings: map[string]string{"allow_private_networks": "yes please"}}},
		{name: "huge_response_setting", d: &pluginv1.Delivery{Destination: "http://example.com/", Settings: map[string]string{"max_response_bytes": "999999999"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := send(t, tt.d)
			if out.GetKind() != permanent || out.GetError() == "" {
				t.Fatalf("outcome %v", out)
			}
		})
	}
}

func TestSend_network_error_is_retryable(t *testing.T) {
	// A port nobody listens on: take one and give it back.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out := send(t, &pluginv1.Delivery{Destination: "http://" + addr, Settings: private()})
	if out.GetKind() != retryable || out.GetError() == "" || out.GetStatusCode() != 0 {
		t.Fatalf("outcome %v", out)
	}
}

func TestSend_nil_delivery(t *testing.T) {
	if _, err := httpplugin.New().Send(t.Context(), nil); err == nil {
		t.Fatal("nil delivery accepted")
	}
}

func TestDescribe(t *testing.T) {
	p := httpplugin.New()
	desc, err := p.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if desc.GetName() != "http" || desc.GetVersion() != "1.0.0" || len(desc.GetChannelKinds()) != 1 || desc.GetChannelKinds()[0] != "http" {
		t.Fatalf("Describe = %v", desc)
	}
	names := map[string]bool{}
	for _, s := range desc.GetSettings() {
		names[s.GetName()] = s.GetDescription() != ""
	}
	for _, n := range []string{"allow_private_networks", "timeout_ms", "connect_timeout_ms", "max_response_bytes"} {
		if !names[n] {
			t.Errorf("setting %s missing or undocumented", n)
		}
	}
	if err := p.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
}
