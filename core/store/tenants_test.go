package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

func TestCreateTenant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})

	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	got, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme Corp", CreatedAt: created})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	if got.ID != "acme" || got.Name != "Acme Corp" || !got.CreatedAt.Equal(created) {
		t.Errorf("CreateTenant returned %+v", got)
	}
	fresh, err := s.CreateTenant(ctx, store.Tenant{ID: "globex"})
	if err != nil {
		t.Fatalf("CreateTenant without CreatedAt: %v", err)
	}
	if fresh.CreatedAt.IsZero() {
		t.Error("CreateTenant left CreatedAt zero")
	}

	tests := []struct {
		name    string
		tenant  store.Tenant
		wantErr error
	}{
		{name: "duplicate_id", tenant: store.Tenant{ID: "acme", Name: "Other"}, wantErr: store.ErrExists},
		{name: "duplicate_id_same_name", tenant: store.Tenant{ID: "globex"}, wantErr: store.ErrExists},
		{name: "new_id", tenant: store.Tenant{ID: "initech"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateTenant(ctx, tt.tenant)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateTenant(%+v) = %v, want %v", tt.tenant, err, tt.wantErr)
			}
		})
	}

	t.Run("get", func(t *testing.T) {
		tn, err := s.GetTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		// Kept to the millisecond; the duplicate did not overwrite the name.
		want := store.Tenant{ID: "acme", Name: "Acme Corp", CreatedAt: ms(created)}
		if tn != want {
			t.Errorf("GetTenant = %+v, want %+v", tn, want)
		}
		if _, err := s.GetTenant(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTenant(unknown) = %v, want ErrNotFound", err)
		}
	})
	t.Run("list_by_id", func(t *testing.T) {
		ts, err := s.ListTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tn := range ts {
			ids = append(ids, tn.ID)
		}
		if want := []string{"acme", "globex", "initech"}; !slices.Equal(ids, want) {
			t.Errorf("ListTenants ids = %v, want %v", ids, want)
		}
	})
}

func TestAppKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	mustTenant(t, s, "globex")

	k, err := s.CreateAppKey(ctx, "acme", "ak_live", "s3cret-live")
	if err != nil {
		t.Fatalf("CreateAppKey: %v", err)
	}
	if k.Key != "ak_live" || k.TenantID != "acme" || k.Revoked || k.CreatedAt.IsZero() {
		t.Errorf("CreateAppKey returned %+v", k)
	}
	if _, err := s.CreateAppKey(ctx, "acme", "ak_revoked", "s3cret-revoked"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppKey(ctx, "globex", "ak_globex", "s3cret-globex"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAppKey(ctx, "ak_revoked"); err != nil {
		t.Fatalf("RevokeAppKey: %v", err)
	}

	t.Run("create_errors", func(t *testing.T) {
		tests := []struct {
			name                string
			tenant, key, secret string
			wantErr             error
		}{
			{name: "unknown_tenant", tenant: "nobody", key: "ak_x", secret: "x", wantErr: store.ErrNotFound},
			{name: "duplicate_key", tenant: "acme", key: "ak_live", secret: "other", wantErr: store.ErrExists},
			{name: "duplicate_key_other_tenant", tenant: "globex", key: "ak_live", secret: "other", wantErr: store.ErrExists},
			{name: "duplicate_secret", tenant: "globex", key: "ak_new", secret: "s3cret-live", wantErr: store.ErrExists},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.CreateAppKey(ctx, tt.tenant, tt.key, tt.secret)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("CreateAppKey(%q, %q) = %v, want %v", tt.tenant, tt.key, err, tt.wantErr)
				}
			})
		}
	})

	t.Run("by_secret", func(t *testing.T) {
		tests := []struct {
			name       string
			secret     string
			wantKey    string
			wantTenant string // "" means ErrNotFound
		}{
			{name: "live_key", secret: "s3cret-live", wantKey: "ak_live", wantTenant: "acme"},
			{name: "other_tenants_key", secret: "s3cret-globex", wantKey: "ak_globex", wantTenant: "globex"},
			{name: "revoked_key", secret: "s3cret-revoked"},
			{name: "wrong_secret", secret: "s3cret-lives"},
			{name: "secret_prefix", secret: "s3cret"},
			{name: "hash_instead_of_secret", secret: sha256Hex("s3cret-live")},
			{name: "empty_secret", secret: ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				k, err := s.AppKeyBySecret(ctx, tt.secret)
				if tt.wantTenant == "" {
					if !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("AppKeyBySecret(%q) = %+v, %v; want ErrNotFound", tt.secret, k, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("AppKeyBySecret(%q): %v", tt.secret, err)
				}
				if k.Key != tt.wantKey || k.TenantID != tt.wantTenant || k.Revoked {
					t.Errorf("AppKeyBySecret(%q) = %+v, want key %q of %q", tt.secret, k, tt.wantKey, tt.wantTenant)
				}
			})
		}
	})

	t.Run("revoke", func(t *testing.T) {
		if err := s.RevokeAppKey(ctx, "ak_revoked"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking twice = %v, want ErrNotFound", err)
		}
		if err := s.RevokeAppKey(ctx, "ak_nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking an unknown key = %v, want ErrNotFound", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		keys, err := s.ListAppKeys(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, k := range keys {
			if k.TenantID != "acme" {
				t.Errorf("ListAppKeys(acme) returned %+v", k)
			}
			got[k.Key] = k.Revoked
		}
		want := map[string]bool{"ak_live": false, "ak_revoked": true}
		if len(got) != len(want) || got["ak_live"] != false || got["ak_revoked"] != true {
			t.Errorf("ListAppKeys(acme) key -> revoked = %v, want %v", got, want)
		}
	})
}

// TestAppKeys_secret_is_hashed_on_disk reads the file with its own
// connection: the app_keys table must hold the SHA-256 of the secret, and
// the secret itself must appear nowhere in the database or its WAL.
func TestAppKeys_secret_is_hashed_on_disk(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	mustTenant(t, s, "acme")
	const secret = "very-distinctive-secret-4f9a1c"
	if _, err := s.CreateAppKey(ctx, "acme", "ak_1", secret); err != nil {
		t.Fatal(err)
	}

	db := rawDB(t, path)
	rows, err := db.QueryContext(ctx, `SELECT app_key, secret_hash FROM app_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key, hash string
		if err := rows.Scan(&key, &hash); err != nil {
			t.Fatal(err)
		}
		n++
		if want := sha256Hex(secret); hash != want {
			t.Errorf("app_keys.secret_hash of %s = %q, want SHA-256 hex %q", key, hash, want)
		}
		if hash == secret {
			t.Errorf("app_keys.secret_hash of %s holds the secret in plain text", key)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("app_keys has %d rows, want 1", n)
	}
	if got := store.HashSecret(secret); got != sha256Hex(secret) {
		t.Errorf("HashSecret = %q, want %q", got, sha256Hex(secret))
	}

	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the secret in plain text", f)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
