package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// TestCallbackConfigPolicy: a config's policy is kept as given, with "no
// retries" (an empty schedule) told apart from "inherit" (none), and
// SetCallbackConfigPolicy replaces it for the config's tenant only.
func TestCallbackConfigPolicy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	mustTenant(t, s, "globex")

	tests := []struct {
		name   string
		policy store.DeliveryPolicy
		column string // what callback_configs.policy holds
	}{
		{"inherit", store.DeliveryPolicy{}, ``},
		{"no_retries", store.DeliveryPolicy{Retry: &store.RetryPolicy{ScheduleMs: []int64{}}}, `{"retry":{"scheduleMs":[]}}`},
		{"nil_schedule_is_no_retries", store.DeliveryPolicy{Retry: &store.RetryPolicy{}}, `{"retry":{"scheduleMs":[]}}`},
		{"schedule_and_rate", store.DeliveryPolicy{
			Retry: &store.RetryPolicy{ScheduleMs: []int64{1000, 5000}},
			Rate:  &store.RateLimit{PerSecond: 2.5, Burst: 3},
		}, `{"retry":{"scheduleMs":[1000,5000]},"rate":{"perSecond":2.5,"burst":3}}`},
	}
	db := rawDB(t, path)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.AddCallbackConfig(ctx, store.CallbackConfig{
				TenantID: "acme", URL: "https://hooks.example.com/" + tt.name, Policy: tt.policy})
			if err != nil {
				t.Fatalf("AddCallbackConfig: %v", err)
			}
			var column string
			if err := db.QueryRow(`SELECT policy FROM callback_configs WHERE id = ?`, c.ID).Scan(&column); err != nil {
				t.Fatal(err)
			}
			if column != tt.column {
				t.Errorf("policy column = %s, want %s", column, tt.column)
			}
			want := tt.policy
			if want.Retry != nil && want.Retry.ScheduleMs == nil {
				want.Retry = &store.RetryPolicy{ScheduleMs: []int64{}}
			}
			got, err := s.GetCallbackConfig(ctx, "acme", c.ID)
			if err != nil || !reflect.DeepEqual(got.Policy, want) {
				t.Errorf("GetCallbackConfig policy = %+v, %v; want %+v", got.Policy, err, want)
			}
			only, err := s.CallbackConfigPolicy(ctx, "acme", c.ID)
			if err != nil || !reflect.DeepEqual(only, want) {
				t.Errorf("CallbackConfigPolicy = %+v, %v; want %+v", only, err, want)
			}
			// Replace it with the next case's policy.
			next := tests[(i+1)%len(tests)].policy
			set, err := s.SetCallbackConfigPolicy(ctx, "acme", c.ID, next)
			if err != nil {
				t.Fatalf("SetCallbackConfigPolicy: %v", err)
			}
			if set.URL != c.URL || (next.Rate == nil) != (set.Policy.Rate == nil) || (next.Retry == nil) != (set.Policy.Retry == nil) {
				t.Errorf("SetCallbackConfigPolicy = %+v, want the config with policy %+v", set, next)
			}
			if _, err := s.SetCallbackConfigPolicy(ctx, "globex", c.ID, tt.policy); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another tenant set the policy: %v", err)
			}
		})
	}
	if _, err := s.CallbackConfigPolicy(ctx, "acme", "cfg_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CallbackConfigPolicy of a missing config: %v, want ErrNotFound", err)
	}
}

// TestTenantRetryPolicy: a tenant's retry schedule lives in its settings
// beside its limits.
func TestTenantRetryPolicy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	limits := store.TenantLimits{IngestRate: 5, Retry: &store.RetryPolicy{ScheduleMs: []int64{100, 200}}}
	if _, err := s.UpdateTenant(ctx, store.Tenant{ID: "acme", Limits: limits}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Limits, limits) {
		t.Errorf("limits = %+v, want %+v", got.Limits, limits)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !reflect.DeepEqual(got.Limits.Retry.Schedule(), want) {
		t.Errorf("Schedule() = %v, want %v", got.Limits.Retry.Schedule(), want)
	}
	var none *store.RetryPolicy
	if none.Schedule() != nil {
		t.Error("a nil policy has a schedule; it must inherit")
	}
	if s := (&store.RetryPolicy{}).Schedule(); s == nil || len(s) != 0 {
		t.Errorf("an empty policy's schedule = %#v, want empty, not nil (no retries)", s)
	}
}
