package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// TestFailoverThroughARule: a tenant's rule lists fallbacks for a delivery;
// when the primary receiver keeps failing and its retries run out, the
// gateway tries the fallbacks in order, as new deliveries of the same
// message, until one takes it.
func TestFailoverThroughARule(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	primary := newHook(t, func(int, hit) (int, string) { return http.StatusInternalServerError, `{"error":"down"}` })
	second := newHook(t, func(int, hit) (int, string) { return http.StatusServiceUnavailable, "" })
	third := newHook(t, nil)
	for _, hk := range []*hook{primary, second, third} {
		addConfig(t, r, devSecret, hk.URL, "", "")
	}
	rules := callgatev1connect.NewRuleServiceClient(http.DefaultClient, r.base, bearer(devSecret))
	ctx := timeout(t, 60*time.Second)
	if _, err := rules.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{
		Code: "custom", Wasm: buildGoRule(t, "custom", "failover"),
	})); err != nil {
		t.Fatal(err)
	}

	ans := accepted(t, r, devSecret, "demo", "custom", "fail me over", map[string]string{"failover": "yes"})
	if len(ans.Result.DeliveryIDs) != 1 {
		t.Fatalf("deliveries %v, want the primary only", ans.Result.DeliveryIDs)
	}
	deliveries := callgatev1connect.NewDeliveryServiceClient(http.DefaultClient, r.base, bearer(devSecret))
	got := arrived(t, third, "fail me over")
	if got.Header.Get("X-Custom-Rule") != "failover" {
		t.Errorf("the fallback lost the rule's headers: %v", got.Header)
	}
	// Each failing receiver had its try and its one retry; nothing more.
	if n := len(primary.got()); n != 2 {
		t.Errorf("primary got %d requests, want 2 (a try and a retry)", n)
	}
	if n := len(second.got()); n != 2 {
		t.Errorf("second got %d requests, want 2", n)
	}

	// The receiver has it; the gateway records that just after.
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := deliveries.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{
			MessageId: ans.Result.MessageID,
		}))
		if err != nil {
			t.Fatal(err)
		}
		status := map[string]int{}
		for _, d := range list.Msg.GetDeliveries() {
			status[d.GetStatus()]++
		}
		if status["dead"] == 2 && status["succeeded"] == 1 && len(list.Msg.GetDeliveries()) == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries of the message by status %v, want 2 dead and 1 succeeded", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
