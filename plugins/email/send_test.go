package emailplugin_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	emailplugin "github.com/callgate/callgate/plugins/email"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

const (
	delivered = pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
	retryable = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
	permanent = pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT
)

// settings are a channel's settings for the test server, with extra
// name/value pairs on top.
func (d *smtpd) settings(extra ...string) map[string]string {
	s := map[string]string{
		"host": d.host,
		"port": strconv.Itoa(d.port),
		"from": "Callgate <noreply@callgate.example>",
		"tls":  "none",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i]] = extra[i+1]
	}
	return s
}

func send(t *testing.T, p *emailplugin.Plugin, d *pluginv1.Delivery) *pluginv1.Outcome {
	t.Helper()
	if p == nil {
		p = emailplugin.New()
	}
	out, err := p.Send(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// part is a leaf MIME part, decoded.
type part struct {
	header   textprotoHeader
	body     []byte
	filename string
}

type textprotoHeader = map[string][]string

func (p part) get(k string) string {
	if v := p.header[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parse reads a message and flattens its MIME tree into leaf parts, each
// with its transfer encoding undone.
func parse(t *testing.T, raw []byte) (*mail.Message, []part) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m, leaves(t, textprotoHeader(m.Header), body)
}

func leaves(t *testing.T, h textprotoHeader, body []byte) []part {
	t.Helper()
	p := part{header: h}
	mt, params, err := mime.ParseMediaType(p.get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", p.get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []part
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			np, err := r.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(np)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, leaves(t, textprotoHeader(np.Header), b)...)
		}
	}
	switch strings.ToLower(p.get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	case "base64":
		body, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("\r"), nil), []byte("\n"), nil))))
	}
	if err != nil {
		t.Fatal(err)
	}
	p.body = body
	if _, dp, err := mime.ParseMediaType(p.get("Content-Disposition")); err == nil {
		p.filename, _ = new(mime.WordDecoder).DecodeHeader(dp["filename"])
	}
	return []part{p}
}

func TestSend_plain_text_with_chinese_subject(t *testing.T) {
	srv := startSMTPD(t, serverOpts{})
	const subject = "订单已支付 – order 42 paid"
	const body = "Your order 42 has been paid.\r\n您的订单已支付。\r\n"
	out := send(t, nil, &pluginv1.Delivery{
		Id: "dlv_01HZX", Destination: "Alice Example <alice@example.com>",
		Subject: subject, Body: []byte(body), Settings: srv.settings(),
	})
	if out.GetKind() != delivered || out.GetStatusCode() != 250 {
		t.Fatalf("outcome %v", out)
	}
	got := srv.next(t)
	if got.from != "noreply@callgate.example" || len(got.to) != 1 || got.to[0] != "alice@example.com" {
		t.Fatalf("envelope from %q to %v", got.from, got.to)
	}
	m, parts := parse(t, got.data)

	from, err := m.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Callgate" || from[0].Address != "noreply@callgate.example" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Alice Example" || to[0].Address != "alice@example.com" {
		t.Errorf("To = %v, %v", to, err)
	}
	rawSubject := m.Header.Get("Subject")
	if !isASCII(rawSubject) {
		t.Errorf("Subject header is not ASCII on the wire: %q", rawSubject)
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(rawSubject); err != nil || s != subject {
		t.Errorf("Subject = %q (%q), %v; want %q", s, rawSubject, err, subject)
	}
	msgID := m.Header.Get("Message-Id")
	if msgID != "<dlv_01HZX@callgate.example>" || out.GetVendorMessageId() != msgID {
		t.Errorf("Message-ID = %q, vendor message id %q", msgID, out.GetVendorMessageId())
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", m.Header.Get("Auto-Submitted"))
	}

	if len(parts) != 1 {
		t.Fatalf("%d parts, want 1", len(parts))
	}
	mt, params, _ := mime.ParseMediaType(parts[0].get("Content-Type"))
	if mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %q", parts[0].get("Content-Type"))
	}
	if string(parts[0].body) != body {
		t.Errorf("body = %q, want %q", parts[0].body, body)
	}
}

