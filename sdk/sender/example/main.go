// Command callgate-echo is a minimal third-party sender plugin, the
// kind a vendor writes against sdk/sender: its "echo" channel POSTs a
// JSON summary of each delivery to the delivery's destination URL.
//
// It shows the whole contract: Describe names the plugin, its channel
// kind and its settings; Send reports what the receiver did as an
// Outcome (never as an error), with the id the receiver gave the message;
// ParseReceipt reads the receiver's delivery reports posted to the
// gateway's feedback path (see receipts.go for the format); logs go to
// stderr through sender.NewLogger; and main is one call to sender.Serve.
// See README.md for building it and adding it to a gateway.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"code.dny.dev/ssrf"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// summary is what the echo channel POSTs.
type summary struct {
	DeliveryID  string   `json:"deliveryId"`
	TenantID    string   `json:"tenantId"`
	MessageID   string   `json:"messageId"`
	Attempt     int32    `json:"attempt"`
	Subject     string   `json:"subject,omitempty"`
	BodyBytes   int      `json:"bodyBytes"`
	BodySHA256  string   `json:"bodySha256"`
	Body        string   `json:"body,omitempty"` // when it is UTF-8 text
	Attachments []string `json:"attachments,omitempty"`
}

// echo is the plugin. Its two clients never share connections: one
// refuses internal addresses, the other, for channels that allow them,
// does not.
type echo struct {
	log             *slog.Logger
	guarded, direct *http.Client
}

func newEcho(log *slog.Logger) *echo {
	client := func(guard bool) *http.Client {
		d := &net.Dialer{Timeout: 5 * time.Second}
		if guard {
			// Refuse loopback, private and metadata addresses after DNS,
			// as callgate's own http plugin does: destinations come from
			// the gateway's tenants, not from the operator.
			d.Control = ssrf.New(ssrf.WithAnyPort()).Safe
		}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	return &echo{log: log, guarded: client(true), direct: client(false)}
}

func (e *echo) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{
		Name:         "echo",
		Version:      "0.1.0",
		ChannelKinds: []string{"echo"},
		Settings: []*pluginv1.SettingSpec{
			{Name: "allow_private_networks", Description: `"true" lets the channel reach loopback and private addresses.`},
		},
	}, nil
}

func (e *echo) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	start := time.Now()
	out := e.send(ctx, d)
	out.LatencyMs = time.Since(start).Milliseconds()
	e.log.Info("sent", "delivery_id", d.GetId(), "attempt", d.GetAttempt(), "outcome", out.GetKind().String(), "status", out.GetStatusCode())
	return out, nil
}

func (e *echo) send(ctx context.Context, d *pluginv1.Delivery) *pluginv1.Outcome {
	if d.GetTimeoutMs() > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(d.GetTimeoutMs())*time.Millisecond)
		defer cancel()
	}
	sum := sha256.Sum256(d.GetBody())
	s := summary{
		DeliveryID: d.GetId(), TenantID: d.GetTenantId(), MessageID: d.GetMessageId(), Attempt: d.GetAttempt(),
		Subject: d.GetSubject(), BodyBytes: len(d.GetBody()), BodySHA256: hex.EncodeToString(sum[:]),
	}
	if utf8.Valid(d.GetBody()) {
		s.Body = string(d.GetBody())
	}
	for _, a := range d.GetAttachments() {
		s.Attachments = append(s.Attachments, a.GetFileName())
	}
	payload, err := json.Marshal(s)
	if err != nil {
		return outcome(pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, 0, err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.GetDestination(), bytes.NewReader(payload))
	if err != nil {
		return outcome(pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, 0, fmt.Sprintf("destination: %v", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", d.GetId()) // the same on every attempt

	client := e.guarded
	if allow, _ := strconv.ParseBool(d.GetSettings()["allow_private_networks"]); allow {
		client = e.direct
	}
	resp, err := client.Do(req)
	switch {
	case errors.Is(err, ssrf.ErrProhibitedIP), errors.Is(err, ssrf.ErrProhibitedNetwork):
		return outcome(pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, 0, "destination is an internal address (set allow_private_networks=true to allow)")
	case err != nil:
		return outcome(pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, 0, err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	code := resp.StatusCode
	var out *pluginv1.Outcome
	switch {
	case code >= 200 && code < 300:
		out = outcome(pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, code, "")
		out.VendorMessageId = vendorMessageID(body, resp.Header.Get("X-Request-Id"))
	case code == http.StatusTooManyRequests || code >= 500:
		out = outcome(pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, code, "receiver answered "+resp.Status)
	default:
		out = outcome(pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, code, "receiver answered "+resp.Status)
	}
	out.ResponseBody = body
	return out
}

func outcome(kind pluginv1.OutcomeKind, code int, msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: kind, StatusCode: int32(code), Error: msg}
}

func main() {
	sender.Serve(newEcho(sender.NewLogger(slog.LevelInfo)))
}

var (
	_ sender.Sender        = (*echo)(nil)
	_ sender.ReceiptParser = (*echo)(nil)
)
