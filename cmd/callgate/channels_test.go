package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server on loopback that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail
}

type mail struct {
	from string
	to   []string
	data string
}

type smtpSession struct {
	box  *mailbox
	from string
	to   []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, mail{from: s.from, to: s.to, data: string(b)})
	s.box.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T) (*mailbox, int) {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{box: box}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return box, ln.Addr().(*net.TCPAddr).Port
}

func (b *mailbox) all() []mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mail(nil), b.msgs...)
}

// TestEmailThroughSMTP: a tenant sets up its email channel, posts a
// callback with the email rule, and the message reaches a real SMTP server
// through the email plugin process.
func TestEmailThroughSMTP(t *testing.T) {
	g := startGateway(t, t.TempDir())
	box, port := startSMTP(t)
	var ch map[string]any
	if s := g.call("/callgate.v1.ChannelService/PutChannel", "demo-secret", map[string]any{"channel": map[string]any{
		"id": "email", "plugin": "email", "settings": map[string]string{
			"host": "127.0.0.1", "port": strconv.Itoa(port), "from": "Callgate <noreply@example.com>",
			"tls": "none"},
	}}, &ch); s != 200 {
		t.Fatalf("put channel: %d %v", s, ch)
	}
	// A second channel with credentials: its password is never shown.
	if s := g.call("/callgate.v1.ChannelService/PutChannel", "demo-secret", map[string]any{"channel": map[string]any{
		"id": "email-relay", "plugin": "email", "settings": map[string]string{
			"host": "relay.example.com", "from": "noreply@example.com", "username": "u", "password": "smtp-secret"},
	}}, &ch); s != 200 || strings.Contains(fmt.Sprint(ch), "smtp-secret") {
		t.Fatalf("put channel: %d %v", s, ch)
	}
	var list map[string]any
	g.call("/callgate.v1.ChannelService/ListChannels", "demo-secret", map[string]any{}, &list)
	if raw := fmt.Sprint(list); strings.Contains(raw, "smtp-secret") || !strings.Contains(raw, "********") {
		t.Errorf("channel list shows the password: %s", raw)
	}
	if s := g.call("/callgate.v1.ChannelService/PutChannel", "demo-secret", map[string]any{"channel": map[string]any{
		"id": "email2", "plugin": "email", "settings": map[string]string{"host": "x", "from": "a@b.c", "allow_private_networks": "true"},
	}}, nil); s != 400 {
		t.Errorf("a tenant set allow_private_networks: %d", s)
	}

	var env envelope
	status := g.call("/demo/message/v1/callbacks", "demo-secret", map[string]any{
		"content": "<p>您的订单已支付</p>",
		"properties": map[string]any{"rule": "email",
			"ext": map[string]string{"destination": "buyer@example.org", "subject": "订单通知 Order paid"}},
	}, &env)
	if status != 200 {
		t.Fatalf("submit: %d %+v", status, env)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(box.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	msgs := box.all()
	if len(msgs) != 1 {
		t.Fatalf("%d messages arrived", len(msgs))
	}
	m := msgs[0]
	if len(m.to) != 1 || m.to[0] != "buyer@example.org" || m.from != "noreply@example.com" {
		t.Errorf("envelope from %q to %v", m.from, m.to)
	}
	if !strings.Contains(m.data, "Subject: =?UTF-8?") || !strings.Contains(m.data, "text/html") {
		t.Errorf("message:\n%s", m.data)
	}

	// Bad input for the email rule is refused with the seed's codes.
	for _, tc := range []struct {
		ext  map[string]string
		code string
	}{
		{map[string]string{"destination": "not-an-address", "subject": "s"}, "InvalidParameterValue"},
		{map[string]string{"destination": "a@example.org"}, "InvalidParameter.ParamError"},
	} {
		var env envelope
		s := g.call("/demo/message/v1/callbacks", "demo-secret", map[string]any{
			"content": "x", "properties": map[string]any{"rule": "email", "ext": tc.ext}}, &env)
		if s != 400 || env.Code != tc.code {
			t.Errorf("ext %v: %d %+v, want 400 %s", tc.ext, s, env, tc.code)
		}
	}
}

// pluginPID finds the gateway's plugin process of that name.
func pluginPID(t *testing.T, gatewayPID int, name string) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(gatewayPID), "-f", "plugin "+name).Output()
	if err != nil {
		t.Fatalf("find plugin %s of %d: %v", name, gatewayPID, err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestPluginKilledMidLoad kills the http plugin process with SIGKILL while
// callbacks are flowing: the gateway restarts it and every acknowledged
// callback still arrives.
func TestPluginKilledMidLoad(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	g.addConfig(rc.url, "", "")
	var acked sync.Map
	var n atomic.Int64
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				content := fmt.Sprintf("w%d-%d", w, i)
				req, _ := http.NewRequest(http.MethodPost, g.base+"/demo/message/v1/callbacks",
					bytes.NewReader([]byte(fmt.Sprintf(`{"content":%q}`, content))))
				req.Header.Set("Authorization", "Bearer demo-secret")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					acked.Store(content, true)
					n.Add(1)
				}
			}
		}()
	}
	go func() {
		for n.Load() < 100 {
			time.Sleep(5 * time.Millisecond)
		}
		pid := pluginPID(t, g.cmd.Process.Pid, "http")
		syscall.Kill(pid, syscall.SIGKILL)
		close(killed)
	}()
	wg.Wait()
	<-killed
	var missing int
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := map[string]bool{}
		for _, r := range rc.requests() {
			seen[string(r.body)] = true
		}
		missing = 0
		acked.Range(func(k, _ any) bool {
			if !seen[k.(string)] {
				missing++
			}
			return true
		})
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged callbacks never arrived", missing, n.Load())
	}
	if !strings.Contains(g.logs.String(), `msg="plugin restarted"`) {
		t.Errorf("the killed plugin was not restarted (no \"plugin restarted\" in the log)")
	}
}
