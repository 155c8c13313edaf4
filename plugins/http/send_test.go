package httpplugin_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	httpplugin "github.com/callgate/callgate/plugins/http"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

const (
	delivered = pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
	retryable = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
	permanent = pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT
)

// private lets a delivery reach the loopback test servers.
func private(extra ...string) map[string]string {
	s := map[string]string{"allow_private_networks": "true"}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i]] = extra[i+1]
	}
	return s
}

// received is what a test receiver saw.
type received struct {
	method, uri string
	header      http.Header
	host        string
	body        []byte
}

// recorder starts a receiver that answers with h (or 200 "ok") and hands
// each request it gets to the returned channel.
func recorder(t *testing.T, h http.HandlerFunc) (*httptest.Server, <-chan received) {
	t.Helper()
	ch := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- received{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), host: r.Host, body: body}
		if h == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func send(t *testing.T, d *pluginv1.Delivery) *pluginv1.Outcome {
	t.Helper()
	out, err := httpplugin.New().Send(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The receiver below checks the signatures and decrypts with its own
// code, not package webhook's, so a mistake there cannot hide itself.

func checkStandardSignature(t *testing.T, token string, r received) {
	t.Helper()
	key := []byte(token)
	if rest, ok := strings.CutPrefix(token, "whsec_"); ok {
		var err error
		if key, err = base64.StdEncoding.DecodeString(rest); err != nil {
			t.Fatal(err)
		}
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%s.", r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"))
	m.Write(r.body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	if got := r.header.Get("webhook-signature"); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
}

func checkContentSignature(t *testing.T, token string, r received) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(token))
	m.Write(r.body)
	if got, want := r.header.Get("Content-Signature"), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("Content-Signature = %q, want %q", got, want)
	}
}

func decrypt(t *testing.T, key, body []byte) []byte {
	t.Helper()
	var env struct{ Encrypt string }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	data, err := base64.StdEncoding.DecodeString(env.Encrypt)
	if err != nil || len(data) == 0 || len(data)%16 != 0 {
		t.Fatalf("encrypt field %q: %v", env.Encrypt, err)
	}
	block, _ := aes.NewCipher(key)
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(data, data)
	pad := int(data[len(data)-1])
	if pad < 1 || pad > 16 {
		t.Fatalf("padding byte %d", pad)
	}
	return data[:len(data)-pad]
}

func TestSend_signed_and_encrypted(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	payload := []byte(`{"MsgId":"m1","Status":"DELIVRD"}`)
	tests := []struct {
		name    string
		token   string
		key     []byte
		wantEnc bool
	}{
		{name: "plain_token", token: "s3cret"},
		{name: "whsec_token", token: "whsec_" + base64.StdEncoding.EncodeToString([]byte("a secret of some length"))},
		{name: "signed_and_encrypted", token: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key: key, wantEnc: true},
		{name: "encrypted_unsigned", key: key, wantEnc: true},
		{name: "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, nil)
			out := send(t, &pluginv1.Delivery{
				Id: "dlv_1", Destination: srv.URL + "/hook", Body: payload, Timestamp: 1700000000,
				CallbackToken: tt.token, CallbackKey: tt.key, Settings: private(),
			})
			if out.GetKind() != delivered {
				t.Fatalf("outcome %v", out)
			}
			r := <-got
			if r.header.Get("webhook-id") != "dlv_1" || r.header.Get("webhook-timestamp") != "1700000000" {
				t.Errorf("id/timestamp headers: %v", r.header)
			}
			if tt.token != "" {
				checkStandardSignature(t, tt.token, r)
				checkContentSignature(t, tt.token, r)
			} else if r.header.Get("webhook-signature") != "" || r.header.Get("Content-Signature") != "" {
				t.Errorf("unsigned delivery carries signatures: %v", r.header)
			}
			plain := r.body
			if tt.wantEnc {
				plain = decrypt(t, key, r.body)
			}
			if string(plain) != string(payload) {
				t.Errorf("payload = %s, want %s", plain, payload)
			}
		})
	}
}

func TestSend_request_shape(t *testing.T) {
	tests := []struct {
		name       string
		d          *pluginv1.Delivery
		wantMethod string
		wantURI    string
		wantHeader map[string]string
		wantHost   string
	}{
		{
			name:       "defaults",
			d:          &pluginv1.Delivery{Id: "a", Body: []byte("{}")},
			wantMethod: "POST", wantURI: "/hook",
			wantHeader: map[string]string{"Content-Type": "application/json", "User-Agent": "callgate/1"},
		},
		{
			name: "query_appended_to_existing",
			d: &pluginv1.Delivery{Id: "b", Method: "PUT", Query: map[string]string{"b": "2 3", "a": "x&y"},
				Headers: map[string]string{"X-Custom": "v", "Content-Type": "text/plain", "Host": "example.test"}},
			wantMethod: "PUT", wantURI: "/hook?z=1&a=x%26y&b=2+3",
			wantHeader: map[string]string{"Content-Type": "text/plain", "X-Custom": "v"},
			wantHost:   "example.test",
		},
		{
			// The channel cannot overwrite what receivers check.
			name:       "own_headers_win",
			d:          &pluginv1.Delivery{Id: "c", Headers: map[string]string{"webhook-id": "forged"}},
			wantMethod: "POST", wantURI: "/hook",
			wantHeader: map[string]string{"webhook-id": "c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := recorder(t, nil)
			tt.d.Destination = srv.URL + "/hook"
			if len(tt.d.Query) > 0 {
				tt.d.Destination += "?z=1"
			}
			tt.d.Settings = private()
			before := time.Now().Unix()
			if out := send(t, tt.d); out.GetKind() != delivered {
				t.Fatalf("outcome %v", out)
			}
			r := <-got
			if r.method != tt.wantMethod || r.uri != tt.wantURI {
				t.Errorf("request %s %s, want %s %s", r.method, r.uri, tt.wantMethod, tt.wantURI)
			}
			for k, v := range tt.wantHeader {
				if r.header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, r.header.Get(k), v)
				}
			}
			if tt.wantHost != "" && r.host != tt.wantHost {
				t.Errorf("Host = %q, want %q", r.host, tt.wantHost)
			}
			// A delivery without a timestamp is stamped with the time sent.
			ts, err := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64)
			if err != nil || ts < before || ts > time.Now().Unix() {
				t.Errorf("webhook-timestamp = %q", r.header.Get("webhook-timestamp"))
			}
		})
	}
}

