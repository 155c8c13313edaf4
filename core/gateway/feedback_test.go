package gateway_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/gateway"
	"github.com/callgate/callgate/core/srcwatch"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// buildEchoPlugin builds the example vendor plugin (sdk/sender/example)
// with go build, as a vendor would, into a plugin folder under dir, and
// returns it as the gateway's configuration lists it, pinned.
func buildEchoPlugin(t *testing.T, dir string) gateway.PluginConfig {
	t.Helper()
	src := filepath.Join("..", "..", "sdk", "sender")
	srcwatch.Consult(t, src)
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "plugins", "callgate-echo")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(src, "example")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build sdk/sender/example: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return gateway.PluginConfig{Name: "echo", Path: bin, SHA256: hex.EncodeToString(sum[:])}
}

// feedbackAnswer is the feedback path's envelope.
type feedbackAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  struct {
		ReceiptID  string   `json:"receiptId"`
		ReceiptIDs []string `json:"receiptIds"`
		Unmatched  int      `json:"unmatched"`
	} `json:"result"`
}

func postFeedback(t *testing.T, r *running, secret, channel, body string) (int, feedbackAnswer) {
	t.Helper()
	status, raw := post(t, http.DefaultClient, r.base+"/message/v1/feedback/"+channel, secret, body)
	var ans feedbackAnswer
	if err := json.Unmarshal([]byte(raw), &ans); err != nil {
		t.Fatalf("feedback answered %d with non-JSON %q", status, raw)
	}
	return status, ans
}

