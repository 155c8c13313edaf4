package httpplugin

import (
	"net"
	"net/http"
	"time"

	"code.dny.dev/ssrf"
)

// dialPolicy is what distinguishes one connection pool from another.
// Pools are never shared across policies: a connection opened for a
// channel allowed into private networks must not serve one that is not.
type dialPolicy struct {
	allowPrivate   bool
	connectTimeout time.Duration
}

// guardian refuses special-purpose addresses on any port. Webhook
// receivers listen on all sorts of ports, so ports are not restricted.
var guardian = ssrf.New(ssrf.WithAnyPort())

// transport returns the pool for a policy, making it on first use. Pools
// live as long as the plugin so connections to busy receivers are reused.
func (p *Plugin) transport(pol dialPolicy) *http.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.transports[pol]; ok {
		return t
	}
	dialer := &net.Dialer{Timeout: pol.connectTimeout, KeepAlive: 30 * time.Second}
	if !pol.allowPrivate {
		// Control runs once per address tried, after DNS and before the
		// connect, so it sees exactly where the connection would go.
		dialer.Control = guardian.Safe
	}
	t := &http.Transport{
		// No proxy from the environment: a proxy would make the dial go
		// to the proxy, not the receiver, and so bypass the guard.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   pol.connectTimeout,
		ExpectContinueTimeout: time.Second,
	}
	p.transports[pol] = t
	return t
}

// client returns an HTTP client over the policy's pool. Redirects are not
// followed: a webhook receiver answering 3xx has not taken the delivery,
// and following it could lead anywhere.
func (p *Plugin) client(pol dialPolicy) *http.Client {
	return &http.Client{
		Transport: p.transport(pol),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
