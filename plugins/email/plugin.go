// Package emailplugin is callgate's e-mail sender: it sends a delivery as
// one message through the SMTP server its channel names, with go-mail.
//
// The delivery's destination is the recipient's address, its subject the
// message's subject (encoded as RFC 2047 words when it is not ASCII) and
// its body the message's body: HTML when it looks like HTML, plain text
// otherwise. Each attachment is fetched over HTTP(S) from its URL, at most
// [MaxAttachmentBytes] each and [MaxTotalAttachmentBytes] together, and
// attached under its file name.
//
// The Message-ID is made from the delivery id, so every attempt of one
// delivery carries the same one and a receiver's mail client can drop a
// copy that a lost answer made the gateway send twice. It is reported as
// the Outcome's vendor message id.
//
// What the server answers decides the outcome: a 5xx reply is permanent,
// a 4xx reply, a network failure or a timeout is retried. A channel whose
// settings are missing or malformed fails permanently, with an error that
// names the setting.
//
// Attachment URLs come from the callbacks, so they are fetched through the
// same guard as the http plugin's requests: loopback, private, link-local
// and other special-purpose addresses are refused after DNS unless the
// channel sets allow_private_networks=true. The SMTP server is not
// guarded: it is the channel's own configuration, not the callback's, and
// is often a relay on the gateway's own network.
//
// The password is never sent over an unencrypted connection except to
// localhost, where go-mail allows PLAIN without TLS.
package emailplugin

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"sync"
	"time"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// Version is the plugin's version as Describe reports it.
const Version = "1.0.0"

// Limits and defaults.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	// MaxAttachmentBytes bounds one attachment.
	MaxAttachmentBytes = 10 << 20
	// MaxTotalAttachmentBytes bounds all of a message's attachments
	// together; many servers refuse messages much larger than this.
	MaxTotalAttachmentBytes = 25 << 20
	// MaxAttachments bounds how many attachments one message may have.
	MaxAttachments = 20
)

// Setting names a channel may set.
const (
	SettingHost                 = "host"
	SettingPort                 = "port"
	SettingFrom                 = "from"
	SettingUsername             = "username"
	SettingPassword             = "password"
	SettingTLS                  = "tls"
	SettingTimeoutMs            = "timeout_ms"
	SettingAllowPrivateNetworks = "allow_private_networks"
)

// TLS modes the tls setting takes.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
)

// Plugin is the e-mail sender. Create it with [New]; it is safe for
// concurrent use. It opens one SMTP connection per delivery and keeps
// HTTP connection pools for fetching attachments.
type Plugin struct {
	mu         sync.Mutex
	transports map[bool]*http.Transport // by allow_private_networks

	// rootCAs replaces the system's roots when set; only tests set it.
	rootCAs *x509.CertPool
}

// New returns a ready e-mail sender.
func New() *Plugin {
	return &Plugin{transports: make(map[bool]*http.Transport)}
}

// Describe says what the plugin is and which settings it takes.
func (p *Plugin) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{
		Name:         "email",
		Version:      Version,
		ChannelKinds: []string{"email"},
		Settings: []*pluginv1.SettingSpec{
			{Name: SettingHost, Required: true, Description: "Host name or address of the SMTP server."},
			{Name: SettingPort, Description: "Its port (default 25 with tls=none, 587 with starttls, 465 with implicit)."},
			{Name: SettingFrom, Required: true, Description: `The sender, as an address or "Name <address>".`},
			{Name: SettingUsername, Description: "User name for SMTP AUTH; leave empty to send without authenticating."},
			{Name: SettingPassword, Secret: true, Description: "Password for SMTP AUTH. Sent only over TLS, or in the clear to localhost."},
			{Name: SettingTLS, Description: `"starttls" (default: upgrade the connection, refuse a server that cannot), "implicit" (TLS from the first byte, usually port 465) or "none".`},
			{Name: SettingTimeoutMs, Description: "Time for one attempt, fetching attachments included, in milliseconds (default 30000). A timeout the gateway sets on the delivery takes precedence."},
			{Name: SettingAllowPrivateNetworks, Description: `"true" lets attachments be fetched from loopback, private and link-local addresses; off by default.`},
		},
	}, nil
}

// Health reports the plugin healthy: which SMTP server to reach is a
// channel's setting, known only when a delivery names it.
func (p *Plugin) Health(context.Context) error { return nil }

// config is a channel's settings, parsed.
type config struct {
	host         string
	port         int
	from         *mail.Address
	username     string
	password     string
	tls          string
	timeout      time.Duration
	allowPrivate bool
}

// parseConfig reads a delivery's settings. A value that does not parse
// is an error rather than a silent default, so that a typo in a channel's
// settings shows up at its first delivery.
func parseConfig(d *pluginv1.Delivery) (config, error) {
	s := d.GetSettings()
	c := config{host: s[SettingHost], tls: TLSStartTLS, timeout: DefaultTimeout,
		username: s[SettingUsername], password: s[SettingPassword]}
	if c.host == "" {
		return c, fmt.Errorf("setting %s is missing: the channel needs an SMTP server", SettingHost)
	}
	if v := s[SettingFrom]; v == "" {
		return c, fmt.Errorf("setting %s is missing: the channel needs a sender address", SettingFrom)
	} else if from, err := mail.ParseAddress(v); err != nil {
		return c, fmt.Errorf("setting %s: %q is not an e-mail address: %w", SettingFrom, v, err)
	} else {
		c.from = from
	}
	if (c.username == "") != (c.password == "") {
		return c, fmt.Errorf("settings %s and %s go together: set both or neither", SettingUsername, SettingPassword)
	}
	switch v := s[SettingTLS]; v {
	case "":
	case TLSNone, TLSStartTLS, TLSImplicit:
		c.tls = v
	default:
		return c, fmt.Errorf("setting %s: %q is not %s, %s or %s", SettingTLS, v, TLSNone, TLSStartTLS, TLSImplicit)
	}
	switch c.tls {
	case TLSNone:
		c.port = 25
	case TLSStartTLS:
		c.port = 587
	case TLSImplicit:
		c.port = 465
	}
	if v := s[SettingPort]; v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return c, fmt.Errorf("setting %s: %q is not a port number", SettingPort, v)
		}
		c.port = port
	}
	if v := s[SettingTimeoutMs]; v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
			return c, fmt.Errorf("setting %s: %q is not a positive number of milliseconds", SettingTimeoutMs, v)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	if d.GetTimeoutMs() > 0 {
		c.timeout = time.Duration(d.GetTimeoutMs()) * time.Millisecond
	}
	if v := s[SettingAllowPrivateNetworks]; v != "" {
		allow, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("setting %s: %q is not true or false", SettingAllowPrivateNetworks, v)
		}
		c.allowPrivate = allow
	}
	return c, nil
}

var (
	_ sender.Sender        = (*Plugin)(nil)
	_ sender.HealthChecker = (*Plugin)(nil)
)