func TestSend_html_body(t *testing.T) {
	srv := startSMTPD(t, serverOpts{})
	const body = "\n  <!DOCTYPE html><html><body><p>Paid: <b>42</b> 元</p></body></html>"
	out := send(t, nil, &pluginv1.Delivery{Id: "d-html", Destination: "bob@example.com", Subject: "HTML", Body: []byte(body), Settings: srv.settings()})
	if out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	_, parts := parse(t, srv.next(t).data)
	if len(parts) != 1 {
		t.Fatalf("%d parts", len(parts))
	}
	if mt, _, _ := mime.ParseMediaType(parts[0].get("Content-Type")); mt != "text/html" {
		t.Errorf("Content-Type = %q", parts[0].get("Content-Type"))
	}
	// Text travels with CRLF line ends, and go-mail ends the part with one.
	if got := strings.TrimSuffix(strings.ReplaceAll(string(parts[0].body), "\r\n", "\n"), "\n"); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
}

func TestSend_html_detection(t *testing.T) {
	tests := []struct {
		body string
		html bool
	}{
		{body: "<p>hi</p>", html: true},
		{body: "  <div>x</div>", html: true},
		{body: "<!-- note --><table></table>", html: true},
		{body: "<HTML><BODY>x</BODY></HTML>", html: true},
		{body: "plain text", html: false},
		{body: "1 < 2 and <b> later", html: false},
		{body: `{"event":"order.paid"}`, html: false},
		{body: "", html: false},
	}
	srv := startSMTPD(t, serverOpts{})
	for _, tt := range tests {
		out := send(t, nil, &pluginv1.Delivery{Destination: "x@example.com", Body: []byte(tt.body), Settings: srv.settings()})
		if out.GetKind() != delivered {
			t.Fatalf("outcome %v", out)
		}
		_, parts := parse(t, srv.next(t).data)
		mt, _, _ := mime.ParseMediaType(parts[0].get("Content-Type"))
		if (mt == "text/html") != tt.html {
			t.Errorf("body %q sent as %s", tt.body, mt)
		}
	}
}

func TestSend_attachments(t *testing.T) {
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)...)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/files/report.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write(pdf)
		case "/exports/orders.csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			_, _ = io.WriteString(w, "id,total\n42,9.99\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer files.Close()

	srv := startSMTPD(t, serverOpts{})
	out := send(t, nil, &pluginv1.Delivery{
		Id: "d-att", Destination: "carol@example.com", Subject: "Report", Body: []byte("See attached."),
		Attachments: []*pluginv1.Attachment{
			{FileName: "月报 2026.pdf", Url: files.URL + "/files/report.pdf?sig=abc"},
			{Url: files.URL + "/exports/orders.csv"}, // named after the URL
		},
		Settings: srv.settings("allow_private_networks", "true"),
	})
	if out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	m, parts := parse(t, srv.next(t).data)
	if mt, _, _ := mime.ParseMediaType(m.Header.Get("Content-Type")); mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %q", m.Header.Get("Content-Type"))
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts, want body and two attachments", len(parts))
	}
	if string(parts[0].body) != "See attached." {
		t.Errorf("body = %q", parts[0].body)
	}
	want := []struct {
		name, mediaType string
		data            []byte
	}{
		{"月报 2026.pdf", "application/pdf", pdf},
		{"orders.csv", "text/csv", []byte("id,total\n42,9.99\n")},
	}
	for i, w := range want {
		p := parts[i+1]
		if p.filename != w.name {
			t.Errorf("attachment %d named %q, want %q (Content-Disposition %q)", i, p.filename, w.name, p.get("Content-Disposition"))
		}
		if mt, _, _ := mime.ParseMediaType(p.get("Content-Type")); mt != w.mediaType {
			t.Errorf("attachment %d Content-Type = %q", i, p.get("Content-Type"))
		}
		if !bytes.Equal(p.body, w.data) {
			t.Errorf("attachment %d: %d bytes differ from the %d served", i, len(p.body), len(w.data))
		}
	}
}

