package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is callgate built once for every test here: the tests run it the
// way a user does, as its own process with its plugin processes.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "callgate-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "callgate")
	// One compiled-rule cache for every gateway the tests start: compiling
	// the built-in rules cold takes seconds, from the cache milliseconds.
	os.Setenv("CALLGATE_RULE_CACHE", filepath.Join(dir, "rule-cache"))
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build callgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is one running callgate process.
type gateway struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingLine = regexp.MustCompile(`msg="callgate serving" addr=(\S+)`)

// startGateway runs `callgate serve --dev` on a free loopback port with its
// data in dataDir and waits until it is ready.
func startGateway(t *testing.T, dataDir string, extraEnv ...string) *gateway {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--dev", "--addr", "127.0.0.1:0", "--data", dataDir)
	cmd.Env = append(os.Environ(), extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(g.logs, line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.logs.String())
		}
	})
	select {
	case a := <-addr:
		g.base = "http://" + a
	case <-g.done:
		t.Fatalf("gateway exited before serving:\n%s", g.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("gateway did not start:\n%s", g.logs.String())
	}
	g.waitReady()
	return g
}

func (g *gateway) waitReady() {
	g.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(g.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("gateway not ready:\n%s", g.logs.String())
}

// stop ends the gateway with SIGTERM, as an operator would.
func (g *gateway) stop() {
	if g.cmd.ProcessState != nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
}

// kill ends the gateway with SIGKILL: no shutdown code runs. Its plugin
// processes notice their parent is gone and exit on their own.
func (g *gateway) kill() {
	g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
}

// call posts JSON to path with the bearer token and decodes the answer.
func (g *gateway) call(path, token string, body any, out any) int {
	g.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			g.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(http.MethodPost, g.base+path, r)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			g.t.Fatalf("%s answered %d with non-JSON %q", path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

type envelope struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Result    map[string]any `json:"result"`
	RequestID string         `json:"requestId"`
}

func (g *gateway) addConfig(url, key, token string) {
	g.t.Helper()
	var out map[string]any
	status := g.call("/callgate.v1.ConfigService/ModifyCallbackConfig", "demo-secret", map[string]any{
		"operateType":  1,
		"callbackInfo": map[string]string{"callbackUrl": url, "callbackKey": key, "callbackToken": token},
		"operator":     map[string]string{"userId": "e2e"},
	}, &out)
	if status != http.StatusOK {
		g.t.Fatalf("add config: %d %v", status, out)
	}
}

func (g *gateway) submit(content string) (int, envelope) {
	g.t.Helper()
	var env envelope
	status := g.call("/demo/message/v1/callbacks", "demo-secret", map[string]any{
		"content":    content,
		"properties": map[string]any{"appKey": "demo", "rule": "http"},
	}, &env)
	return status, env
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	query  string
}

// receiver is a webhook receiver on loopback; answer decides each reply.
type receiver struct {
	*http.Server
	url    string
	mu     sync.Mutex
	got    []received
	answer func(n int) int
	notify chan struct{}
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, notify: make(chan struct{}, 1)}
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	rc.url = "http://" + ln.Addr().String() + "/hook"
	rc.Server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, query: r.URL.RawQuery})
		n := len(rc.got)
		rc.mu.Unlock()
		select {
		case rc.notify <- struct{}{}:
		default:
		}
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"code":"000","msg":"ok"}`)
	})}
	go rc.Serve(ln)
	t.Cleanup(func() { rc.Close() })
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor waits until cond holds over what was received.
func (rc *receiver) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]received) bool) []received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := rc.requests(); cond(got) {
			return got
		}
		select {
		case <-rc.notify:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d requests", what, len(rc.requests()))
		}
	}
}

// verifyStandard checks a Standard Webhooks signature the way a receiver
// would, with nothing from callgate's code.
func verifyStandard(t *testing.T, token string, h http.Header, body []byte) {
	t.Helper()
	secret := []byte(token)
	if rest, ok := strings.CutPrefix(token, "whsec_"); ok {
		var err error
		if secret, err = base64.StdEncoding.DecodeString(rest); err != nil {
			t.Fatal(err)
		}
	}
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s.%s.%s", h.Get("webhook-id"), h.Get("webhook-timestamp"), body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := h.Get("webhook-signature"); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
	mac = hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	if got, want := h.Get("Content-Signature"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("Content-Signature = %q, want %q", got, want)
	}
}

// decrypt undoes the ESS encryption as a receiver would.
func decrypt(t *testing.T, key string, body []byte) []byte {
	t.Helper()
	var env struct {
		Encrypt string `json:"encrypt"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		t.Fatalf("body is not an encrypted envelope: %q", body)
	}
	ct, err := base64.StdEncoding.DecodeString(env.Encrypt)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		t.Fatalf("ciphertext length %d", len(ct))
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, []byte(key)[:16]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize {
		t.Fatalf("bad padding %d", pad)
	}
	return pt[:len(pt)-pad]
}

func contextWithTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
