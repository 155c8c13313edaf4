package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

func TestOpen_options(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    store.Options
		wantErr string // "" means Open succeeds
	}{
		{name: "defaults", opts: store.Options{}},
		{name: "synchronous_normal", opts: store.Options{Synchronous: "NORMAL"}},
		{name: "synchronous_full", opts: store.Options{Synchronous: "FULL"}},
		{name: "synchronous_lower_case", opts: store.Options{Synchronous: "full"}},
		{name: "small_batch_and_pool", opts: store.Options{MaxBatch: 1, Readers: 1}},
		{name: "synchronous_off_refused", opts: store.Options{Synchronous: "OFF"}, wantErr: "synchronous"},
		{name: "no_path_refused", opts: store.Options{Path: "-"}, wantErr: "no path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			switch opts.Path {
			case "-":
				opts.Path = ""
			case "":
				// A folder that does not exist yet: Open makes it.
				opts.Path = filepath.Join(t.TempDir(), "new", "folder", "callgate.db")
			}
			s, err := store.Open(t.Context(), opts)
			if tt.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%+v) succeeded, want an error about %q", opts, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%+v) = %v, want an error about %q", opts, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%+v): %v", opts, err)
			}
			defer s.Close()
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			mustTenant(t, s, "acme")
		})
	}
}

// TestOpen_path_is_a_file_name checks that Path is taken as a file name,
// not as part of a URI: the database is made exactly there, and reopened.
func TestOpen_path_is_a_file_name(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dir  string
	}{
		{name: "space", dir: "with space"},
		{name: "ampersand", dir: "a&b=c"},
		{name: "unicode", dir: "données"},
		{name: "hash", dir: "a#b"},
		{name: "question_mark", dir: "a?b"},
		{name: "percent", dir: "100%41"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), tt.dir, "callgate.db")
			s, err := store.Open(t.Context(), store.Options{Path: path})
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			mustTenant(t, s, "acme")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no database at %q: %v", path, err)
			}
			s, err = store.Open(t.Context(), store.Options{Path: path})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if _, err := s.GetTenant(t.Context(), "acme"); err != nil {
				t.Errorf("after reopening %q: %v", path, err)
			}
		})
	}
}

func TestOpen_reopen_keeps_data(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "callgate.db")

	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	mustTenant(t, s, "acme")
	if _, err := s.CreateAppKey(ctx, "acme", "ak_1", "secret-1"); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "acme", URL: "https://example.com/cb"})
	if err != nil {
		t.Fatal(err)
	}
	m, ds := mustInsert(t, s, "acme", webhook("https://example.com/cb"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetTenant(ctx, "acme"); err != nil {
		t.Errorf("tenant after reopen: %v", err)
	}
	if k, err := s.AppKeyBySecret(ctx, "secret-1"); err != nil || k.Key != "ak_1" {
		t.Errorf("AppKeyBySecret after reopen = %+v, %v; want ak_1", k, err)
	}
	if got, err := s.GetCallbackConfig(ctx, "acme", cfg.ID); err != nil || got.URL != cfg.URL {
		t.Errorf("callback config after reopen = %+v, %v; want %+v", got, err, cfg)
	}
	if got, err := s.GetMessage(ctx, "acme", m.ID); err != nil || got.Content != m.Content {
		t.Errorf("message after reopen = %+v, %v; want %+v", got, err, m)
	}
	if got := mustGet(t, s, ds[0].ID); got.Destination != ds[0].Destination {
		t.Errorf("delivery after reopen = %+v, want %+v", got, ds[0])
	}
	// The reopened store writes as well as reads.
	mustTenant(t, s, "globex")
}

func TestOpen_migrations_are_idempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "callgate.db")
	db := rawDB(t, path)

	var version, objects int
	for i := range 3 {
		s, err := store.Open(ctx, store.Options{Path: path})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if i == 0 {
			mustTenant(t, s, "acme")
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
		v := count(t, db, "PRAGMA user_version")
		n := count(t, db, "SELECT COUNT(*) FROM sqlite_master")
		if i == 0 {
			version, objects = v, n
			if version < 1 {
				t.Fatalf("user_version after first open = %d, want at least 1", version)
			}
			continue
		}
		if v != version || n != objects {
			t.Errorf("open #%d: user_version %d with %d schema objects, want %d with %d",
				i+1, v, n, version, objects)
		}
	}
	if n := count(t, db, "SELECT COUNT(*) FROM tenants"); n != 1 {
		t.Errorf("tenants after reopening = %d, want 1", n)
	}
}