func TestSend_attachment_failures(t *testing.T) {
	big := bytes.Repeat([]byte("x"), emailplugin.MaxAttachmentBytes+1)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big-declared":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			_, _ = w.Write(big)
		case "/big-streamed":
			// No Content-Length: the size shows only while reading.
			w.(http.Flusher).Flush()
			_, _ = w.Write(big)
		case "/busy":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case "/throttled":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/forbidden":
			http.Error(w, "no", http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	defer files.Close()
	_, filesPort, _ := net.SplitHostPort(files.Listener.Addr().String())

	srv := startSMTPD(t, serverOpts{})
	tests := []struct {
		name     string
		url      string
		private  bool
		want     pluginv1.OutcomeKind
		contains string
	}{
		{name: "loopback_refused", url: files.URL + "/x.pdf", want: permanent, contains: "allow_private_networks"},
		{name: "localhost_refused", url: "http://localhost:" + filesPort + "/x.pdf", want: permanent, contains: "allow_private_networks"},
		{name: "metadata_refused", url: "http://169.254.169.254/latest/meta-data/", want: permanent, contains: "allow_private_networks"},
		{name: "too_large_declared", url: files.URL + "/big-declared", private: true, want: permanent, contains: "allowed"},
		{name: "too_large_streamed", url: files.URL + "/big-streamed", private: true, want: permanent, contains: "allowed"},
		{name: "not_found", url: files.URL + "/missing.pdf", private: true, want: permanent, contains: "404"},
		{name: "forbidden", url: files.URL + "/forbidden", private: true, want: permanent, contains: "403"},
		{name: "server_busy", url: files.URL + "/busy", private: true, want: retryable, contains: "503"},
		{name: "throttled", url: files.URL + "/throttled", private: true, want: retryable, contains: "429"},
		{name: "ftp_url", url: "ftp://files.example.com/x.pdf", private: true, want: permanent, contains: "not an http"},
		{name: "no_host", url: "http:///x.pdf", private: true, want: permanent, contains: "not an http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := srv.settings()
			if tt.private {
				settings["allow_private_networks"] = "true"
			}
			out := send(t, nil, &pluginv1.Delivery{
				Destination: "dave@example.com", Body: []byte("x"), Settings: settings,
				Attachments: []*pluginv1.Attachment{{FileName: "f", Url: tt.url}},
			})
			if out.GetKind() != tt.want || !strings.Contains(out.GetError(), tt.contains) {
				t.Fatalf("outcome %v, want %v containing %q", out, tt.want, tt.contains)
			}
			srv.none(t)
		})
	}
}

func TestSend_auth_plain(t *testing.T) {
	srv := startSMTPD(t, serverOpts{user: "mailer", pass: "s3cret"})
	t.Run("accepted", func(t *testing.T) {
		out := send(t, nil, &pluginv1.Delivery{Destination: "erin@example.com", Body: []byte("x"),
			Settings: srv.settings("username", "mailer", "password", "s3cret")})
		if out.GetKind() != delivered {
			t.Fatalf("outcome %v", out)
		}
		if got := srv.next(t); got.authUser != "mailer" {
			t.Fatalf("authenticated as %q", got.authUser)
		}
	})
	t.Run("wrong_password_is_permanent", func(t *testing.T) {
		out := send(t, nil, &pluginv1.Delivery{Destination: "erin@example.com", Body: []byte("x"),
			Settings: srv.settings("username", "mailer", "password", "wrong")})
		if out.GetKind() != permanent || out.GetStatusCode() != 535 {
			t.Fatalf("outcome %v", out)
		}
		if strings.Contains(out.GetError(), "wrong") {
			t.Fatalf("error shows the password: %s", out.GetError())
		}
		srv.none(t)
	})
	t.Run("no_credentials_is_permanent", func(t *testing.T) {
		out := send(t, nil, &pluginv1.Delivery{Destination: "erin@example.com", Body: []byte("x"), Settings: srv.settings()})
		if out.GetKind() != permanent || out.GetStatusCode() != 502 {
			t.Fatalf("outcome %v", out)
		}
	})
}

