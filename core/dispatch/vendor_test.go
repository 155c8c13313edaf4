package dispatch_test

import (
	"testing"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// TestVendorIDIsKept: the vendor's id for what an attempt sent is kept on
// the delivery, so that the vendor's receipts find it later.
func TestVendorIDIsKept(t *testing.T) {
	e := newEnv(t)
	s := &sender{answer: func(call) (*pluginv1.Outcome, error) {
		return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, VendorMessageId: "smsc-42"}, nil
	}}
	r := e.runLoaded(t, s, dispatch.Options{})
	ds := e.insert(t, e.webhook())
	r.Notify(ds)
	e.waitStatus(t, ds[0].ID, store.StatusSucceeded)

	rc, err := e.store.AddVendorReceipt(t.Context(), store.VendorReceipt{Plugin: "http", VendorID: "smsc-42", Status: "delivered"})
	if err != nil || rc.DeliveryID != ds[0].ID {
		t.Fatalf("AddVendorReceipt = %+v, %v; want it on %s", rc, err, ds[0].ID)
	}
}
