package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// openStore opens a store on a fresh SQLite file in t.TempDir and closes it
// when the test ends. It returns the file's path so that tests can reopen it
// or look at it with a separate connection.
func openStore(t testing.TB, opts store.Options) (*store.Store, string) {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "callgate.db")
	}
	s, err := store.Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", opts.Path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, opts.Path
}

// rawDB opens the store's file with a plain database/sql connection, as an
// outsider would, so tests can check what is really on disk.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open raw connection: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// count runs a COUNT(*) query on a raw connection.
func count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func mustTenant(t testing.TB, s *store.Store, id string) store.Tenant {
	t.Helper()
	tn, err := s.CreateTenant(t.Context(), store.Tenant{ID: id, Name: "Tenant " + id})
	if err != nil {
		t.Fatalf("CreateTenant(%q): %v", id, err)
	}
	return tn
}

// webhook is a delivery with the least a real one carries.
func webhook(dest string) store.Delivery {
	return store.Delivery{Channel: "webhook", Destination: dest, Body: []byte(`{"hello":"world"}`)}
}

// mustInsert stores a message for tenant with the given deliveries and
// fails the test unless it is new.
func mustInsert(t testing.TB, s *store.Store, tenant string, ds ...store.Delivery) (store.Message, []store.Delivery) {
	t.Helper()
	m, got, existed, err := s.InsertMessage(t.Context(),
		store.Message{TenantID: tenant, Rule: "default", Content: "hello", RequestID: "req_test"}, ds)
	if err != nil {
		t.Fatalf("InsertMessage: %v", err)
	}
	if existed {
		t.Fatalf("InsertMessage: existed = true for a message without idempotency key")
	}
	return m, got
}

// mustGet reads a delivery back from any tenant.
func mustGet(t testing.TB, s *store.Store, id string) store.Delivery {
	t.Helper()
	d, err := s.GetDelivery(t.Context(), "", id)
	if err != nil {
		t.Fatalf("GetDelivery(%q): %v", id, err)
	}
	return d
}

// ms is how the store keeps times: to the millisecond, in UTC.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// baseTime is a fixed instant, a whole millisecond, that dispatch tests
// count from so that they never depend on the wall clock.
var baseTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// within runs fn and fails the test if it does not return in d: several
// store calls block, and a bug there must fail the test, not hang it.
func within[T any](t testing.TB, d time.Duration, what string, fn func() T) T {
	t.Helper()
	ch := make(chan T, 1)
	go func() { ch <- fn() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
		panic("unreachable")
	}
}

// sleepPastMillisecond waits until the wall clock has moved to a later
// millisecond, so that ids and created_at of what follows sort after what
// came before.
func sleepPastMillisecond() {
	start := time.Now().UnixMilli()
	for time.Now().UnixMilli() <= start {
		time.Sleep(200 * time.Microsecond)
	}
}