func TestSend_password_never_in_clear_to_remote_hosts(t *testing.T) {
	// 127.0.0.2 is loopback too, but not a name go-mail treats as
	// localhost, so it stands in for a remote server here.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	l.Close()
	srv := startSMTPD(t, serverOpts{user: "mailer", pass: "s3cret", listenAddr: "127.0.0.2:0"})
	out := send(t, nil, &pluginv1.Delivery{Destination: "erin@example.com", Body: []byte("x"),
		Settings: srv.settings("username", "mailer", "password", "s3cret")})
	if out.GetKind() != permanent || !strings.Contains(out.GetError(), "unencrypted") {
		t.Fatalf("outcome %v", out)
	}
	srv.none(t)
}

func TestSend_tls(t *testing.T) {
	_, pool := testCert()
	tests := []struct {
		name     string
		implicit bool
		mode     string
	}{
		{name: "starttls", mode: "starttls"},
		{name: "implicit", implicit: true, mode: "implicit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTPD(t, serverOpts{user: "mailer", pass: "s3cret", tls: serverTLS(), implicit: tt.implicit})
			p := emailplugin.New()
			p.SetRootCAsForTest(pool)
			out := send(t, p, &pluginv1.Delivery{Destination: "frank@example.com", Body: []byte("x"),
				Settings: srv.settings("tls", tt.mode, "username", "mailer", "password", "s3cret")})
			if out.GetKind() != delivered {
				t.Fatalf("outcome %v", out)
			}
			if got := srv.next(t); !got.tls || got.authUser != "mailer" {
				t.Fatalf("tls %v, user %q", got.tls, got.authUser)
			}
		})
	}
	t.Run("untrusted_certificate_is_not_sent_to", func(t *testing.T) {
		srv := startSMTPD(t, serverOpts{tls: serverTLS()})
		out := send(t, nil, &pluginv1.Delivery{Destination: "frank@example.com", Body: []byte("x"), Settings: srv.settings("tls", "starttls")})
		if out.GetKind() == delivered {
			t.Fatalf("outcome %v", out)
		}
		srv.none(t)
	})
	t.Run("starttls_required_but_not_offered", func(t *testing.T) {
		srv := startSMTPD(t, serverOpts{})
		out := send(t, nil, &pluginv1.Delivery{Destination: "frank@example.com", Body: []byte("x"), Settings: srv.settings("tls", "starttls")})
		if out.GetKind() == delivered || !strings.Contains(out.GetError(), "STARTTLS") {
			t.Fatalf("outcome %v", out)
		}
		srv.none(t)
	})
}

func TestSend_server_replies(t *testing.T) {
	srv := startSMTPD(t, serverOpts{})
	tests := []struct {
		name string
		to   string
		want pluginv1.OutcomeKind
		code int32
	}{
		{name: "550_unknown_user_is_permanent", to: rcptUnknown, want: permanent, code: 550},
		{name: "451_greylisted_is_retryable", to: rcptGreylist, want: retryable, code: 451},
		{name: "451_after_data_is_retryable", to: rcptBusy, want: retryable, code: 451},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := send(t, nil, &pluginv1.Delivery{Destination: tt.to, Body: []byte("x"), Settings: srv.settings()})
			if out.GetKind() != tt.want || out.GetStatusCode() != tt.code || out.GetError() == "" {
				t.Fatalf("outcome %v, want %v %d", out, tt.want, tt.code)
			}
			srv.none(t)
		})
	}
}

func TestSend_network_failures_are_retryable(t *testing.T) {
	t.Run("server_down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(l.Addr().String())
		l.Close()
		out := send(t, nil, &pluginv1.Delivery{Destination: "x@example.com", Body: []byte("x"),
			Settings: map[string]string{"host": "127.0.0.1", "port": port, "from": "a@example.com", "tls": "none"}})
		if out.GetKind() != retryable || out.GetStatusCode() != 0 || out.GetError() == "" {
			t.Fatalf("outcome %v", out)
		}
	})
	t.Run("server_silent", func(t *testing.T) {
		// Accepts the connection but never greets.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		start := time.Now()
		out := send(t, nil, &pluginv1.Delivery{Destination: "x@example.com", Body: []byte("x"),
			Settings: map[string]string{"host": "127.0.0.1", "port": port, "from": "a@example.com", "tls": "none", "timeout_ms": "300"}})
		if out.GetKind() != retryable {
			t.Fatalf("outcome %v", out)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %s with a 300ms timeout", d)
		}
	})
}

