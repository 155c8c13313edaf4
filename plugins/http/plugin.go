// Package httpplugin is callgate's built-in HTTP sender: it POSTs (or
// whatever the channel says) a delivery's body to a webhook URL, signed
// and optionally encrypted as described in package webhook.
//
// It is written only against sdk/sender and sdk/webhook, as a third-party
// plugin would be, and runs in its own process like one.
//
// By default it refuses to connect to loopback, private, link-local,
// shared (CGNAT), multicast and other special-purpose addresses, which
// covers cloud metadata endpoints. The check runs on the address actually
// dialled, after DNS, so a public name that resolves to an internal
// address is refused too. A channel may lift it with the setting
// allow_private_networks=true.
package httpplugin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// Version is the plugin's version as Describe reports it.
const Version = "1.0.0"

// Defaults for the settings a channel may leave out.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	// MaxResponseBytesLimit caps max_response_bytes: the kept answer
	// travels back to the gateway in one gRPC message, whose default
	// limit is 4 MiB.
	MaxResponseBytesLimit = 1 << 20
	// BatchConcurrency is how many deliveries of one batch are in flight
	// at once.
	BatchConcurrency = 8
)

// Setting names a channel may set.
const (
	SettingAllowPrivateNetworks = "allow_private_networks"
	SettingTimeoutMs            = "timeout_ms"
	SettingConnectTimeoutMs     = "connect_timeout_ms"
	SettingMaxResponseBytes     = "max_response_bytes"
)

// Plugin is the HTTP sender. Create it with [New]; it is safe for
// concurrent use and keeps its connection pools for its whole life.
type Plugin struct {
	mu         sync.Mutex
	transports map[dialPolicy]*http.Transport
	tokens     tokens
}

// New returns a ready HTTP sender.
func New() *Plugin {
	return &Plugin{transports: make(map[dialPolicy]*http.Transport)}
}

// Describe says what the plugin is and which settings it takes.
func (p *Plugin) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{
		Name:         "http",
		Version:      Version,
		ChannelKinds: []string{"http"},
		Settings: []*pluginv1.SettingSpec{
			{Name: SettingAllowPrivateNetworks, Description: `"true" lets the channel reach loopback, private and link-local addresses; off by default, as a guard against requests into the gateway's own network.`},
			{Name: SettingTimeoutMs, Description: "Total time for one attempt, connecting and reading the answer included, in milliseconds (default 10000). A timeout the gateway sets on the delivery takes precedence."},
			{Name: SettingConnectTimeoutMs, Description: "Time to establish the connection, in milliseconds (default 5000)."},
			{Name: SettingMaxResponseBytes, Description: fmt.Sprintf("How much of the receiver's answer is kept, in bytes (default %d, at most %d).", DefaultMaxResponseBytes, MaxResponseBytesLimit)},
		},
	}, nil
}

// Health reports the plugin healthy: it depends on nothing but the
// network, and a receiver being down is a property of that receiver.
func (p *Plugin) Health(context.Context) error { return nil }

// config is a channel's settings, parsed.
type config struct {
	policy      dialPolicy
	timeout     time.Duration
	maxResponse int64
}

// parseConfig reads a delivery's settings. A value that does not parse is
// an error rather than a silent default, so that a typo in a channel's
// settings shows up at its first delivery.
func parseConfig(d *pluginv1.Delivery) (config, error) {
	s := d.GetSettings()
	c := config{
		policy:      dialPolicy{connectTimeout: DefaultConnectTimeout},
		timeout:     DefaultTimeout,
		maxResponse: DefaultMaxResponseBytes,
	}
	if v := s[SettingAllowPrivateNetworks]; v != "" {
		allow, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("setting %s: %q is not true or false", SettingAllowPrivateNetworks, v)
		}
		c.policy.allowPrivate = allow
	}
	if err := positiveMs(s, SettingConnectTimeoutMs, &c.policy.connectTimeout); err != nil {
		return c, err
	}
	if err := positiveMs(s, SettingTimeoutMs, &c.timeout); err != nil {
		return c, err
	}
	if d.GetTimeoutMs() > 0 {
		c.timeout = time.Duration(d.GetTimeoutMs()) * time.Millisecond
	}
	if v := s[SettingMaxResponseBytes]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > MaxResponseBytesLimit {
			return c, fmt.Errorf("setting %s: %q is not a size between 0 and %d", SettingMaxResponseBytes, v, MaxResponseBytesLimit)
		}
		c.maxResponse = n
	}
	return c, nil
}

// positiveMs parses a millisecond setting into dst when it is set.
func positiveMs(s map[string]string, name string, dst *time.Duration) error {
	v := s[name]
	if v == "" {
		return nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return fmt.Errorf("setting %s: %q is not a positive number of milliseconds", name, v)
	}
	*dst = time.Duration(ms) * time.Millisecond
	return nil
}

var (
	_ sender.Sender        = (*Plugin)(nil)
	_ sender.HealthChecker = (*Plugin)(nil)
	_ sender.BatchSender   = (*Plugin)(nil)
)
