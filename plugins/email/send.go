package emailplugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// UserAgent is what the messages' User-Agent and X-Mailer headers say.
const UserAgent = "callgate-email/" + Version

// maxKeptResponse bounds the server's final answer kept in the Outcome.
const maxKeptResponse = 1 << 10

// Send makes one delivery attempt. Everything the server or the network
// does is reported in the Outcome; the error is only for a nil delivery.
func (p *Plugin) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	if d == nil {
		return nil, errors.New("send: no delivery")
	}
	start := time.Now()
	out := p.send(ctx, d)
	out.LatencyMs = time.Since(start).Milliseconds()
	return out, nil
}

func (p *Plugin) send(ctx context.Context, d *pluginv1.Delivery) *pluginv1.Outcome {
	cfg, err := parseConfig(d)
	if err != nil {
		return permanent(err.Error())
	}
	to, err := mail.ParseAddress(d.GetDestination())
	if err != nil {
		return permanent(fmt.Sprintf("destination %q is not an e-mail address: %v", d.GetDestination(), err))
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	files, out := p.fetchAttachments(ctx, cfg, d.GetAttachments())
	if out != nil {
		return out
	}
	msg, err := newMessage(cfg, to, d, files)
	if err != nil {
		return permanent(err.Error())
	}
	client, err := p.newClient(cfg)
	if err != nil {
		return permanent(err.Error())
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return smtpFailure(err, cfg)
	}
	resp := msg.ServerResponse()
	if len(resp) > maxKeptResponse {
		resp = resp[:maxKeptResponse]
	}
	return &pluginv1.Outcome{
		Kind:            pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED,
		StatusCode:      250,
		ResponseBody:    []byte(resp),
		VendorMessageId: msg.GetMessageID(),
	}
}

// newMessage builds the message: headers, body and attachments.
func newMessage(cfg config, to *mail.Address, d *pluginv1.Delivery, files []attachment) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(cfg.from)
	m.ToMailAddress(to)
	m.Subject(oneLine(d.GetSubject()))
	m.SetMessageIDWithValue(messageID(d.GetId(), cfg.from.Address))
	m.SetDate()
	m.SetUserAgent(UserAgent)
	// RFC 3834: keeps vacation responders from answering a machine.
	m.SetGenHeader("Auto-Submitted", "auto-generated")

	body := d.GetBody()
	ct := gomail.TypeTextPlain
	if looksLikeHTML(body) {
		ct = gomail.TypeTextHTML
	}
	m.SetBodyString(ct, string(body))

	for _, f := range files {
		var opts []gomail.FileOption
		if f.contentType != "" {
			opts = append(opts, gomail.WithFileContentType(gomail.ContentType(f.contentType)))
		}
		if err := m.AttachReader(f.name, bytes.NewReader(f.data), opts...); err != nil {
			return nil, fmt.Errorf("attach %q: %w", f.name, err)
		}
	}
	return m, nil
}

// looksLikeHTML uses the WHATWG sniffing rules net/http implements: a
// body that starts (after white space) with a tag such as <html>, <p>,
// <div>, <table> or a comment is HTML.
func looksLikeHTML(body []byte) bool {
	return strings.HasPrefix(http.DetectContentType(body), "text/html")
}

// oneLine keeps a subject to one line, so that a line break in it cannot
// start a header of its own.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// messageID makes the Message-ID (without its angle brackets) from the
// delivery id, which is the same on every attempt, and the sender's
// domain. A delivery id that is not a plain token is replaced by a random
// one.
func messageID(deliveryID, fromAddr string) string {
	domain := "callgate.invalid"
	if at := strings.LastIndexByte(fromAddr, '@'); at >= 0 && isToken(fromAddr[at+1:]) {
		domain = fromAddr[at+1:]
	}
	left := deliveryID
	if !isToken(left) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		left = hex.EncodeToString(b[:])
	}
	return left + "@" + domain
}

// isToken reports whether s is made only of letters, digits and
// ".-_", which is safe on either side of a Message-ID's "@".
func isToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// newClient makes an SMTP client for the channel's server.
func (p *Plugin) newClient(cfg config) (*gomail.Client, error) {
	tlsCfg := &tls.Config{ServerName: cfg.host, MinVersion: tls.VersionTLS12, RootCAs: p.rootCAs}
	opts := []gomail.Option{
		gomail.WithTimeout(cfg.timeout),
		gomail.WithTLSConfig(tlsCfg),
	}
	switch cfg.tls {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	// The port goes after WithSSL so that nothing overrides it.
	opts = append(opts, gomail.WithPort(cfg.port))
	if cfg.username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if cfg.tls == TLSNone {
			// Without TLS, go-mail's PLAIN refuses any server but
			// localhost, which is the rule we want for passwords.
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(cfg.username), gomail.WithPassword(cfg.password))
	}
	c, err := gomail.NewClient(cfg.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client for %s: %w", cfg.host, err)
	}
	return c, nil
}

// smtpFailure turns a failed SMTP exchange into an Outcome: the server's
// 5xx replies are permanent, its 4xx replies and everything the network
// does are retried.
func smtpFailure(err error, cfg config) *pluginv1.Outcome {
	addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
	code := replyCode(err)
	msg := fmt.Sprintf("smtp %s: %v", addr, err)
	var ne net.Error
	switch {
	case code >= 500:
		out := permanent(msg)
		out.StatusCode = int32(code)
		return out
	case code >= 400:
		out := retryable(msg)
		out.StatusCode = int32(code)
		return out
	case errors.Is(err, gosmtp.ErrUnencrypted):
		return permanent(fmt.Sprintf("smtp %s: refusing to send the password over an unencrypted connection: set %s=%s or %s (%v)",
			addr, SettingTLS, TLSStartTLS, TLSImplicit, err))
	case errors.Is(err, gomail.ErrNoSupportedAuthDiscovered), errors.Is(err, gomail.ErrPlainAuthNotSupported):
		return permanent(fmt.Sprintf("smtp %s: the server offers no authentication mechanism this plugin can use: %v", addr, err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return retryable(fmt.Sprintf("smtp %s: timed out (limit %s): %v", addr, cfg.timeout, err))
	default:
		return retryable(msg)
	}
}

// replyCode finds the server's reply code in err, 0 when the server did
// not answer with one.
func replyCode(err error) int {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		return se.ErrorCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func permanent(msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, Error: msg}
}

func retryable(msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, Error: msg}
}
