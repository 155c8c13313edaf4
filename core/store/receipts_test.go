package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// sent stores a delivery on channel for tenant and completes its first
// attempt with vendorID, as the dispatcher does when the plugin answers.
func sent(t *testing.T, s *store.Store, tenant, channel, vendorID string) string {
	t.Helper()
	_, ds := mustInsert(t, s, tenant, store.Delivery{Channel: channel, Destination: "+15550001111", Body: []byte("hi")})
	id := ds[0].ID
	d := mustClaim(t, s, id, time.Now().Add(time.Hour), time.Hour)
	mustComplete(t, s, store.Completion{
		Attempt: store.Attempt{DeliveryID: id, Number: d.Attempts, Outcome: "delivered", VendorID: vendorID},
		Status:  store.StatusSucceeded,
	})
	sleepPastMillisecond() // the next one is updated later
	return id
}

func TestAddVendorReceipt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	mustTenant(t, s, "globex")
	// globex sends its "sms" channel through a vendor's plugin, not the
	// built-in one; acme has an "alerts" channel on the built-in sms.
	for _, c := range []store.Channel{
		{TenantID: "globex", ID: "sms", Plugin: "acme-sms", Settings: map[string]string{"host": "smsc.example"}},
		{TenantID: "acme", ID: "alerts", Plugin: "sms"},
	} {
		if _, err := s.PutChannel(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	acmeSMS := sent(t, s, "acme", "sms", "v1")
	globexSMS := sent(t, s, "globex", "sms", "v1") // later, same vendor id, other plugin
	alerts := sent(t, s, "acme", "alerts", "v2")
	webhook := sent(t, s, "acme", "http", "v2")
	older := sent(t, s, "acme", "sms", "dup")
	newer := sent(t, s, "acme", "sms", "dup")
	_, unsent := mustInsert(t, s, "acme", store.Delivery{Channel: "sms", Destination: "+15550001111"})

	tests := []struct {
		name         string
		receipt      store.VendorReceipt
		wantDelivery string
		wantChannel  string
		wantErr      error
	}{
		{name: "default_channel_names_its_plugin", receipt: store.VendorReceipt{Plugin: "sms", VendorID: "v1"},
			wantDelivery: acmeSMS, wantChannel: "sms"},
		{name: "tenant_channel_row_wins_over_its_id", receipt: store.VendorReceipt{Plugin: "acme-sms", VendorID: "v1"},
			wantDelivery: globexSMS, wantChannel: "sms"},
		{name: "tenant_channel_on_builtin_plugin", receipt: store.VendorReceipt{Plugin: "sms", VendorID: "v2"},
			wantDelivery: alerts, wantChannel: "alerts"},
		{name: "other_plugins_delivery_with_same_vendor_id", receipt: store.VendorReceipt{Plugin: "http", VendorID: "v2"},
			wantDelivery: webhook, wantChannel: "http"},
		{name: "most_recent_of_equal_vendor_ids", receipt: store.VendorReceipt{Plugin: "sms", VendorID: "dup"},
			wantDelivery: newer, wantChannel: "sms"},
		{name: "unknown_vendor_id", receipt: store.VendorReceipt{Plugin: "sms", VendorID: "nope"}, wantErr: store.ErrNotFound},
		{name: "vendor_id_of_another_plugin_only", receipt: store.VendorReceipt{Plugin: "email", VendorID: "v1"}, wantErr: store.ErrNotFound},
		{name: "delivery_id_before_the_attempt_is_recorded", receipt: store.VendorReceipt{Plugin: "sms", DeliveryID: unsent[0].ID, VendorID: "late"},
			wantDelivery: unsent[0].ID, wantChannel: "sms"},
		{name: "delivery_id_of_another_plugin", receipt: store.VendorReceipt{Plugin: "sms", DeliveryID: globexSMS}, wantErr: store.ErrNotFound},
		{name: "unknown_delivery_id_falls_back_to_vendor_id", receipt: store.VendorReceipt{Plugin: "sms", DeliveryID: "dlv_gone", VendorID: "dup"},
			wantDelivery: newer, wantChannel: "sms"},
		{name: "nothing_to_go_by", receipt: store.VendorReceipt{Plugin: "sms"}, wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.receipt.Status, tt.receipt.Detail = "delivered", tt.name
			r, err := s.AddVendorReceipt(ctx, tt.receipt)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AddVendorReceipt = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.DeliveryID != tt.wantDelivery || r.ChannelID != tt.wantChannel || r.ID == "" {
				t.Fatalf("receipt %+v, want delivery %s on channel %s", r, tt.wantDelivery, tt.wantChannel)
			}
			rs, err := s.ListReceipts(ctx, tt.wantDelivery)
			if err != nil {
				t.Fatal(err)
			}
			if last := rs[len(rs)-1]; last.ID != r.ID || last.Status != "delivered" || last.Detail != tt.name {
				t.Fatalf("last receipt of %s is %+v, want %+v", tt.wantDelivery, last, r)
			}
		})
	}
	if rs, _ := s.ListReceipts(ctx, older); len(rs) != 0 {
		t.Errorf("the older delivery with the same vendor id got %v", rs)
	}

	// A later attempt without a vendor id keeps the one the delivery has.
	if _, err := s.RetryDelivery(ctx, "acme", acmeSMS, time.Now()); err != nil {
		t.Fatal(err)
	}
	d := mustClaim(t, s, acmeSMS, time.Now().Add(time.Hour), time.Hour)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: acmeSMS, Number: d.Attempts, Outcome: "delivered"},
		Status: store.StatusSucceeded})
	if n := count(t, rawDB(t, path), `SELECT COUNT(*) FROM deliveries WHERE id = ? AND vendor_id = 'v1'`, acmeSMS); n != 1 {
		t.Errorf("vendor id lost on a later attempt")
	}
}

