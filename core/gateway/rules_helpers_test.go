package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"

	"github.com/callgate/callgate/core/srcwatch"
)

// devSecret and adminToken are the dev mode's credentials (gateway.DevSecret
// and gateway.DevAdminToken), spelled out as a client would.
const (
	devSecret  = "demo-secret"
	adminToken = "dev-admin-token"
)

// bearer authenticates every Connect call with token.
func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}))
}

// timeout is a context for one test's calls.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// seedAnswer is the seed REST envelope.
type seedAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  struct {
		MessageID   string   `json:"messageId"`
		DeliveryIDs []string `json:"deliveryIds"`
	} `json:"result"`
	RequestID string `json:"requestId"`
}

// submit posts a callback on the seed REST path of tenant with the rule
// code and ext, and decodes the envelope.
func submit(t *testing.T, r *running, secret, tenant, rule, content string, ext map[string]string) (int, seedAnswer) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"content":    content,
		"properties": map[string]any{"rule": rule, "ext": ext},
	})
	if err != nil {
		t.Fatal(err)
	}
	status, raw := post(t, http.DefaultClient, r.base+"/"+tenant+"/message/v1/callbacks", secret, string(body))
	var env seedAnswer
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		t.Fatalf("submit answered %d with non-JSON %q", status, raw)
	}
	return status, env
}

// rpcError is what a Connect call answered when it failed, read from the
// wire: the HTTP status, the stable code header and the message.
type rpcError struct {
	Status  int
	Code    string // the Callgate-Error-Code header
	Message string
}

// rpcJSON posts a Connect unary call as JSON, the way curl would, and
// returns the HTTP status, the stable error code header and the body.
func rpcJSON(t *testing.T, r *running, token, procedure string, msg any) (rpcError, []byte) {
	t.Helper()
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, r.base+procedure, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return rpcError{Status: resp.StatusCode, Code: resp.Header.Get("Callgate-Error-Code"), Message: e.Message}, body
}

// addConfig adds a callback config for the tenant whose secret is given.
func addConfig(t *testing.T, r *running, secret, url, key, token string) {
	t.Helper()
	c := callgatev1connect.NewConfigServiceClient(http.DefaultClient, r.base, bearer(secret))
	_, err := c.ModifyCallbackConfig(timeout(t, 10*time.Second), connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
		OperateType:  1,
		Operator:     &callgatev1.UserInfo{UserId: "rules-test"},
		CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: url, CallbackKey: key, CallbackToken: token},
	}))
	if err != nil {
		t.Fatalf("add config %s: %v", url, err)
	}
}

// newTenant makes a tenant with the admin token and returns its app key's
// secret.
func newTenant(t *testing.T, r *running, id string) string {
	t.Helper()
	c := callgatev1connect.NewTenantServiceClient(http.DefaultClient, r.base, bearer(adminToken))
	ctx := timeout(t, 10*time.Second)
	if _, err := c.CreateTenant(ctx, connect.NewRequest(&callgatev1.CreateTenantRequest{
		Tenant: &callgatev1.Tenant{Id: id, Name: "Tenant " + id},
	})); err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
	key, err := c.CreateAppKey(ctx, connect.NewRequest(&callgatev1.CreateAppKeyRequest{TenantId: id}))
	if err != nil || key.Msg.GetSecret() == "" {
		t.Fatalf("create app key for %s: %v %v", id, key, err)
	}
	return key.Msg.GetSecret()
}

// waitDelivery polls GetDelivery until done holds, and returns what it saw
// last.
func waitDelivery(t *testing.T, r *running, secret, id string, within time.Duration, what string,
	done func(*callgatev1.GetDeliveryResponse) bool) *callgatev1.GetDeliveryResponse {
	t.Helper()
	c := callgatev1connect.NewDeliveryServiceClient(http.DefaultClient, r.base, bearer(secret))
	deadline := time.Now().Add(within)
	for {
		resp, err := c.GetDelivery(timeout(t, 10*time.Second), connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: id}))
		if err != nil {
			t.Fatalf("get delivery %s: %v", id, err)
		}
		if done(resp.Msg) {
			return resp.Msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: delivery %v, attempts %v", what, resp.Msg.GetDelivery(), resp.Msg.GetAttempts())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// hit is one request a hook received.
type hit struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// hook is a loopback webhook receiver. answer gives the status and body of
// the n-th request (from 1); nil answers 200 with an empty body.
type hook struct {
	URL    string
	mu     sync.Mutex
	hits   []hit
	notify chan struct{}
}

func newHook(t *testing.T, answer func(n int, h hit) (int, string)) *hook {
	t.Helper()
	hk := &hook{notify: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hit{Header: r.Header.Clone(), Query: r.URL.Query(), Body: body}
		hk.mu.Lock()
		hk.hits = append(hk.hits, h)
		n := len(hk.hits)
		hk.mu.Unlock()
		select {
		case hk.notify <- struct{}{}:
		default:
		}
		status, text := http.StatusOK, ""
		if answer != nil {
			status, text = answer(n, h)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, text)
	}))
	t.Cleanup(srv.Close)
	hk.URL = srv.URL + "/hook"
	return hk
}

func (hk *hook) got() []hit {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	return append([]hit(nil), hk.hits...)
}

// wait waits until cond holds over the requests received so far.
func (hk *hook) wait(t *testing.T, within time.Duration, what string, cond func([]hit) bool) []hit {
	t.Helper()
	deadline := time.After(within)
	for {
		if got := hk.got(); cond(got) {
			return got
		}
		select {
		case <-hk.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; the hook got %d requests", what, len(hk.got()))
		}
	}
}

// watModule compiles testdata/name.wat with wabt's wat2wasm. Without
// wat2wasm the test fails, saying what to install: these modules are the
// only way to make a rule misbehave on purpose.
func watModule(t *testing.T, name string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm not found in PATH: install wabt (apt-get install -y wabt) to build testdata/%s.wat: %v", name, err)
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command(bin, filepath.Join("testdata", name+".wat"), "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm testdata/%s.wat: %v\n%s", name, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// buildGoRule builds the Go rule in testdata/rules/name with the SDK, as a
// WASI reactor, into a temporary folder; version is linked into
// main.version so that each makes different bytes.
func buildGoRule(t *testing.T, name, version string) []byte {
	t.Helper()
	srcwatch.Consult(t, filepath.Join("..", "..", "sdk", "rule"), filepath.Join("testdata", "rules", name))
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%s.wasm", name, version))
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildmode=c-shared", "-buildvcs=false",
		"-ldflags=-buildid= -X main.version="+version, "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "rules", name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/rules/%s: %v\n%s", name, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