func TestSend_bad_deliveries_are_permanent(t *testing.T) {
	good := map[string]string{"host": "127.0.0.1", "port": "1", "from": "a@example.com", "tls": "none"}
	with := func(k, v string) map[string]string {
		s := map[string]string{}
		for kk, vv := range good {
			s[kk] = vv
		}
		if v == "" {
			delete(s, k)
		} else {
			s[k] = v
		}
		return s
	}
	tests := []struct {
		name     string
		dest     string
		settings map[string]string
		contains string
	}{
		{name: "bad_address", dest: "not an address", settings: good, contains: "not an e-mail address"},
		{name: "empty_address", dest: "", settings: good, contains: "not an e-mail address"},
		{name: "two_addresses", dest: "a@example.com, b@example.com", settings: good, contains: "not an e-mail address"},
		{name: "no_settings", dest: "a@example.com", contains: "host"},
		{name: "no_host", dest: "a@example.com", settings: with("host", ""), contains: "host"},
		{name: "no_from", dest: "a@example.com", settings: with("from", ""), contains: "from"},
		{name: "bad_from", dest: "a@example.com", settings: with("from", "nobody"), contains: "from"},
		{name: "bad_tls", dest: "a@example.com", settings: with("tls", "ssl"), contains: "tls"},
		{name: "bad_port", dest: "a@example.com", settings: with("port", "70000"), contains: "port"},
		{name: "bad_timeout", dest: "a@example.com", settings: with("timeout_ms", "soon"), contains: "timeout_ms"},
		{name: "bad_allow", dest: "a@example.com", settings: with("allow_private_networks", "maybe"), contains: "allow_private_networks"},
		{name: "user_without_password", dest: "a@example.com", settings: with("username", "u"), contains: "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := send(t, nil, &pluginv1.Delivery{Destination: tt.dest, Body: []byte("x"), Settings: tt.settings})
			if out.GetKind() != permanent || !strings.Contains(out.GetError(), tt.contains) {
				t.Fatalf("outcome %v, want permanent mentioning %q", out, tt.contains)
			}
		})
	}
}

func TestSend_subject_cannot_inject_headers(t *testing.T) {
	srv := startSMTPD(t, serverOpts{})
	out := send(t, nil, &pluginv1.Delivery{Destination: "x@example.com", Subject: "hi\r\nBcc: victim@example.com", Body: []byte("x"), Settings: srv.settings()})
	if out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	m, _ := parse(t, srv.next(t).data)
	if m.Header.Get("Bcc") != "" {
		t.Fatalf("subject injected a Bcc header")
	}
}

func TestSend_nil_delivery(t *testing.T) {
	if _, err := emailplugin.New().Send(t.Context(), nil); err == nil {
		t.Fatal("nil delivery accepted")
	}
}

func TestDescribe(t *testing.T) {
	p := emailplugin.New()
	desc, err := p.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if desc.GetName() != "email" || len(desc.GetChannelKinds()) != 1 || desc.GetChannelKinds()[0] != "email" {
		t.Fatalf("Describe = %v", desc)
	}
	specs := map[string]*pluginv1.SettingSpec{}
	for _, s := range desc.GetSettings() {
		specs[s.GetName()] = s
	}
	for _, n := range []string{"host", "port", "from", "username", "password", "tls", "timeout_ms", "allow_private_networks"} {
		if specs[n] == nil || specs[n].GetDescription() == "" {
			t.Errorf("setting %s missing or undocumented", n)
		}
	}
	if !specs["password"].GetSecret() || !specs["host"].GetRequired() || !specs["from"].GetRequired() {
		t.Errorf("password must be secret, host and from required: %v", desc.GetSettings())
	}
	if err := p.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
