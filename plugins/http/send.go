package httpplugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"golang.org/x/net/http/httpguts"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/webhook"
)

// UserAgent is sent with every request unless the channel sets its own.
const UserAgent = "callgate/1"

// drainLimit is how much of an answer past the kept part is read and
// thrown away so its connection can be reused; a longer answer costs the
// connection instead.
const drainLimit = 64 << 10

// keptHeaders are the answer's headers copied into the Outcome.
var keptHeaders = []string{"Content-Type", "Location", "Retry-After", "X-Request-Id"}

// Send makes one delivery attempt. Everything the receiver or the network
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
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := newRequest(ctx, d)
	if err != nil {
		return permanent(err.Error())
	}
	client := p.client(cfg.policy)
	if o := d.GetOauth2(); o != nil {
		// The token endpoint is dialled under the same address guard.
		access, err := p.tokens.get(ctx, client, o)
		var refused errTokenRefused
		if errors.As(err, &refused) {
			return permanent(err.Error())
		}
		if err != nil {
			return retryable(err.Error())
		}
		req.Header.Set("Authorization", "Bearer "+access)
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportFailure(err, cfg.timeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && d.GetOauth2() != nil {
		p.tokens.drop(d.GetOauth2()) // revoked or rotated: fetch a new one next time
	}
	// A failed read of the answer does not change what the status said:
	// the receiver has already decided.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, cfg.maxResponse))
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	return outcome(resp, body, time.Now())
}

// newRequest builds the HTTP request for a delivery: URL and query,
// body (encrypted when a key is set), headers and signatures.
func newRequest(ctx context.Context, d *pluginv1.Delivery) (*http.Request, error) {
	u, err := url.Parse(d.GetDestination())
	if err != nil {
		return nil, fmt.Errorf("destination is not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("destination %q: scheme must be http or https", d.GetDestination())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("destination %q has no host", d.GetDestination())
	}
	extra, err := protocolSignature(d)
	if err != nil {
		return nil, err
	}
	if len(d.GetQuery()) > 0 || len(extra) > 0 {
		q := make(url.Values, len(d.GetQuery())+len(extra))
		for k, v := range d.GetQuery() {
			q.Set(k, v)
		}
		for k, v := range extra {
			q.Set(k, v)
		}
		// Appended rather than merged so the destination's own query is
		// sent exactly as configured.
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += q.Encode()
	}

	body := d.GetBody()
	if len(d.GetCallbackKey()) > 0 {
		if body, err = webhook.Encrypt(d.GetCallbackKey(), body); err != nil {
			return nil, fmt.Errorf("encrypt body: %w", err)
		}
	}
	method := d.GetMethod()
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if err := setHeaders(req, d, body); err != nil {
		return nil, err
	}
	return req, nil
}

// setHeaders sets the channel's headers and then callgate's own, so a
// channel can replace Content-Type or User-Agent but never the
// identifiers and signatures a receiver checks.
func setHeaders(req *http.Request, d *pluginv1.Delivery, body []byte) error {
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range d.GetHeaders() {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return fmt.Errorf("header %q: invalid name or value", k)
		}
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	ts := d.GetTimestamp()
	if ts == 0 {
		ts = time.Now().Unix()
	}
	req.Header.Set(webhook.HeaderID, d.GetId())
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	if token := d.GetCallbackToken(); token != "" {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(token, d.GetId(), ts, body))
		req.Header.Set(webhook.HeaderContentSignature, webhook.ContentSignature(token, body))
	}
	return nil
}

// outcome reads the receiver's answer.
func outcome(resp *http.Response, body []byte, now time.Time) *pluginv1.Outcome {
	out := &pluginv1.Outcome{
		StatusCode:   int32(resp.StatusCode),
		ResponseBody: body,
	}
	for _, h := range keptHeaders {
		if v := resp.Header.Get(h); v != "" {
			if out.ResponseHeaders == nil {
				out.ResponseHeaders = make(map[string]string, len(keptHeaders))
			}
			out.ResponseHeaders[h] = v
		}
	}
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		out.Kind = pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
	case code == http.StatusGone:
		out.Kind = pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT
		out.DisableEndpoint = true
		out.Error = "receiver answered 410 Gone: the endpoint no longer exists"
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		out.Kind = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
		out.RetryAfterMs = retryAfterMs(resp.Header.Get("Retry-After"), now)
		out.Error = "receiver answered " + resp.Status
	default:
		// Any other answer, 4xx included, is retried on the gateway's
		// schedule: receivers often fail with 4xx while being deployed.
		out.Kind = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
		out.Error = "receiver answered " + resp.Status
		if code >= 300 && code < 400 {
			out.Error += fmt.Sprintf(" (redirect to %q not followed)", resp.Header.Get("Location"))
		}
	}
	return out
}

// retryAfterMs reads a Retry-After value, in seconds or as an HTTP date;
// 0 when it is absent or unreadable.
func retryAfterMs(v string, now time.Time) int64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Clamped so a silly value cannot overflow the milliseconds.
		const maxSecs = math.MaxInt64 / 1000
		return min(max(secs, 0), maxSecs) * 1000
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0).Milliseconds()
	}
	return 0
}

// transportFailure turns a failed request into an Outcome. Only the
// address guard is permanent: the network may come back, a receiver may
// start answering, but an internal address stays internal.
func transportFailure(err error, timeout time.Duration) *pluginv1.Outcome {
	// The URL is left out of the message: its query may carry a
	// receiver's credentials, and the caller knows where it sent.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ssrf.ErrProhibitedIP), errors.Is(err, ssrf.ErrProhibitedNetwork), errors.Is(err, ssrf.ErrProhibitedPort):
		return permanent(fmt.Sprintf("destination refused: it resolves to a loopback, private or otherwise internal address (set %s=true to allow): %v", SettingAllowPrivateNetworks, err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return retryable(fmt.Sprintf("timed out (limit %s): %v", timeout, err))
	default:
		return retryable(err.Error())
	}
}

func permanent(msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, Error: msg}
}

func retryable(msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, Error: msg}
}
