package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/callgate/callgate/core/pluginhost"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"

	"github.com/callgate/callgate/core/srcwatch"
)

// build compiles the example as a vendor would, into a temporary folder,
// and returns the binary's path and SHA-256.
func build(t *testing.T) (string, string) {
	t.Helper()
	srcwatch.Consult(t, "..") // the SDK, this example included
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "callgate-echo")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return bin, hex.EncodeToString(h.Sum(nil))
}

// receiver records the summaries POSTed to it and answers with status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []map[string]any
	keys   []string
	status int
	answer string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, m)
		r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
		status, answer := r.status, r.answer
		r.mu.Unlock()
		w.Header().Set("X-Request-Id", "rcv-1")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(r.Close)
	return r
}

// TestEchoPlugin builds the example with go build, as a vendor would, and
// drives it through the gateway's plugin host: a real process, a real
// go-plugin handshake and gRPC, a real delivery to a loopback receiver.
func TestEchoPlugin(t *testing.T) {
	bin, sum := build(t)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	host := pluginhost.New(log, pluginhost.Spec{Name: "echo", Cmd: []string{bin}, SHA256: sum})
	if err := host.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)

	infos := host.Plugins()
	if len(infos) != 1 || infos[0].Version != "0.1.0" || len(infos[0].ChannelKinds) != 1 || infos[0].ChannelKinds[0] != "echo" || !infos[0].Healthy {
		t.Fatalf("Plugins = %+v", infos)
	}

	rcv := newReceiver(t)
	d := &pluginv1.Delivery{
		Id: "dlv_1", TenantId: "demo", MessageId: "msg_1", Attempt: 1,
		Destination: rcv.URL + "/hook", Subject: "订单", Body: []byte(`{"order":42}`),
		Attachments: []*pluginv1.Attachment{{FileName: "a.pdf", Url: "https://files.example/a.pdf"}},
		Settings:    map[string]string{"allow_private_networks": "true"},
	}
	out, err := host.Send(t.Context(), "echo", d)
	if err != nil {
		t.Fatal(err)
	}
	if out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED || out.GetStatusCode() != 200 || out.GetVendorMessageId() != "rcv-1" {
		t.Fatalf("outcome %v", out)
	}
	rcv.mu.Lock()
	got, key := rcv.got[0], rcv.keys[0]
	rcv.mu.Unlock()
	if got["deliveryId"] != "dlv_1" || got["tenantId"] != "demo" || got["subject"] != "订单" || got["body"] != `{"order":42}` ||
		got["bodyBytes"] != float64(12) || key != "dlv_1" {
		t.Fatalf("receiver got %v (Idempotency-Key %q)", got, key)
	}

	t.Run("receiver_failing_is_retryable", func(t *testing.T) {
		rcv.mu.Lock()
		rcv.status = http.StatusServiceUnavailable
		rcv.mu.Unlock()
		out, err := host.Send(t.Context(), "echo", d)
		if err != nil || out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE || out.GetStatusCode() != 503 {
			t.Fatalf("outcome %v, %v", out, err)
		}
	})
	t.Run("internal_address_refused", func(t *testing.T) {
		guarded := &pluginv1.Delivery{Id: "dlv_2", Destination: rcv.URL + "/hook"}
		out, err := host.Send(t.Context(), "echo", guarded)
		if err != nil || out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT || !strings.Contains(out.GetError(), "allow_private_networks") {
			t.Fatalf("outcome %v, %v", out, err)
		}
	})
	t.Run("vendor_message_id_from_answer", func(t *testing.T) {
		rcv.mu.Lock()
		rcv.status, rcv.answer = http.StatusOK, `{"msgid":"vnd-7"}`
		rcv.mu.Unlock()
		out, err := host.Send(t.Context(), "echo", d)
		if err != nil || out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED || out.GetVendorMessageId() != "vnd-7" {
			t.Fatalf("outcome %v, %v", out, err)
		}
	})
	t.Run("parse_receipt", func(t *testing.T) { testParseReceipt(t, host) })
	t.Run("sha256_pin", func(t *testing.T) { testPin(t, bin, sum) })
}

// testParseReceipt has the plugin process read vendor reports over gRPC,
// as the gateway does for a report posted to the feedback path.
func testParseReceipt(t *testing.T, host *pluginhost.Host) {
	req := &pluginv1.ParseReceiptRequest{
		ChannelId: "echo",
		Headers:   map[string]string{"Content-Type": "application/json"},
		Body:      []byte(`{"messages":[{"msgid":"vnd-7","state":"DELIVERED"},{"msgid":"vnd-8","ref":"dlv_8","state":"FAILED","error":"mailbox full"}]}`),
	}
	rs, err := host.ParseReceipt(t.Context(), "echo", req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].GetVendorMessageId() != "vnd-7" || rs[0].GetStatus() != "delivered" ||
		rs[1].GetDeliveryId() != "dlv_8" || rs[1].GetStatus() != "failed" || rs[1].GetDetail() != "mailbox full" {
		t.Fatalf("ParseReceipt = %v", rs)
	}
	req.Body = []byte(`<report/>`)
	_, err = host.ParseReceipt(t.Context(), "echo", req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not an echo report") {
		t.Fatalf("ParseReceipt of a non-report = %v, want InvalidArgument", err)
	}
}

// testPin starts the binary under several pins: only its own checksum
// lets it run.
func testPin(t *testing.T, bin, sum string) {
	wrong := sha256.Sum256([]byte("some other build"))
	tests := []struct {
		name    string
		pin     string
		wantErr error
	}{
		{name: "matching_pin_starts", pin: sum},
		{name: "uppercase_pin_starts", pin: strings.ToUpper(sum)},
		{name: "other_pin_refused", pin: hex.EncodeToString(wrong[:]), wantErr: pluginhost.ErrChecksumMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := pluginhost.New(nil, pluginhost.Spec{Name: "echo", Cmd: []string{bin}, SHA256: tt.pin})
			t.Cleanup(host.Close)
			err := host.Start(t.Context())
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Start = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
