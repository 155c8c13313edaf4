package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

func TestGroupCommit_concurrent_inserts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	const goroutines, perGoroutine = 64, 50

	batches0, writes0 := s.Stats()
	var wg sync.WaitGroup
	ids := make([][]string, goroutines) // message id, then its delivery id
	for g := range goroutines {
		wg.Go(func() {
			tenant := fmt.Sprintf("tenant-%d", g%4)
			for i := range perGoroutine {
				m, ds, existed, err := s.InsertMessage(ctx,
					store.Message{TenantID: tenant, Content: fmt.Sprintf("%d/%d", g, i), IdempotencyKey: fmt.Sprintf("%d/%d", g, i)},
					[]store.Delivery{webhook("https://example.com")})
				if err != nil || existed {
					t.Errorf("InsertMessage %d/%d = existed %v, %v", g, i, existed, err)
					return
				}
				ids[g] = append(ids[g], m.ID, ds[0].ID)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	batches, writes := s.Stats()
	batches, writes = batches-batches0, writes-writes0

	const total = goroutines * perGoroutine
	db := rawDB(t, path)
	if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != total {
		t.Errorf("messages on disk = %d, want %d", n, total)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM deliveries`); n != total {
		t.Errorf("deliveries on disk = %d, want %d", n, total)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id AND m.tenant_id = d.tenant_id`); n != total {
		t.Errorf("deliveries joined to their message = %d, want %d", n, total)
	}
	seen := make(map[string]bool, 2*total)
	for _, gids := range ids {
		for _, id := range gids {
			if seen[id] {
				t.Errorf("id %s returned twice", id)
			}
			seen[id] = true
		}
	}
	if writes != total {
		t.Errorf("Stats writes = %d, want %d", writes, total)
	}
	if batches >= writes {
		t.Errorf("Stats: %d batches for %d writes, want group commit to share transactions", batches, writes)
	}
	t.Logf("%d writes in %d transactions (%.1f per transaction)", writes, batches, float64(writes)/float64(batches))
}

// TestGroupCommit_failing_write_fails_alone holds the database's write lock
// from another connection so that a mix of good and bad writes queues up
// and is committed in one transaction; each bad write must fail alone and
// every good one commit.
func TestGroupCommit_failing_write_fails_alone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	mustTenant(t, s, "dup")
	if _, err := s.CreateAppKey(ctx, "dup", "ak_dup", "secret-dup"); err != nil {
		t.Fatal(err)
	}
	_, taken := mustInsert(t, s, "dup", webhook("https://example.com"))
	db := rawDB(t, path)

	type write struct {
		name    string
		do      func() error
		wantErr error // nil: must commit; errAny: any error
		check   func() bool
	}
	errAny := errors.New("any error")
	// Several rounds, until the writes land in one transaction: the lock
	// makes that all but certain, but a slow machine may still deliver a
	// straggler after it is released.
	for round := range 5 {
		var writes []write
		for i := range 8 {
			id := fmt.Sprintf("good-%d-%d", round, i)
			writes = append(writes, write{
				name:  "create tenant " + id,
				do:    func() error { _, err := s.CreateTenant(ctx, store.Tenant{ID: id}); return err },
				check: func() bool { _, err := s.GetTenant(ctx, id); return err == nil },
			})
			msgID := fmt.Sprintf("msg_good-%d-%d", round, i)
			writes = append(writes, write{
				name: "insert message " + msgID,
				do: func() error {
					_, _, _, err := s.InsertMessage(ctx, store.Message{ID: msgID, TenantID: "dup"}, []store.Delivery{webhook("https://ok")})
					return err
				},
				check: func() bool { _, err := s.GetMessage(ctx, "dup", msgID); return err == nil },
			})
		}
		badMsg := fmt.Sprintf("msg_bad-%d", round)
		writes = append(writes,
			write{
				name:    "duplicate tenant",
				do:      func() error { _, err := s.CreateTenant(ctx, store.Tenant{ID: "dup"}); return err },
				wantErr: store.ErrExists,
			},
			write{
				name:    "duplicate app key",
				do:      func() error { _, err := s.CreateAppKey(ctx, "dup", "ak_dup", "other"); return err },
				wantErr: store.ErrExists,
			},
			write{
				name: "message whose second delivery fails",
				do: func() error {
					_, _, _, err := s.InsertMessage(ctx, store.Message{ID: badMsg, TenantID: "dup"},
						[]store.Delivery{webhook("https://a"), {ID: taken[0].ID, Channel: "webhook", Destination: "https://b"}})
					return err
				},
				wantErr: errAny,
				check: func() bool {
					_, err := s.GetMessage(ctx, "dup", badMsg)
					return errors.Is(err, store.ErrNotFound) // rolled back to its savepoint
				},
			},
			write{
				name: "stale completion",
				do: func() error {
					return s.Complete(ctx, store.Completion{Attempt: store.Attempt{DeliveryID: taken[0].ID, Number: 9}})
				},
				wantErr: store.ErrConflict,
			},
		)

		release := holdWriteLock(t, db)
		// One write first: the writer takes it and then waits for the lock,
		// so all the others queue up behind it for the next transaction.
		firstDone := make(chan error, 1)
		go func() {
			_, err := s.CreateTenant(ctx, store.Tenant{ID: fmt.Sprintf("first-%d", round)})
			firstDone <- err
		}()
		time.Sleep(20 * time.Millisecond)
		batches0, writes0 := s.Stats()
		errs := make([]error, len(writes))
		var wg sync.WaitGroup
		for i, w := range writes {
			wg.Go(func() { errs[i] = w.do() })
		}
		time.Sleep(100 * time.Millisecond)
		release()
		wg.Wait()
		if err := <-firstDone; err != nil {
			t.Fatalf("first write: %v", err)
		}
		batches, n := s.Stats()
		batches, n = batches-batches0, n-writes0

		for i, w := range writes {
			switch {
			case w.wantErr == nil && errs[i] != nil:
				t.Errorf("round %d: %s failed in a batch with bad writes: %v", round, w.name, errs[i])
			case w.wantErr == errAny && errs[i] == nil:
				t.Errorf("round %d: %s succeeded, want an error", round, w.name)
			case w.wantErr != nil && w.wantErr != errAny && !errors.Is(errs[i], w.wantErr):
				t.Errorf("round %d: %s = %v, want %v", round, w.name, errs[i], w.wantErr)
			}
			if w.check != nil && !w.check() {
				t.Errorf("round %d: after the batch, %s did not leave what it should", round, w.name)
			}
		}
		if t.Failed() {
			return
		}
		// The first write's transaction plus one for all the others.
		t.Logf("round %d: %d writes in %d transactions", round, n, batches)
		if batches <= 2 && n == int64(len(writes))+1 {
			return
		}
	}
	t.Error("the writes never shared a transaction; the test did not exercise group commit")
}

// holdWriteLock takes SQLite's write lock on another connection, so that the
// store's writer waits (busy_timeout) and its writes pile up. It returns
// the function that lets go.
func holdWriteLock(t *testing.T, db *sql.DB) (release func()) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Errorf("release write lock: %v", err)
			}
			conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// TestGroupCommit_cancelled_caller_does_not_undo_others cancels one caller's
// context while its statement runs inside a shared transaction. Whatever
// happens to that write, the writes batched with it must commit and say so.
func TestGroupCommit_cancelled_caller_does_not_undo_others(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	// Enough rows that replaying them is one statement that runs for a
	// while (tens of milliseconds), however fast the machine.
	rows := 0
	replay := func(ctx context.Context) error {
		_, err := s.ReplayDeliveries(ctx, store.ReplayFilter{TenantID: "acme", Status: store.StatusPending, Limit: rows}, time.Now())
		return err
	}
	var took time.Duration
	for batch := 1000; took < 30*time.Millisecond && rows < 64000; batch = rows {
		more := make([]store.Delivery, batch)
		for i := range more {
			more[i] = webhook("https://example.com")
		}
		mustInsert(t, s, "acme", more...)
		rows += batch
		start := time.Now()
		if err := replay(ctx); err != nil {
			t.Fatal(err)
		}
		took = time.Since(start)
	}
	t.Logf("replaying %d rows takes %v", rows, took)
	db := rawDB(t, path)

	for round, frac := range []float64{0.3, 0.5, 0.7, 0.9} {
		release := holdWriteLock(t, db)
		var wg sync.WaitGroup
		ids := []string{fmt.Sprintf("first-%d", round), fmt.Sprintf("before-%d", round), fmt.Sprintf("after-%d", round)}
		errs := make([]error, len(ids))
		enqueue := func(i int) {
			wg.Go(func() { _, errs[i] = s.CreateTenant(ctx, store.Tenant{ID: ids[i]}) })
			time.Sleep(10 * time.Millisecond) // keeps the order in the queue
		}
		enqueue(0) // taken by the writer, which then waits for the lock
		enqueue(1)
		cctx, cancel := context.WithCancel(ctx)
		wg.Go(func() { replay(cctx) })
		time.Sleep(10 * time.Millisecond)
		enqueue(2)
		release()
		time.Sleep(time.Duration(frac * float64(took)))
		cancel()
		wg.Wait()
		for i, id := range ids {
			_, err := s.GetTenant(ctx, id)
			if errs[i] != nil || err != nil {
				t.Errorf("round %d (cancel after %v): CreateTenant(%q) = %v; afterwards GetTenant = %v; want both to succeed",
					round, time.Duration(frac*float64(took)), id, errs[i], err)
			}
		}
	}
}