func TestOpen_refuses_newer_schema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // leaves a database with a newer user_version
	}{
		{
			name: "migrated_database_from_a_newer_binary",
			prepare: func(t *testing.T, path string) {
				s, err := store.Open(t.Context(), store.Options{Path: path})
				if err != nil {
					t.Fatal(err)
				}
				mustTenant(t, s, "acme")
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				db := rawDB(t, path)
				v := count(t, db, "PRAGMA user_version")
				if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "empty_file_far_ahead",
			prepare: func(t *testing.T, path string) {
				if _, err := rawDB(t, path).Exec("PRAGMA user_version = 1000"); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "callgate.db")
			tt.prepare(t, path)
			before := count(t, rawDB(t, path), "PRAGMA user_version")
			s, err := store.Open(t.Context(), store.Options{Path: path})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a database with a newer schema")
			}
			if !strings.Contains(err.Error(), "newer") {
				t.Errorf("Open error = %v, want it to say the schema is newer", err)
			}
			if after := count(t, rawDB(t, path), "PRAGMA user_version"); after != before {
				t.Errorf("user_version changed from %d to %d by a refused Open", before, after)
			}
		})
	}
}

func TestClose_twice(t *testing.T) {
	t.Parallel()
	s, err := store.Open(t.Context(), store.Options{Path: filepath.Join(t.TempDir(), "callgate.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestClose_then_write_is_refused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "callgate.db")})
	if err != nil {
		t.Fatal(err)
	}
	mustTenant(t, s, "acme")
	_, ds := mustInsert(t, s, "acme", webhook("https://example.com/cb"))
	id := ds[0].ID
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	writes := []struct {
		name  string
		write func() error
	}{
		{"create_tenant", func() error { _, err := s.CreateTenant(ctx, store.Tenant{ID: "globex"}); return err }},
		{"create_app_key", func() error { _, err := s.CreateAppKey(ctx, "acme", "ak", "secret"); return err }},
		{"revoke_app_key", func() error { return s.RevokeAppKey(ctx, "ak") }},
		{"add_callback_config", func() error {
			_, err := s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "acme", URL: "https://x"})
			return err
		}},
		{"delete_callback_config", func() error { _, err := s.DeleteCallbackConfigByURL(ctx, "acme", "https://x"); return err }},
		{"insert_message", func() error {
			_, _, _, err := s.InsertMessage(ctx, store.Message{TenantID: "acme"}, []store.Delivery{webhook("https://x")})
			return err
		}},
		{"claim", func() error { _, err := s.Claim(ctx, id, time.Now().Add(time.Hour), time.Minute); return err }},
		{"complete", func() error {
			return s.Complete(ctx, store.Completion{Attempt: store.Attempt{DeliveryID: id, Number: 1}, Status: store.StatusDead})
		}},
		{"retry_delivery", func() error { _, err := s.RetryDelivery(ctx, "acme", id, time.Now()); return err }},
		{"replay_deliveries", func() error {
			_, err := s.ReplayDeliveries(ctx, store.ReplayFilter{TenantID: "acme", Status: store.StatusDead, Limit: 10}, time.Now())
			return err
		}},
		{"release_leases", func() error { _, err := s.ReleaseLeases(ctx); return err }},
		{"add_receipt", func() error {
			_, err := s.AddReceipt(ctx, "acme", store.Receipt{DeliveryID: id, ChannelID: "webhook"})
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			// In parallel, so that a hanging write costs the package one
			// timeout rather than one per method.
			t.Parallel()
			// Several tries: a write after Close must be refused every time,
			// not only when a select happens to pick the right case.
			for i := range 20 {
				err := within(t, time.Second, w.name+" after Close", w.write)
				if !errors.Is(err, store.ErrClosed) {
					t.Fatalf("try %d: %s after Close = %v, want ErrClosed", i+1, w.name, err)
				}
			}
		})
	}
	t.Run("ping", func(t *testing.T) {
		if err := s.Ping(ctx); err == nil {
			t.Fatal("Ping after Close succeeded")
		}
	})
}

// TestClose_racing_writes checks that a write racing Close either commits
// (and is there after reopening) or is refused with ErrClosed; none hangs
// or is lost.
func TestClose_racing_writes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "callgate.db")
	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 16
	var wg sync.WaitGroup
	committed := make(chan string, writers*1000)
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				id := fmt.Sprintf("t%02d-%04d", w, i)
				_, err := s.CreateTenant(context.Background(), store.Tenant{ID: id})
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("CreateTenant(%q) racing Close: %v", id, err)
					return
				}
				committed <- id
			}
		})
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	if err := within(t, 10*time.Second, "Close", s.Close); err != nil {
		t.Fatalf("Close: %v", err)
	}
	within(t, 3*time.Second, "writes racing Close", func() struct{} { wg.Wait(); return struct{}{} })
	close(committed)

	s, err = store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for id := range committed {
		n++
		if _, err := s.GetTenant(ctx, id); err != nil {
			t.Errorf("tenant %q was reported committed but after reopening: %v", id, err)
		}
	}
	if n == 0 {
		t.Error("no write committed before Close; the test proves nothing")
	}
}
