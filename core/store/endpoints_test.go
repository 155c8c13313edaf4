package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

func TestEndpointFailingTooLongIsDisabled(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "db"), DisableAfter: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CreateTenant(ctx, store.Tenant{ID: "t"})
	cfg, _ := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "t", URL: "https://x/cb"})
	attempt := func(report store.EndpointReport) {
		t.Helper()
		_, ds, _, err := s.InsertMessage(ctx, store.Message{TenantID: "t", Rule: "http", Properties: []byte("{}")},
			[]store.Delivery{{Channel: "http", ConfigID: cfg.ID, Destination: cfg.URL}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Claim(ctx, ds[0].ID, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, store.Completion{Attempt: store.Attempt{DeliveryID: d.ID, Number: d.Attempts, Outcome: "retryable"},
			Status: store.StatusDead, Endpoint: report}); err != nil {
			t.Fatal(err)
		}
	}
	disabled := func() bool {
		c, err := s.GetCallbackConfig(ctx, "t", cfg.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c.Disabled
	}
	attempt(store.EndpointFailing)
	attempt(store.EndpointHealthy) // a success forgets the failures
	attempt(store.EndpointFailing)
	if disabled() {
		t.Fatal("disabled at the first failure")
	}
	time.Sleep(60 * time.Millisecond)
	attempt(store.EndpointFailing)
	if !disabled() {
		t.Fatal("not disabled after failing longer than DisableAfter")
	}
	c, _ := s.EnableCallbackConfig(ctx, "t", cfg.ID)
	if c.Disabled {
		t.Fatal("still disabled after enabling")
	}
	attempt(store.EndpointGone)
	if !disabled() {
		t.Fatal("410 did not disable")
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CreateTenant(ctx, store.Tenant{ID: "t"})
	var done, pending []string
	for i := range 7 {
		m, ds, _, err := s.InsertMessage(ctx, store.Message{TenantID: "t", Rule: "http", Properties: []byte("{}"),
			IdempotencyKey: "k" + string(rune('a'+i))}, []store.Delivery{{Channel: "http", Destination: "https://x"}})
		if err != nil {
			t.Fatal(err)
		}
		if i < 5 {
			d, _ := s.Claim(ctx, ds[0].ID, time.Now(), time.Minute)
			s.Complete(ctx, store.Completion{Attempt: store.Attempt{DeliveryID: d.ID, Number: 1, Outcome: "delivered"}, Status: store.StatusSucceeded})
			done = append(done, m.ID)
		} else {
			pending = append(pending, m.ID)
		}
	}
	n, err := s.Prune(ctx, time.Now().Add(time.Second), time.Now().Add(time.Second), 2)
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v; want 5", n, err)
	}
	for _, id := range done {
		if _, err := s.GetMessage(ctx, "t", id); err == nil {
			t.Errorf("succeeded message %s kept", id)
		}
	}
	for _, id := range pending {
		m, err := s.GetMessage(ctx, "t", id)
		if err != nil {
			t.Errorf("pending message %s pruned", id)
		}
		if m.IdempotencyKey != "" {
			t.Errorf("idempotency key of %s kept past its window", id)
		}
	}
}