func TestSend_outcomes(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name           string
		status         int
		retryAfter     string
		wantKind       pluginv1.OutcomeKind
		wantDisable    bool
		wantRetryAfter func(int64) bool
	}{
		{name: "ok", status: 200, wantKind: delivered},
		{name: "no_content", status: 204, wantKind: delivered},
		{name: "gone", status: 410, wantKind: permanent, wantDisable: true},
		{name: "too_many_seconds", status: 429, retryAfter: "7", wantKind: retryable, wantRetryAfter: func(ms int64) bool { return ms == 7000 }},
		{name: "unavailable_date", status: 503, retryAfter: date, wantKind: retryable, wantRetryAfter: func(ms int64) bool { return ms > 80_000 && ms <= 90_000 }},
		{name: "too_many_garbage", status: 429, retryAfter: "soon", wantKind: retryable, wantRetryAfter: func(ms int64) bool { return ms == 0 }},
		{name: "server_error", status: 500, wantKind: retryable},
		{name: "not_found", status: 404, wantKind: retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := recorder(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.Header().Set("X-Request-Id", "req-9")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "answer")
			})
			out := send(t, &pluginv1.Delivery{Id: "x", Destination: srv.URL, Settings: private()})
			if out.GetKind() != tt.wantKind || out.GetStatusCode() != int32(tt.status) || out.GetDisableEndpoint() != tt.wantDisable {
				t.Fatalf("outcome %v", out)
			}
			if tt.wantRetryAfter != nil && !tt.wantRetryAfter(out.GetRetryAfterMs()) {
				t.Errorf("RetryAfterMs = %d", out.GetRetryAfterMs())
			}
			if tt.wantKind != delivered && out.GetError() == "" {
				t.Error("failed outcome has no Error")
			}
			if tt.status != 204 && string(out.GetResponseBody()) != "answer" {
				t.Errorf("ResponseBody = %q", out.GetResponseBody())
			}
			if out.GetResponseHeaders()["X-Request-Id"] != "req-9" {
				t.Errorf("ResponseHeaders = %v", out.GetResponseHeaders())
			}
		})
	}
}

func TestSend_timeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, _ := recorder(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	tests := []struct {
		name string
		d    *pluginv1.Delivery
	}{
		{name: "delivery_timeout", d: &pluginv1.Delivery{TimeoutMs: 200, Settings: private()}},
		{name: "setting_timeout", d: &pluginv1.Delivery{Settings: private("timeout_ms", "200")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.Destination = srv.URL
			start := time.Now()
			out := send(t, tt.d)
			if out.GetKind() != retryable || !strings.Contains(out.GetError(), "timed out") {
				t.Fatalf("outcome %v", out)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("took %s", took)
			}
			if out.GetLatencyMs() < 150 {
				t.Errorf("LatencyMs = %d", out.GetLatencyMs())
			}
		})
	}
}

func TestSend_redirect_not_followed(t *testing.T) {
	var followed atomic.Int32
	srv, _ := recorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	out := send(t, &pluginv1.Delivery{Destination: srv.URL + "/hook", Settings: private()})
	if out.GetKind() != retryable || out.GetStatusCode() != 302 || out.GetResponseHeaders()["Location"] != "/elsewhere" {
		t.Fatalf("outcome %v", out)
	}
	if followed.Load() != 0 {
		t.Fatal("redirect was followed")
	}
}

func TestSend_response_bound(t *testing.T) {
	srv, _ := recorder(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 200<<10))
	})
	tests := []struct {
		name    string
		setting string
		want    int
	}{
		{name: "default", want: httpplugin.DefaultMaxResponseBytes},
		{name: "setting", setting: "1000", want: 1000},
		{name: "nothing", setting: "0", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := private()
			if tt.setting != "" {
				s["max_response_bytes"] = tt.setting
			}
			out := send(t, &pluginv1.Delivery{Destination: srv.URL, Settings: s})
			if out.GetKind() != delivered || len(out.GetResponseBody()) != tt.want {
				t.Fatalf("kind %v, %d bytes kept, want %d", out.GetKind(), len(out.GetResponseBody()), tt.want)
			}
		})
	}
}

func TestSend_reuses_connections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := httpplugin.New()
	for i := range 5 {
		out, err := p.Send(t.Context(), &pluginv1.Delivery{Id: strconv.Itoa(i), Destination: srv.URL, Body: []byte("{}"), Settings: private()})
		if err != nil || out.GetKind() != delivered {
			t.Fatalf("send %d: %v %v", i, out, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 sequential sends, want 1", n)
	}
}
