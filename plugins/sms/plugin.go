// Package smsplugin is callgate's SMS sender: an SMPP 3.4 client, on
// linxGnu/gosmpp, that submits a delivery's body as a text message to
// the phone number it names.
//
// # Sessions
//
// Each distinct SMSC account (host, port, systemId, password) gets one
// transceiver session, bound on its first delivery and kept open for the
// plugin's life: enquire_link every [EnquireLinkInterval] keeps it alive
// and shows a dead peer, and a lost or refused session is bound again in
// the background with exponential backoff (from 200 ms up to 30 s).
// While a session is down, deliveries through it fail at once as
// retryable rather than wait.
//
// # Messages
//
// A body made only of characters of the GSM 03.38 alphabet is sent as
// GSM 7-bit (data_coding 0, one septet per octet, as SMSCs expect over
// SMPP); any other text as UCS-2 (data_coding 8), which covers Chinese.
// A text longer than one message (160 septets or 70 UCS-2 units) is
// split into parts of 153 septets or 67 units, each carrying a
// concatenation user data header (8-bit reference), and submitted in
// order; at most [MaxParts] parts. Escape characters (such as €) and
// surrogate pairs (such as emoji) are never split across parts.
// Delivery receipts are requested (registered_delivery 1).
//
// # Outcomes
//
// Accepted: DELIVERED, with the SMSC's message_id as the vendor message
// id (for a split text, that of its first part). A submit_sm_resp
// error is PERMANENT when the SMSC says the message itself is wrong (an
// invalid destination or source, a bad data coding, ...) and RETRYABLE
// for throttling, a full queue, system errors and statuses it does not
// know. No session, a failed bind, a lost connection or no answer in
// time: RETRYABLE. A destination that is not E.164 (a "+" and 2 to 15
// digits) or missing settings: PERMANENT. A part that failed ends the
// attempt, so a retry may send earlier parts again.
//
// # Receipts
//
// Delivery receipts (deliver_sm with a receipt esm_class) are passed to
// the gateway through the plugin's receipt stream ([Plugin.Receipts]),
// which records them on the delivery. Their stat becomes the receipt's
// status (see [ReceiptStatus]): DELIVRD is "delivered"; UNDELIV,
// REJECTD, EXPIRED, DELETED and UNKNOWN are "failed"; ENROUTE and
// ACCEPTD are "accepted", an intermediate state a final receipt follows;
// any other is "unknown". The detail keeps the stat and the network's
// error code ("stat:UNDELIV err:001"). The plugin remembers which
// delivery each of the last [MaxTracked] submitted messages belongs to,
// so a receipt names its delivery, and the receipt of any part of a split
// text is reported under the first part's id, the delivery's vendor
// message id (the detail says which part). A receipt for a message it
// does not remember (sent before the plugin restarted) is reported by
// message id alone, which the gateway looks up among the deliveries of
// channels this plugin sends; message ids of two SMSCs that collide go to
// the most recent such delivery. Receipts come while the gateway may not
// be reading: up to [MaxQueuedReceipts] wait, then the oldest are
// dropped.
//
// # What is missing
//
// Mobile-originated messages are acknowledged and dropped. There is no
// TLS (SMPP over TLS is vendor-specific), no submit window (parts and
// concurrent deliveries each wait for their own response but are not
// limited in number), and sessions are never closed for being idle.
package smsplugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// Version is the plugin's version as Describe reports it.
const Version = "1.0.0"

// Defaults and limits.
const (
	DefaultPort    = 2775
	DefaultTimeout = 10 * time.Second
	// EnquireLinkInterval is how often an idle session is checked.
	EnquireLinkInterval = 30 * time.Second
	// MaxParts bounds how many messages one delivery may be split into.
	MaxParts = 10
)

// Setting names a channel may set.
const (
	SettingHost       = "host"
	SettingPort       = "port"
	SettingSystemID   = "systemId"
	SettingPassword   = "password"
	SettingSourceAddr = "sourceAddr"
	SettingTimeoutMs  = "timeout_ms"
)

// SMPP 3.4 field limits (section 5.2), without the terminating NUL.
const (
	maxSystemID = 15
	maxPassword = 8
)

// ErrClosed is what deliveries fail with after [Plugin.Close].
var ErrClosed = errors.New("sms plugin closed")

// Option configures a Plugin.
type Option func(*Plugin)

// WithLogger sets where the plugin logs session changes and delivery
// receipts; by default it logs nowhere.
func WithLogger(l *slog.Logger) Option {
	return func(p *Plugin) {
		if l != nil {
			p.log = l
		}
	}
}

// Plugin is the SMS sender. Create it with [New] and stop it with
// [Plugin.Close]; it is safe for concurrent use.
type Plugin struct {
	log *slog.Logger

	// Tuned down by tests only.
	enquireLink            time.Duration
	minBackoff, maxBackoff time.Duration

	// tracked maps submitted messages to their deliveries; receipts
	// queues what the SMSCs reported for the gateway to read.
	tracked  *tracker
	receipts chan *pluginv1.ParsedReceipt

	mu       sync.Mutex
	sessions map[sessionKey]*session
	closed   bool
}