// TestAddVendorReceiptTenantFilter: a receipt with a tenant only finds
// that tenant's deliveries, by delivery id or vendor id, however recent
// another tenant's delivery with the same vendor id is; without one it
// searches every tenant, as before.
func TestAddVendorReceiptTenantFilter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	mustTenant(t, s, "globex")
	// Both tenants send "sms" through the plugin acme-sms: acme with a
	// channel row, globex by the default channel of that name.
	if _, err := s.PutChannel(ctx, store.Channel{TenantID: "acme", ID: "sms", Plugin: "acme-sms"}); err != nil {
		t.Fatal(err)
	}
	acme := sent(t, s, "acme", "sms", "v1")
	globex := sent(t, s, "globex", "acme-sms", "v1") // later, same vendor id
	acmeOnly := sent(t, s, "acme", "sms", "v2")

	tests := []struct {
		name         string
		receipt      store.VendorReceipt
		wantDelivery string
		wantErr      error
	}{
		{name: "tenant_finds_its_own_despite_a_newer_one", receipt: store.VendorReceipt{Plugin: "acme-sms", TenantID: "acme", VendorID: "v1"},
			wantDelivery: acme},
		{name: "other_tenant_finds_its_own", receipt: store.VendorReceipt{Plugin: "acme-sms", TenantID: "globex", VendorID: "v1"},
			wantDelivery: globex},
		{name: "no_tenant_finds_the_most_recent", receipt: store.VendorReceipt{Plugin: "acme-sms", VendorID: "v1"},
			wantDelivery: globex},
		{name: "vendor_id_only_another_tenant_has", receipt: store.VendorReceipt{Plugin: "acme-sms", TenantID: "globex", VendorID: "v2"},
			wantErr: store.ErrNotFound},
		{name: "delivery_id_of_another_tenant", receipt: store.VendorReceipt{Plugin: "acme-sms", TenantID: "globex", DeliveryID: acmeOnly},
			wantErr: store.ErrNotFound},
		{name: "delivery_id_of_the_tenant", receipt: store.VendorReceipt{Plugin: "acme-sms", TenantID: "acme", DeliveryID: acmeOnly},
			wantDelivery: acmeOnly},
		{name: "unknown_tenant", receipt: store.VendorReceipt{Plugin: "acme-sms", TenantID: "initech", VendorID: "v1"},
			wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.receipt.Status, tt.receipt.Detail = "delivered", tt.name
			r, err := s.AddVendorReceipt(ctx, tt.receipt)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AddVendorReceipt = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.DeliveryID != tt.wantDelivery {
				t.Fatalf("receipt went to %s, want %s", r.DeliveryID, tt.wantDelivery)
			}
		})
	}
	// Refused receipts left nothing behind: each delivery holds exactly
	// the receipts the cases above placed on it.
	for id, want := range map[string]int{acme: 1, globex: 2, acmeOnly: 1} {
		rs, err := s.ListReceipts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != want {
			t.Errorf("delivery %s has %d receipts, want %d: %+v", id, len(rs), want, rs)
		}
	}
}
