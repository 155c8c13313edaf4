package store_test

import (
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// TestConfigReadsFollowWrites: configs are read from memory between
// writes, and every kind of write to them is seen by the next read: add,
// policy, a receiver gone (through an attempt), enable, delete.
func TestConfigReadsFollowWrites(t *testing.T) {
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	refs := func() []store.ConfigRef {
		t.Helper()
		r, err := s.ConfigRefs(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if len(refs()) != 0 {
		t.Fatal("a new tenant has configs")
	}
	c, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "acme", URL: "https://acme.example/cb", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if r := refs(); len(r) != 1 || r[0].ID != c.ID || !r[0].HasToken || r[0].Disabled {
		t.Fatalf("after add: %+v", r)
	}
	if _, err := s.SetCallbackConfigPolicy(ctx, "acme", c.ID, store.DeliveryPolicy{Rate: &store.RateLimit{PerSecond: 5}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCallbackConfig(ctx, "acme", c.ID)
	if err != nil || got.Policy.Rate == nil || got.Policy.Rate.PerSecond != 5 {
		t.Fatalf("after the policy: %+v %v", got.Policy, err)
	}
	got.Policy.Rate.PerSecond = 99 // a caller's change stays its own
	if again, _ := s.GetCallbackConfig(ctx, "acme", c.ID); again.Policy.Rate.PerSecond != 5 {
		t.Fatalf("a caller changed the kept config: %+v", again.Policy.Rate)
	}

	// The receiver says it is gone: the next callbacks leave it out.
	d := webhook(c.URL)
	d.ConfigID = c.ID
	_, ds := mustInsert(t, s, "acme", d)
	claimed := mustClaim(t, s, ds[0].ID, time.Now(), time.Minute)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: claimed.ID, Number: claimed.Attempts},
		Status: store.StatusDead, Endpoint: store.EndpointGone})
	if r := refs(); len(r) != 1 || !r[0].Disabled {
		t.Fatalf("after 410 Gone: %+v", r)
	}
	if _, err := s.EnableCallbackConfig(ctx, "acme", c.ID); err != nil {
		t.Fatal(err)
	}
	if r := refs(); len(r) != 1 || r[0].Disabled {
		t.Fatalf("after enable: %+v", r)
	}
	if _, err := s.DeleteCallbackConfigByURL(ctx, "acme", c.URL); err != nil {
		t.Fatal(err)
	}
	if r := refs(); len(r) != 0 {
		t.Fatalf("after delete: %+v", r)
	}
	if _, err := s.GetCallbackConfig(ctx, "acme", c.ID); err == nil {
		t.Fatal("a deleted config is still found")
	}
}

// TestConfigCacheNotStaleAfterCommit: whoever sees a write committed
// (here, a delivery's end) reads the config change of the same
// transaction too, never the cache's older copy.
func TestConfigCacheNotStaleAfterCommit(t *testing.T) {
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	c, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "acme", URL: "https://acme.example/cb", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		d := webhook(c.URL)
		d.ConfigID, d.LeaseUntil = c.ID, time.Now().Add(time.Minute)
		_, ds := mustInsert(t, s, "acme", d)
		if got, err := s.GetCallbackConfig(ctx, "acme", c.ID); err != nil || got.Disabled {
			t.Fatalf("round %d: config before: %+v %v", i, got, err)
		}
		seen := make(chan bool)
		go func() {
			for {
				if got, err := s.GetDelivery(ctx, "acme", ds[0].ID); err == nil && got.Status == store.StatusDead {
					cfg, err := s.GetCallbackConfig(ctx, "acme", c.ID)
					seen <- err == nil && cfg.Disabled
					return
				}
			}
		}()
		if err := s.Complete(ctx, store.Completion{
			Attempt: store.Attempt{DeliveryID: ds[0].ID, Number: 1, StartedAt: time.Now(), Outcome: "permanent", StatusCode: 410},
			Status:  store.StatusDead, Endpoint: store.EndpointGone,
		}); err != nil {
			t.Fatal(err)
		}
		if !<-seen {
			t.Fatalf("round %d: the delivery's end was visible before its config's change", i)
		}
		if _, err := s.EnableCallbackConfig(ctx, "acme", c.ID); err != nil {
			t.Fatal(err)
		}
	}
}
