package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/store"
)

// lineReader stands in for the gateway's plugins: the channel "vendor"
// (a channel row of t1 and of t2) is sent by the plugin "vendorplug",
// which reads reports of lines "<delivery id> <status> [detail]"; "http"
// parses nothing, "down" is down and "ghost" names a plugin that is not
// running. The real plugins behind this interface are tested in
// core/gateway.
type lineReader struct {
	mu      sync.Mutex
	headers []map[string]string
}

func (lr *lineReader) ChannelPlugin(_ context.Context, _, channelID string) (string, error) {
	switch channelID {
	case "vendor":
		return "vendorplug", nil
	case "http", "down", "ghost":
		return channelID, nil
	}
	return "", fmt.Errorf("%w: %q", ingest.ErrUnknownChannel, channelID)
}

func (lr *lineReader) ParseReceipt(_ context.Context, plugin string, rep ingest.Report) ([]ingest.ParsedReceipt, error) {
	switch plugin {
	case "http":
		return nil, fmt.Errorf("%w: plugin http", ingest.ErrNoReceiptParser)
	case "down":
		return nil, fmt.Errorf("%w: plugin down: connection refused", ingest.ErrPluginUnavailable)
	case "ghost":
		return nil, fmt.Errorf("%w: no plugin ghost", ingest.ErrUnknownChannel)
	}
	lr.mu.Lock()
	lr.headers = append(lr.headers, rep.Headers)
	lr.mu.Unlock()
	var out []ingest.ParsedReceipt
	for i, line := range strings.Split(strings.TrimSpace(string(rep.Body)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) < 2 {
			return nil, &ingest.ReportRefusedError{Reason: fmt.Sprintf("line %d is not <id> <status>", i+1)}
		}
		pr := ingest.ParsedReceipt{DeliveryID: f[0], Status: f[1]}
		if len(f) == 3 {
			pr.Detail = f[2]
		}
		out = append(out, pr)
	}
	return out, nil
}

func (lr *lineReader) lastHeaders() map[string]string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.headers[len(lr.headers)-1]
}

var _ ingest.ReceiptReader = (*lineReader)(nil)

// reportAnswer is the feedback path's answer to a vendor's report.
type reportAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  struct {
		ReceiptID  *string  `json:"receiptId"`
		ReceiptIDs []string `json:"receiptIds"`
		Unmatched  *int     `json:"unmatched"`
	} `json:"result"`
}

