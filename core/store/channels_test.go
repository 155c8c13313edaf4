package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/secrets"
	"github.com/callgate/callgate/core/store"
)

func TestChannelsAndSealedSecrets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	box, err := secrets.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, store.Options{Path: path, Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"t1", "t2"} {
		if _, err := s.CreateTenant(ctx, store.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "t1", URL: "https://x/cb",
		Key: "0123456789abcdef0123456789abcdef", Token: "token-in-clear"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.PutChannel(ctx, store.Channel{TenantID: "t1", ID: "email", Plugin: "email",
		Settings: map[string]string{"host": "smtp.example.com", "password": "smtp-password"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutChannel(ctx, store.Channel{TenantID: "t1", ID: "email", Plugin: "email",
		Settings: map[string]string{"host": "smtp2.example.com", "password": "smtp-password"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetChannel(ctx, "t1", "email")
	if err != nil || got.Settings["host"] != "smtp2.example.com" || got.Settings["password"] != "smtp-password" ||
		!got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("channel = %+v, %v", got, err)
	}
	if _, err := s.GetChannel(ctx, "t2", "email"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another tenant's channel: %v", err)
	}
	cs, _ := s.ListCallbackConfigs(ctx, "t1")
	if len(cs) != 1 || cs[0].Token != "token-in-clear" {
		t.Fatalf("configs = %+v", cs)
	}
	// Nothing secret is readable in the file.
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var settings, token, key string
	raw.QueryRow(`SELECT settings FROM channels`).Scan(&settings)
	raw.QueryRow(`SELECT callback_token, callback_key FROM callback_configs`).Scan(&token, &key)
	for _, v := range []string{settings, token, key} {
		if strings.Contains(v, "smtp-password") || strings.Contains(v, "token-in-clear") || strings.Contains(v, "0123456789abcdef") || v == "" {
			t.Errorf("stored in the clear: %q", v)
		}
	}
	if err := s.DeleteChannel(ctx, "t1", "email"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteChannel(ctx, "t1", "email"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
}