// New returns a ready SMS sender. It binds nothing until a delivery
// names an SMSC.
func New(opts ...Option) *Plugin {
	p := &Plugin{
		log:         slog.New(slog.DiscardHandler),
		enquireLink: EnquireLinkInterval,
		minBackoff:  200 * time.Millisecond,
		maxBackoff:  30 * time.Second,
		sessions:    make(map[sessionKey]*session),
		tracked:     newTracker(MaxTracked),
		receipts:    make(chan *pluginv1.ParsedReceipt, MaxQueuedReceipts),
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Describe says what the plugin is and which settings it takes.
func (p *Plugin) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{
		Name:         "sms",
		Version:      Version,
		ChannelKinds: []string{"sms"},
		Settings: []*pluginv1.SettingSpec{
			{Name: SettingHost, Required: true, Description: "Host name or address of the SMSC."},
			{Name: SettingPort, Description: fmt.Sprintf("Its SMPP port (default %d).", DefaultPort)},
			{Name: SettingSystemID, Required: true, Description: fmt.Sprintf("The account's system_id (at most %d characters).", maxSystemID)},
			{Name: SettingPassword, Secret: true, Description: fmt.Sprintf("The account's password (at most %d characters).", maxPassword)},
			{Name: SettingSourceAddr, Description: `The sender: "+" and digits (international), digits (unknown type) or up to 11 letters and digits (alphanumeric). Empty lets the SMSC choose.`},
			{Name: SettingTimeoutMs, Description: "Time to connect and bind, and to wait for each part's answer, in milliseconds (default 10000). A timeout the gateway sets on the delivery takes precedence."},
		},
	}, nil
}

// Health reports an error naming every SMSC session that is down.
func (p *Plugin) Health(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	var down []string
	for _, s := range p.sessions {
		if err := s.downErr(); err != nil {
			down = append(down, fmt.Sprintf("%s: %v", s.key, err))
		}
	}
	if len(down) == 0 {
		return nil
	}
	sort.Strings(down)
	return fmt.Errorf("smsc sessions down: %s", strings.Join(down, "; "))
}

// Close unbinds every session and stops reconnecting. Deliveries after
// Close fail as retryable; closing again does nothing.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	sessions := p.sessions
	p.sessions = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(s.close)
	}
	wg.Wait()
	return nil
}

// session returns the session for cfg's account, starting it if needed.
func (p *Plugin) session(cfg config) (*session, error) {
	key := cfg.key()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if s, ok := p.sessions[key]; ok {
		return s, nil
	}
	s := newSession(key, cfg, p)
	p.sessions[key] = s
	go s.run()
	return s, nil
}

// config is a channel's settings, parsed.
type config struct {
	addr       string
	systemID   string
	password   string
	sourceAddr string
	timeout    time.Duration
}

// sessionKey tells SMSC accounts apart; deliveries with equal keys share
// a session whatever their other settings.
type sessionKey struct {
	addr, systemID, password string
}

// String names the session in logs and errors, without the password.
func (k sessionKey) String() string { return k.systemID + "@" + k.addr }

func (c config) key() sessionKey {
	return sessionKey{addr: c.addr, systemID: c.systemID, password: c.password}
}

var alphanumeric = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)

// parseConfig reads a delivery's settings. A value that does not parse
// is an error rather than a silent default, so that a typo in a channel's
// settings shows up at its first delivery.
func parseConfig(d *pluginv1.Delivery) (config, error) {
	s := d.GetSettings()
	c := config{systemID: s[SettingSystemID], password: s[SettingPassword], sourceAddr: s[SettingSourceAddr], timeout: DefaultTimeout}
	host := s[SettingHost]
	if host == "" {
		return c, fmt.Errorf("setting %s is missing: the channel needs an SMSC", SettingHost)
	}
	port := DefaultPort
	if v := s[SettingPort]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("setting %s: %q is not a port number", SettingPort, v)
		}
		port = n
	}
	c.addr = net.JoinHostPort(host, strconv.Itoa(port))
	switch {
	case c.systemID == "":
		return c, fmt.Errorf("setting %s is missing: the channel needs the SMSC account's system_id", SettingSystemID)
	case len(c.systemID) > maxSystemID:
		return c, fmt.Errorf("setting %s: longer than the %d characters SMPP allows", SettingSystemID, maxSystemID)
	case len(c.password) > maxPassword:
		return c, fmt.Errorf("setting %s: longer than the %d characters SMPP allows", SettingPassword, maxPassword)
	}
	if v := c.sourceAddr; v != "" && !e164.MatchString(v) && !digits.MatchString(v) && !alphanumeric.MatchString(v) {
		return c, fmt.Errorf("setting %s: %q is neither a phone number nor up to 11 letters and digits", SettingSourceAddr, v)
	}
	if v := s[SettingTimeoutMs]; v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(time.Hour/time.Millisecond) {
			return c, fmt.Errorf("setting %s: %q is not a positive number of milliseconds", SettingTimeoutMs, v)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	if d.GetTimeoutMs() > 0 {
		c.timeout = time.Duration(d.GetTimeoutMs()) * time.Millisecond
	}
	return c, nil
}

var (
	_ sender.Sender        = (*Plugin)(nil)
	_ sender.HealthChecker = (*Plugin)(nil)
	_ sender.ReceiptSource = (*Plugin)(nil)
)