// TestVendorReceiptEndToEnd: a delivery goes out through a vendor's
// plugin (the example, built and run as its own process), the vendor
// answers with its message id, and its report posted to the feedback path
// in its own format is read by that plugin and shows on the delivery.
// Another tenant posting the same report touches nothing; a channel whose
// plugin reads no reports refuses it with a stable code; callgate's own
// receipt shape keeps working beside it.
func TestVendorReceiptEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "data"))
	cfg.Plugins = []gateway.PluginConfig{buildEchoPlugin(t, dir)}
	r := start(t, cfg)
	ctx := timeout(t, 60*time.Second)

	// The vendor takes the message and names it in its answer.
	vendor := newHook(t, func(int, hit) (int, string) { return http.StatusOK, `{"msgid":"vnd-42"}` })
	addConfig(t, r, devSecret, vendor.URL, "", "")
	// demo's channel "http" is sent by the echo plugin: the built-in http
	// rule's deliveries go out through it.
	channels := callgatev1connect.NewChannelServiceClient(http.DefaultClient, r.base, bearer(devSecret))
	if _, err := channels.PutChannel(ctx, connect.NewRequest(&callgatev1.PutChannelRequest{Channel: &callgatev1.Channel{
		Id: "http", Plugin: "echo",
	}})); err != nil {
		t.Fatal(err)
	}
	globex := newTenant(t, r, "globex")

	ans := accepted(t, r, devSecret, "demo", "http", `{"order":42}`, nil)
	dlv := ans.Result.DeliveryIDs[0]
	waitDelivery(t, r, devSecret, dlv, 30*time.Second, "the delivery to succeed", func(m *callgatev1.GetDeliveryResponse) bool {
		return m.GetDelivery().GetStatus() == "succeeded"
	})
	if got := vendor.got(); len(got) != 1 || !strings.Contains(string(got[0].Body), `"bodySha256"`) {
		t.Fatalf("the vendor got %d requests, want the echo plugin's summary once", len(got))
	}

	report := `{"messages":[{"msgid":"vnd-42","state":"DELIVERED"}]}`
	tests := []struct {
		name         string
		secret       string
		channel      string
		body         string
		wantStatus   int
		wantCode     string
		wantMessage  string
		wantReceipts int
	}{
		// globex's "echo" is the default channel of the echo plugin, so
		// the plugin reads its report; demo's delivery is out of reach.
		{name: "other_tenant_same_vendor_id", secret: globex, channel: "echo", body: report,
			wantStatus: 404, wantCode: "ResourceNotFound.Delivery"},
		{name: "other_tenant_by_delivery_id", secret: globex, channel: "echo",
			body:       `{"messages":[{"ref":"` + dlv + `","state":"FAILED","error":"forged"}]}`,
			wantStatus: 404, wantCode: "ResourceNotFound.Delivery"},
		// globex's "http" is the built-in http plugin, which reads no
		// vendor reports.
		{name: "plugin_without_parser", secret: globex, channel: "http", body: report,
			wantStatus: 400, wantCode: "InvalidParameter.ReceiptFormat", wantMessage: "reads no vendor reports"},
		{name: "unknown_channel", secret: devSecret, channel: "pigeon", body: report,
			wantStatus: 404, wantCode: "ResourceNotFound.Channel"},
		{name: "not_the_vendors_format", secret: devSecret, channel: "http", body: `{"state":"DELIVERED"}`,
			wantStatus: 400, wantCode: "InvalidParameter.ReceiptFormat", wantMessage: `no "messages" list`},
		{name: "vendor_report", secret: devSecret, channel: "http", body: report,
			wantStatus: 200, wantCode: "OK", wantReceipts: 1},
		{name: "callgate_shape", secret: devSecret, channel: "http",
			body:       `{"deliveryId":"` + dlv + `","status":"read","detail":"opened by the customer"}`,
			wantStatus: 200, wantCode: "OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ans := postFeedback(t, r, tt.secret, tt.channel, tt.body)
			if status != tt.wantStatus || ans.Code != tt.wantCode || !strings.Contains(ans.Message, tt.wantMessage) {
				t.Fatalf("answer %d %s %q, want %d %s with %q", status, ans.Code, ans.Message, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			if status == 200 && !strings.HasPrefix(ans.Result.ReceiptID, "rcp_") {
				t.Errorf("answer without receiptId: %+v", ans)
			}
			if len(ans.Result.ReceiptIDs) != tt.wantReceipts {
				t.Errorf("receiptIds %v, want %d", ans.Result.ReceiptIDs, tt.wantReceipts)
			}
		})
	}

	// The same report over Connect: the vendor's body as bytes, its
	// headers beside it; another tenant's reaches nothing there either.
	feedback := func(secret string) callgatev1connect.FeedbackServiceClient {
		return callgatev1connect.NewFeedbackServiceClient(http.DefaultClient, r.base, bearer(secret))
	}
	msg := &callgatev1.SubmitFeedbackRequest{ChannelId: "http",
		Report:        []byte(`{"messages":[{"msgid":"vnd-42","state":"FAILED","error":"bounced"}]}`),
		ReportHeaders: map[string]string{"Content-Type": "application/json", "Authorization": "not passed on"}}
	if _, err := feedback(globex).SubmitFeedback(ctx, connect.NewRequest(&callgatev1.SubmitFeedbackRequest{
		ChannelId: "echo", Report: msg.Report})); stableCode(err) != "ResourceNotFound.Delivery" {
		t.Errorf("another tenant's report over Connect: %v", err)
	}
	res, err := feedback(devSecret).SubmitFeedback(ctx, connect.NewRequest(msg))
	if err != nil || len(res.Msg.GetReceiptIds()) != 1 || res.Msg.GetReceiptId() != res.Msg.GetReceiptIds()[0] {
		t.Fatalf("report over Connect: %v %v", res, err)
	}

	// The delivery holds the vendor's receipts and callgate's, nothing of
	// globex's.
	got := waitDelivery(t, r, devSecret, dlv, 10*time.Second, "the receipts", func(*callgatev1.GetDeliveryResponse) bool { return true })
	var receipts []string
	for _, rc := range got.GetReceipts() {
		receipts = append(receipts, rc.GetChannelId()+"/"+rc.GetStatus()+"/"+rc.GetDetail())
	}
	if want := "http/delivered/,http/read/opened by the customer,http/failed/bounced"; strings.Join(receipts, ",") != want {
		t.Fatalf("receipts %v, want %s", receipts, want)
	}
}
