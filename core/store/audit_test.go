package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/callgate/callgate/core/secrets"
	"github.com/callgate/callgate/core/store"
)

func TestSubTenants(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "parent")
	tests := []struct {
		name    string
		tenant  store.Tenant
		wantErr error
	}{
		{name: "child", tenant: store.Tenant{ID: "child", ParentID: "parent"}},
		{name: "second_child", tenant: store.Tenant{ID: "child2", ParentID: "parent"}},
		{name: "missing_parent", tenant: store.Tenant{ID: "orphan", ParentID: "nobody"}, wantErr: store.ErrNotFound},
		{name: "grandchild", tenant: store.Tenant{ID: "grandchild", ParentID: "child"}, wantErr: store.ErrNestedTenant},
		{name: "own_parent", tenant: store.Tenant{ID: "self", ParentID: "self"}, wantErr: store.ErrNotFound},
		{name: "existing_id", tenant: store.Tenant{ID: "parent", ParentID: "parent"}, wantErr: store.ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateTenant(ctx, tt.tenant)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateTenant(%+v) = %v, want %v", tt.tenant, err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if _, err := s.GetTenant(ctx, tt.tenant.ID); tt.tenant.ID != "parent" && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("a refused tenant was made: %v", err)
				}
			}
		})
	}
	got, err := s.GetTenant(ctx, "child")
	if err != nil || got.ParentID != "parent" {
		t.Fatalf("GetTenant(child) = %+v, %v", got, err)
	}
	all, err := s.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string]string{}
	for _, tn := range all {
		parents[tn.ID] = tn.ParentID
	}
	if want := map[string]string{"parent": "", "child": "parent", "child2": "parent"}; !mapsEqual(parents, want) {
		t.Errorf("ListTenants parents = %v, want %v", parents, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestAgentKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// Sealed secrets, so that AppKeySecret (TC3) finds the key too.
	box, err := secrets.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := openStore(t, store.Options{Secrets: box})
	mustTenant(t, s, "t1")
	if _, err := s.AddAppKey(ctx, store.AppKey{TenantID: "t1", Key: "agent", Agent: true}, "agent-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppKey(ctx, "t1", "plain", "plain-secret"); err != nil {
		t.Fatal(err)
	}
	for secret, want := range map[string]bool{"agent-secret": true, "plain-secret": false} {
		k, err := s.AppKeyBySecret(ctx, secret)
		if err != nil || k.Agent != want {
			t.Errorf("AppKeyBySecret(%s) = %+v, %v; want agent %v", secret, k, err, want)
		}
	}
	if k, _, err := s.AppKeySecret(ctx, "agent"); err != nil || !k.Agent {
		t.Errorf("AppKeySecret(agent) = %+v, %v", k, err)
	}
	ks, err := s.ListAppKeys(ctx, "t1")
	if err != nil || len(ks) != 2 {
		t.Fatalf("ListAppKeys = %+v, %v", ks, err)
	}
	for _, k := range ks {
		if k.Agent != (k.Key == "agent") {
			t.Errorf("ListAppKeys: %+v", k)
		}
	}
}

// TestAuditInSameTransaction: the tenant and key writes record the event
// in ctx with their change, and not when the change is refused.
func TestAuditInSameTransaction(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, store.Options{})
	ev := func(action, target string) store.AuditEvent {
		return store.AuditEvent{Actor: "admin", Action: action, Target: target, RequestID: "req_1",
			Detail: map[string]any{"why": "test"}}
	}
	ctx := t.Context()
	var configID string
	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{name: "create_tenant", do: func() error {
			_, err := s.CreateTenant(store.WithAudit(ctx, ev("tenant.create", "acme")), store.Tenant{ID: "acme"})
			return err
		}},
		{name: "create_tenant_again", wantErr: store.ErrExists, do: func() error {
			_, err := s.CreateTenant(store.WithAudit(ctx, ev("tenant.create", "acme")), store.Tenant{ID: "acme"})
			return err
		}},
		{name: "sub_tenant_of_missing", wantErr: store.ErrNotFound, do: func() error {
			_, err := s.CreateTenant(store.WithAudit(ctx, ev("tenant.create", "kid")), store.Tenant{ID: "kid", ParentID: "nobody"})
			return err
		}},
		{name: "update_tenant", do: func() error {
			_, err := s.UpdateTenant(store.WithAudit(ctx, ev("tenant.update", "acme")), store.Tenant{ID: "acme", Name: "Acme"})
			return err
		}},
		{name: "update_missing_tenant", wantErr: store.ErrNotFound, do: func() error {
			_, err := s.UpdateTenant(store.WithAudit(ctx, ev("tenant.update", "nobody")), store.Tenant{ID: "nobody"})
			return err
		}},
		{name: "add_key", do: func() error {
			_, err := s.AddAppKey(store.WithAudit(ctx, ev("appkey.create", "k1")), store.AppKey{TenantID: "acme", Key: "k1"}, "s1")
			return err
		}},
		{name: "add_key_to_missing_tenant", wantErr: store.ErrNotFound, do: func() error {
			_, err := s.AddAppKey(store.WithAudit(ctx, ev("appkey.create", "k2")), store.AppKey{TenantID: "nobody", Key: "k2"}, "s2")
			return err
		}},
		{name: "revoke_key", do: func() error {
			// No tenant in the event: the store fills in the key's.
			return s.RevokeAppKey(store.WithAudit(ctx, ev("appkey.revoke", "k1")), "k1")
		}},
		{name: "revoke_key_again", wantErr: store.ErrNotFound, do: func() error {
			return s.RevokeAppKey(store.WithAudit(ctx, ev("appkey.revoke", "k1")), "k1")
		}},
		// A config's event names the id the store makes.
		{name: "add_config", do: func() error {
			c, err := s.AddCallbackConfig(store.WithAudit(ctx, ev("config.add", "")),
				store.CallbackConfig{TenantID: "acme", URL: "https://acme.example/cb"})
			configID = c.ID
			return err
		}},
		{name: "add_config_again", wantErr: store.ErrExists, do: func() error {
			_, err := s.AddCallbackConfig(store.WithAudit(ctx, ev("config.add", "")),
				store.CallbackConfig{TenantID: "acme", URL: "https://acme.example/cb"})
			return err
		}},
		{name: "delete_config", do: func() error {
			_, err := s.DeleteCallbackConfigByURL(store.WithAudit(ctx, ev("config.delete", "")), "acme", "https://acme.example/cb")
			return err
		}},
		{name: "delete_config_again", wantErr: store.ErrNotFound, do: func() error {
			_, err := s.DeleteCallbackConfigByURL(store.WithAudit(ctx, ev("config.delete", "")), "acme", "https://acme.example/cb")
			return err
		}},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.wantErr)
		}
	}
	evs, err := s.ListAuditEvents(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.TenantID+" "+e.Action+" "+e.Target)
		if e.Actor != "admin" || e.RequestID != "req_1" || e.Detail["why"] != "test" || e.At.IsZero() || e.ID == "" {
			t.Errorf("event not kept as given: %+v", e)
		}
	}
	want := []string{"acme config.delete " + configID, "acme config.add " + configID,
		"acme appkey.revoke k1", "acme appkey.create k1", "acme tenant.update acme", "acme tenant.create acme"}
	if !slices.Equal(got, want) {
		t.Errorf("events, newest first:\n got %q\nwant %q", got, want)
	}
}

func TestListAuditEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// Seven events of a, three of b; two of a share a millisecond, which
	// the cursor must still tell apart.
	for i := range 7 {
		at := base.Add(time.Duration(i) * time.Second)
		if i == 6 {
			at = base.Add(5 * time.Second)
		}
		if err := s.RecordAudit(ctx, store.AuditEvent{TenantID: "a", Actor: "k", Action: "config.add", Target: string(rune('0' + i)), At: at}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := s.RecordAudit(ctx, store.AuditEvent{TenantID: "b", Actor: "k", Action: "rule.put", Target: "b", At: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordAudit(ctx, store.AuditEvent{TenantID: "a", Action: "x"}); err == nil {
		t.Error("an event without an actor was recorded")
	}

	// Page through a's events, three at a time.
	var targets []string
	f := store.AuditFilter{TenantID: "a", Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		evs, err := s.ListAuditEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.TenantID != "a" {
				t.Fatalf("another tenant's event: %+v", e)
			}
			targets = append(targets, e.Target)
		}
		if len(evs) < f.Limit {
			break
		}
		f.After = store.AuditCursor(evs[len(evs)-1])
	}
	if want := []string{"6", "5", "4", "3", "2", "1", "0"}; !slices.Equal(targets, want) {
		t.Errorf("a's events paged = %q, want %q", targets, want)
	}

	before, err := s.ListAuditEvents(ctx, store.AuditFilter{TenantID: "b", Before: base.Add(2 * time.Second)})
	if err != nil || len(before) != 2 {
		t.Errorf("b's events before +2s = %+v, %v; want 2", before, err)
	}
	all, err := s.ListAuditEvents(ctx, store.AuditFilter{})
	if err != nil || len(all) != 10 {
		t.Errorf("every event = %d, %v; want 10", len(all), err)
	}
	if _, err := s.ListAuditEvents(ctx, store.AuditFilter{After: "garbage"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("a bad cursor: %v", err)
	}
}