// TestFeedbackVendorReport covers reports posted in a vendor's format:
// the channel's plugin reads them and only the tenant's own deliveries
// get their receipts.
func TestFeedbackVendorReport(t *testing.T) {
	e := newEnv(t)
	lr := &lineReader{}
	opts := testOptions
	opts.Receipts = lr
	e.svc = ingest.New(e.store, httpRule{next: e.router}, e.notifier, discard, opts)
	base := e.serveREST(t)
	ctx := t.Context()
	for _, tenant := range []string{"t1", "t2"} {
		if _, err := e.store.PutChannel(ctx, store.Channel{TenantID: tenant, ID: "vendor", Plugin: "vendorplug"}); err != nil {
			t.Fatal(err)
		}
	}
	_, ds, _, err := e.store.InsertMessage(ctx, store.Message{ID: store.NewID("msg"), TenantID: "t1", Rule: "custom", Content: "x"},
		[]store.Delivery{{Channel: "vendor", Destination: "a"}, {Channel: "vendor", Destination: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	one, two := ds[0].ID, ds[1].ID
	sub := post(t, base+"/t1/message/v1/callbacks", secretOne, `{"content":"x"}`, nil)
	if sub.status != 200 {
		t.Fatalf("submit: %d %s", sub.status, sub.body)
	}
	webhook := sub.env.Result.DeliveryIDs[0]
	text := map[string]string{"Content-Type": "text/plain", "X-Vendor-Signature": "sig"}

	tests := []struct {
		name          string
		channel       string // default vendor
		secret        string // default secretOne; "-" for none
		header        map[string]string
		body          string
		wantStatus    int
		wantCode      string
		wantMessage   string // part of it
		wantRecorded  int
		wantUnmatched int
	}{
		{name: "one_receipt", header: text, body: one + " delivered handset", wantStatus: 200, wantCode: apierr.OK, wantRecorded: 1},
		{name: "json_content_type_vendor_body", body: one + " accepted", wantStatus: 200, wantCode: apierr.OK, wantRecorded: 1},
		{name: "some_unmatched", header: text, body: one + " failed\n" + two + " delivered\ndlv_nope delivered",
			wantStatus: 200, wantCode: apierr.OK, wantRecorded: 2, wantUnmatched: 1},
		{name: "long_detail_clipped", header: text, body: two + " failed " + strings.Repeat("d", 70<<10),
			wantStatus: 200, wantCode: apierr.OK, wantRecorded: 1},
		{name: "no_receipt_in_report", header: text, body: "# nothing today", wantStatus: 200, wantCode: apierr.OK},
		{name: "another_tenants_deliveries", secret: secretTwo, header: text, body: one + " failed\n" + two + " failed",
			wantStatus: 404, wantCode: apierr.DeliveryNotFound, wantMessage: "none of the 2 receipts"},
		{name: "refused_by_plugin", header: text, body: "garbage", wantStatus: 400, wantCode: apierr.ReceiptFormat,
			wantMessage: `plugin "vendorplug" could not read the report: line 1 is not <id> <status>`},
		{name: "plugin_parses_nothing", channel: "http", header: text, body: webhook + " delivered",
			wantStatus: 400, wantCode: apierr.ReceiptFormat, wantMessage: "reads no vendor reports"},
		{name: "broken_own_shape_goes_to_plugin", channel: "http", body: `{"deliveryId":`,
			wantStatus: 400, wantCode: apierr.ReceiptFormat},
		{name: "unknown_channel", channel: "nope", header: text, body: one + " delivered",
			wantStatus: 404, wantCode: apierr.ChannelNotFound},
		{name: "plugin_not_running", channel: "ghost", header: text, body: one + " delivered",
			wantStatus: 404, wantCode: apierr.ChannelNotFound, wantMessage: "does not run"},
		{name: "plugin_down", channel: "down", header: text, body: one + " delivered",
			wantStatus: 503, wantCode: apierr.ServiceUnavailable},
		{name: "missing_credentials", secret: "-", header: text, body: one + " delivered", wantStatus: 401, wantCode: apierr.Unauthorized},
		{name: "empty_body", header: text, body: " \n", wantStatus: 400, wantCode: apierr.ParamError},
		{name: "body_too_large", header: text, body: one + " failed " + strings.Repeat("d", ingest.MaxFeedbackBytes),
			wantStatus: 413, wantCode: apierr.BodyTooLarge},
		{name: "too_many_receipts", header: text, body: strings.Repeat(one+" delivered\n", 1001),
			wantStatus: 413, wantCode: apierr.BodyTooLarge, wantMessage: "1001 receipts"},
		// callgate's own shape keeps its answers with a reader in place.
		{name: "own_shape", channel: "http", body: `{"deliveryId":"` + webhook + `","status":"delivered"}`,
			wantStatus: 200, wantCode: apierr.OK},
		{name: "own_shape_wrong_content_type", channel: "http", header: map[string]string{"Content-Type": "text/xml"},
			body: `{"deliveryId":"` + webhook + `","status":"delivered"}`, wantStatus: 415, wantCode: apierr.UnsupportedContentType},
		{name: "own_shape_missing_status", channel: "http", body: `{"deliveryId":"` + webhook + `"}`,
			wantStatus: 400, wantCode: apierr.ParamError},
		{name: "own_shape_on_vendor_channel", body: `{"deliveryId":"` + one + `","status":"delivered"}`,
			wantStatus: 200, wantCode: apierr.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			channel, secret := tt.channel, tt.secret
			if channel == "" {
				channel = "vendor"
			}
			switch secret {
			case "":
				secret = secretOne
			case "-":
				secret = ""
			}
			r := post(t, base+"/message/v1/feedback/"+channel, secret, tt.body, tt.header)
			if r.status != tt.wantStatus || r.env.Code != tt.wantCode || !strings.Contains(r.env.Message, tt.wantMessage) {
				t.Fatalf("answer %d %q %q, want %d %q with %q", r.status, r.env.Code, r.env.Message, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			checkRequestID(t, r)
			var ans reportAnswer
			if err := json.Unmarshal(r.body, &ans); err != nil {
				t.Fatal(err)
			}
			isReport := tt.wantStatus == 200 && !strings.HasPrefix(tt.name, "own_shape")
			switch {
			case !isReport && ans.Result.ReceiptIDs != nil:
				t.Errorf("answer carries receiptIds: %s", r.body)
			case !isReport:
			case len(ans.Result.ReceiptIDs) != tt.wantRecorded || ans.Result.Unmatched == nil || *ans.Result.Unmatched != tt.wantUnmatched:
				t.Errorf("answer %s, want %d receipts and %d unmatched", r.body, tt.wantRecorded, tt.wantUnmatched)
			case tt.wantRecorded == 1 && (ans.Result.ReceiptID == nil || *ans.Result.ReceiptID != ans.Result.ReceiptIDs[0]):
				t.Errorf("one receipt recorded without receiptId: %s", r.body)
			case tt.wantRecorded != 1 && ans.Result.ReceiptID != nil:
				t.Errorf("receiptId with %d receipts: %s", tt.wantRecorded, r.body)
			}
		})
	}

	// The receipts, in order, are those of the cases that recorded some:
	// the other tenant's report and the refused ones left nothing.
	wantStatuses := map[string][]string{one: {"delivered", "accepted", "failed", "delivered"}, two: {"delivered", "failed"}}
	for id, want := range wantStatuses {
		rs, err := e.store.ListReceipts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Status)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("receipts of %s: %v, want %v", id, got, want)
		}
		if rs[0].ChannelID != "vendor" {
			t.Errorf("receipt %+v is not on channel vendor", rs[0])
		}
	}
	if rs, _ := e.store.ListReceipts(ctx, one); len(rs) > 0 && rs[0].Detail != "handset" {
		t.Errorf("first receipt of %s = %+v, want detail handset", one, rs[0])
	}
	if rs, _ := e.store.ListReceipts(ctx, two); len(rs) == 2 && len(rs[1].Detail) != 64<<10 {
		t.Errorf("a 70 KiB detail was kept as %d bytes, want 64 KiB", len(rs[1].Detail))
	}

	// The plugin saw the vendor's headers but never the tenant's secret.
	lr.mu.Lock()
	first := lr.headers[0]
	lr.mu.Unlock()
	if first["Content-Type"] != "text/plain" || first["X-Vendor-Signature"] != "sig" {
		t.Errorf("plugin got headers %v", first)
	}
	for _, h := range lr.headers {
		if _, ok := h["Authorization"]; ok {
			t.Fatalf("plugin got the Authorization header: %v", h)
		}
	}
}

// TestFeedbackVendorHeaders: the plugin gets every header but the
// caller's credentials and callgate's own, several values joined.
func TestFeedbackVendorHeaders(t *testing.T) {
	e := newEnv(t)
	lr := &lineReader{}
	opts := testOptions
	opts.Receipts = lr
	e.svc = ingest.New(e.store, httpRule{next: e.router}, e.notifier, discard, opts)
	base := e.serveREST(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/message/v1/feedback/vendor", strings.NewReader("# none"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secretOne)
	req.Header.Set("Cookie", "session=1")
	req.Header.Set("X-Callgate-Trace", "1") // the gateway's own, like X-Callgate-Proxy-Organization
	req.Header.Add("X-Vendor-Batch", "1")
	req.Header.Add("X-Vendor-Batch", "2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h := lr.lastHeaders()
	for _, k := range []string{"Authorization", "Cookie", "X-Callgate-Trace"} {
		if _, ok := h[k]; ok {
			t.Errorf("plugin got %s: %v", k, h)
		}
	}
	if h["X-Vendor-Batch"] != "1, 2" {
		t.Errorf("X-Vendor-Batch = %q, want both values", h["X-Vendor-Batch"])
	}
}

// TestSubmitReportWithoutReader: a service without a reader refuses
// vendor reports with the stable code, whatever the transport.
func TestSubmitReportWithoutReader(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.SubmitReport(t.Context(), auth.Principal{TenantID: "t1", AppKey: "k1"},
		ingest.Report{ChannelID: "sms", Body: []byte("x")})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.ReceiptFormat || ae.Status != http.StatusBadRequest {
		t.Fatalf("SubmitReport = %v, want %s", err, apierr.ReceiptFormat)
	}
}
