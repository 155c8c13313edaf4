package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/callgate/callgate/core/store"
)

// TestIngestBesideALongReader: a reader holding a transaction open (a
// report, a backup) does not block acknowledged writes.
func TestIngestBesideALongReader(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	s, err := store.Open(ctx, store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: "t"}); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if _, _, _, err := s.InsertMessage(ctx, store.Message{TenantID: "t", Rule: "http", Properties: []byte("{}")},
			[]store.Delivery{{Channel: "http", Destination: "https://x"}}); err != nil {
			t.Fatalf("insert %d beside a long reader: %v", i, err)
		}
	}
	// The reader still sees its snapshot.
	if err := tx.QueryRow(`SELECT count(*) FROM messages`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("reader snapshot: %d %v", n, err)
	}
}
