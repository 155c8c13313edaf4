package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/store"
)

// TestCallbackConfigs follows the ESS ModifyCallbackConfig semantics: add a
// URL (once per tenant), delete by URL, and tenants never see each other's.
func TestCallbackConfigs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	mustTenant(t, s, "globex")

	const url = "https://hooks.example.com/callgate"
	acme, err := s.AddCallbackConfig(ctx, store.CallbackConfig{
		TenantID: "acme", URL: url, Key: "0123456789abcdef0123456789abcdef", Token: "whsec_dG9rZW4=", Operator: "alice",
	})
	if err != nil {
		t.Fatalf("AddCallbackConfig: %v", err)
	}
	if !strings.HasPrefix(acme.ID, "cfg_") || acme.CreatedAt.IsZero() {
		t.Errorf("AddCallbackConfig returned %+v, want a cfg_ id and a creation time", acme)
	}
	got, err := s.GetCallbackConfig(ctx, "acme", acme.ID)
	if err != nil {
		t.Fatalf("GetCallbackConfig: %v", err)
	}
	want := acme
	want.CreatedAt = ms(acme.CreatedAt)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetCallbackConfig = %+v, want %+v", got, want)
	}

	t.Run("add", func(t *testing.T) {
		tests := []struct {
			name    string
			cfg     store.CallbackConfig
			wantErr error
		}{
			{name: "same_url_again", cfg: store.CallbackConfig{TenantID: "acme", URL: url}, wantErr: store.ErrExists},
			{name: "same_url_other_key", cfg: store.CallbackConfig{TenantID: "acme", URL: url, Key: "k", Token: "t"}, wantErr: store.ErrExists},
			{name: "same_url_other_tenant", cfg: store.CallbackConfig{TenantID: "globex", URL: url}},
			{name: "other_url", cfg: store.CallbackConfig{TenantID: "acme", URL: url + "/v2"}},
			{name: "url_differing_in_case", cfg: store.CallbackConfig{TenantID: "acme", URL: strings.ToUpper(url)}},
			{name: "explicit_id_taken", cfg: store.CallbackConfig{ID: acme.ID, TenantID: "globex", URL: url + "/other"}, wantErr: store.ErrExists},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, err := s.AddCallbackConfig(ctx, tt.cfg)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("AddCallbackConfig(%+v) = %+v, %v; want %v", tt.cfg, c, err, tt.wantErr)
				}
			})
		}
	})

	t.Run("unknown_tenant", func(t *testing.T) {
		// callback_configs references tenants: a config cannot hang off nothing.
		if _, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "nobody", URL: url}); err == nil {
			t.Fatal("AddCallbackConfig for an unknown tenant succeeded")
		}
	})

	t.Run("tenants_are_isolated", func(t *testing.T) {
		if _, err := s.GetCallbackConfig(ctx, "globex", acme.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("globex reading acme's config = %v, want ErrNotFound", err)
		}
		list, err := s.ListCallbackConfigs(ctx, "globex")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if c.TenantID != "globex" || c.ID == acme.ID {
				t.Errorf("ListCallbackConfigs(globex) includes %+v", c)
			}
		}
		if len(list) != 1 {
			t.Errorf("ListCallbackConfigs(globex) has %d configs, want 1", len(list))
		}
		// Deleting a URL deletes only the caller's config with that URL.
		if _, err := s.DeleteCallbackConfigByURL(ctx, "globex", url+"/v2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("globex deleting acme's URL = %v, want ErrNotFound", err)
		}
		if _, err := s.GetCallbackConfig(ctx, "acme", acme.ID); err != nil {
			t.Errorf("acme's config after globex's deletes: %v", err)
		}
	})

	t.Run("delete_by_url", func(t *testing.T) {
		id, err := s.DeleteCallbackConfigByURL(ctx, "acme", url)
		if err != nil {
			t.Fatalf("DeleteCallbackConfigByURL: %v", err)
		}
		if id != acme.ID {
			t.Errorf("DeleteCallbackConfigByURL returned %q, want %q", id, acme.ID)
		}
		if _, err := s.GetCallbackConfig(ctx, "acme", acme.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCallbackConfig after delete = %v, want ErrNotFound", err)
		}
		if _, err := s.DeleteCallbackConfigByURL(ctx, "acme", url); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting the same URL again = %v, want ErrNotFound", err)
		}
		if _, err := s.DeleteCallbackConfigByURL(ctx, "acme", "https://never.example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting a URL never added = %v, want ErrNotFound", err)
		}
		// globex's config with the same URL is untouched.
		list, err := s.ListCallbackConfigs(ctx, "globex")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].URL != url {
			t.Errorf("globex's configs after acme deleted %s: %+v", url, list)
		}
		// Once deleted, the URL can be added again, with a new id.
		sleepPastMillisecond()
		again, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "acme", URL: url, Key: "new-key", Token: "new-token"})
		if err != nil {
			t.Fatalf("re-adding a deleted URL: %v", err)
		}
		if again.ID == acme.ID {
			t.Errorf("re-added config reuses id %q", again.ID)
		}
	})

	t.Run("list_oldest_first_with_secrets", func(t *testing.T) {
		list, err := s.ListCallbackConfigs(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var urls []string
		for i, c := range list {
			urls = append(urls, c.URL)
			if i > 0 && c.CreatedAt.Before(list[i-1].CreatedAt) {
				t.Errorf("config %d created %v before config %d (%v)", i, c.CreatedAt, i-1, list[i-1].CreatedAt)
			}
		}
		if len(list) != 3 {
			t.Fatalf("ListCallbackConfigs(acme) URLs = %v, want 3 configs", urls)
		}
		if c := list[2]; c.URL != url || c.Key != "new-key" || c.Token != "new-token" {
			t.Errorf("newest config = %+v, want the re-added %q with its key and token", c, url)
		}
	})
}
