package store_test

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// at is baseTime plus d.
func at(d time.Duration) time.Time { return baseTime.Add(d) }

// dueAt is a webhook delivery first due at baseTime + d.
func dueAt(d time.Duration) store.Delivery {
	w := webhook("https://example.com/hook")
	w.NextAttemptAt = at(d)
	return w
}

func mustClaim(t *testing.T, s *store.Store, id string, now time.Time, lease time.Duration) store.Delivery {
	t.Helper()
	d, err := s.Claim(t.Context(), id, now, lease)
	if err != nil {
		t.Fatalf("Claim(%s, %v): %v", id, now, err)
	}
	return d
}

func mustComplete(t *testing.T, s *store.Store, c store.Completion) {
	t.Helper()
	if err := s.Complete(t.Context(), c); err != nil {
		t.Fatalf("Complete(%+v): %v", c, err)
	}
}

func TestDueBefore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme",
		dueAt(1*time.Second),         // 0: pending
		dueAt(2*time.Second),         // 1: inflight, lease until 32s
		dueAt(3*time.Second),         // 2: inflight, lease until 4s
		dueAt(1500*time.Millisecond), // 3: failed, next attempt at 20s
		dueAt(5*time.Second),         // 4: succeeded
		dueAt(6*time.Second),         // 5: dead
	)
	pending, longLease, shortLease, failed, succeeded, dead := ds[0].ID, ds[1].ID, ds[2].ID, ds[3].ID, ds[4].ID, ds[5].ID
	mustClaim(t, s, longLease, at(2*time.Second), 30*time.Second)
	mustClaim(t, s, shortLease, at(3*time.Second), time.Second)
	mustClaim(t, s, failed, at(1500*time.Millisecond), time.Second)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: failed, Number: 1, Outcome: "retryable"},
		Status: store.StatusFailed, NextAttemptAt: at(20 * time.Second)})
	mustClaim(t, s, succeeded, at(5*time.Second), time.Second)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: succeeded, Number: 1, Outcome: "delivered"},
		Status: store.StatusSucceeded})
	mustClaim(t, s, dead, at(6*time.Second), time.Second)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: dead, Number: 1, Outcome: "permanent"},
		Status: store.StatusDead})

	tests := []struct {
		name  string
		t     time.Time
		limit int
		want  []store.Due
	}{
		{name: "nothing_due_yet", t: at(0), limit: 10},
		{name: "due_time_itself_is_due", t: at(time.Second), limit: 10,
			want: []store.Due{{ID: pending, At: at(time.Second)}}},
		{name: "first_pending", t: at(time.Second + time.Millisecond), limit: 10,
			want: []store.Due{{ID: pending, At: at(time.Second)}}},
		{name: "pending_and_expired_lease", t: at(5 * time.Second), limit: 10,
			want: []store.Due{{ID: pending, At: at(time.Second)}, {ID: shortLease, At: at(4 * time.Second)}}},
		{name: "failed_retry_due", t: at(21 * time.Second), limit: 10,
			want: []store.Due{{ID: pending, At: at(time.Second)}, {ID: shortLease, At: at(4 * time.Second)}, {ID: failed, At: at(20 * time.Second)}}},
		{name: "long_lease_expired_too", t: at(time.Minute), limit: 10,
			want: []store.Due{{ID: pending, At: at(time.Second)}, {ID: shortLease, At: at(4 * time.Second)}, {ID: failed, At: at(20 * time.Second)}, {ID: longLease, At: at(32 * time.Second)}}},
		{name: "limit", t: at(time.Minute), limit: 2,
			want: []store.Due{{ID: pending, At: at(time.Second)}, {ID: shortLease, At: at(4 * time.Second)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DueBefore(ctx, tt.t, tt.limit)
			if err != nil {
				t.Fatalf("DueBefore: %v", err)
			}
			for i := range got {
				if got[i].TenantID == "" {
					t.Errorf("%s has no tenant", got[i].ID)
				}
				got[i].TenantID, got[i].ConfigID = "", "" // compared: id and time
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DueBefore(%v, %d) =\n %v\nwant\n %v", tt.t, tt.limit, got, tt.want)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", dueAt(time.Second), dueAt(time.Second))
	id, done := ds[0].ID, ds[1].ID
	mustClaim(t, s, done, at(time.Second), time.Second)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: done, Number: 1}, Status: store.StatusSucceeded})

	const lease = 10 * time.Second
	// Steps run in order on one delivery.
	steps := []struct {
		name         string
		id           string
		now          time.Time
		wantErr      error
		wantAttempts int
	}{
		{name: "not_yet_due", id: id, now: at(time.Second - time.Millisecond), wantErr: store.ErrNotFound},
		{name: "due", id: id, now: at(time.Second), wantAttempts: 1},
		{name: "second_claim_same_time", id: id, now: at(time.Second), wantErr: store.ErrNotFound},
		{name: "lease_not_yet_expired", id: id, now: at(time.Second + lease - time.Millisecond), wantErr: store.ErrNotFound},
		{name: "lease_expired", id: id, now: at(time.Second + lease), wantAttempts: 2},
		{name: "claimed_again_by_the_new_holder_only", id: id, now: at(time.Second + lease + time.Second), wantErr: store.ErrNotFound},
		{name: "much_later_after_second_lease", id: id, now: at(time.Hour), wantAttempts: 3},
		{name: "succeeded_is_never_claimable", id: done, now: at(time.Hour), wantErr: store.ErrNotFound},
		{name: "unknown_delivery", id: "dlv_nope", now: at(time.Hour), wantErr: store.ErrNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			d, err := s.Claim(t.Context(), st.id, st.now, lease)
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("Claim = %+v, %v; want %v", d, err, st.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			want := mustGet(t, s, st.id)
			if d.ID != st.id || d.Status != store.StatusInflight || d.Attempts != st.wantAttempts ||
				!d.LeaseUntil.Equal(st.now.Add(lease)) || !d.UpdatedAt.Equal(st.now) {
				t.Errorf("Claim returned %+v, want inflight, attempt %d, lease until %v", d, st.wantAttempts, st.now.Add(lease))
			}
			if !reflect.DeepEqual(d, want) {
				t.Errorf("Claim returned\n %+v\nbut the store has\n %+v", d, want)
			}
		})
	}
}

func TestClaim_concurrent_claims_one_wins(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", dueAt(0))
	const claimers = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for range claimers {
		wg.Go(func() {
			_, err := s.Claim(t.Context(), ds[0].ID, at(time.Second), time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrNotFound):
				lost++
			default:
				t.Errorf("Claim: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != claimers-1 {
		t.Errorf("%d claims won and %d lost, want 1 and %d", won, lost, claimers-1)
	}
	if d := mustGet(t, s, ds[0].ID); d.Attempts != 1 {
		t.Errorf("Attempts after racing claims = %d, want 1", d.Attempts)
	}
}

func TestComplete(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", dueAt(time.Second))
	id := ds[0].ID
	const lease = 10 * time.Second

	first := mustClaim(t, s, id, at(time.Second), lease)
	// The first sender stalls; its lease runs out and a second takes over.
	second := mustClaim(t, s, id, at(time.Second+lease), lease)
	if first.Attempts != 1 || second.Attempts != 2 {
		t.Fatalf("attempt numbers %d and %d, want 1 and 2", first.Attempts, second.Attempts)
	}
	a2 := store.Attempt{
		DeliveryID: id, Number: second.Attempts, StartedAt: at(11 * time.Second), Outcome: "retryable",
		StatusCode: 503, Latency: 1234 * time.Millisecond, Response: "busy", Error: "503 Service Unavailable",
	}
	a3 := store.Attempt{
		DeliveryID: id, Number: 3, StartedAt: at(30 * time.Second), Outcome: "delivered",
		StatusCode: 200, Latency: 5 * time.Millisecond, Response: "ok",
	}

	steps := []struct {
		name    string
		claimAt time.Time // claim before completing, when set
		c       store.Completion
		wantErr error
		want    func(d store.Delivery) bool
	}{
		{
			name:    "stale_attempt_refused",
			c:       store.Completion{Attempt: store.Attempt{DeliveryID: id, Number: 1, Outcome: "delivered"}, Status: store.StatusSucceeded},
			wantErr: store.ErrConflict,
			want:    func(d store.Delivery) bool { return d.Status == store.StatusInflight && d.Attempts == 2 },
		},
		{
			name: "current_attempt_fails_with_retry",
			c:    store.Completion{Attempt: a2, Status: store.StatusFailed, NextAttemptAt: at(30 * time.Second), LastError: "503"},
			want: func(d store.Delivery) bool {
				return d.Status == store.StatusFailed && d.NextAttemptAt.Equal(at(30*time.Second)) &&
					d.LeaseUntil.IsZero() && d.LastError == "503" && d.Attempts == 2
			},
		},
		{
			name:    "completing_twice_refused",
			c:       store.Completion{Attempt: a2, Status: store.StatusSucceeded},
			wantErr: store.ErrConflict,
			want:    func(d store.Delivery) bool { return d.Status == store.StatusFailed },
		},
		{
			name:    "future_attempt_number_refused",
			claimAt: at(30 * time.Second),
			c:       store.Completion{Attempt: store.Attempt{DeliveryID: id, Number: 4}, Status: store.StatusSucceeded},
			wantErr: store.ErrConflict,
			want:    func(d store.Delivery) bool { return d.Status == store.StatusInflight && d.Attempts == 3 },
		},
		{
			name: "third_attempt_succeeds",
			c:    store.Completion{Attempt: a3, Status: store.StatusSucceeded},
			want: func(d store.Delivery) bool {
				return d.Status == store.StatusSucceeded && d.LeaseUntil.IsZero() && d.NextAttemptAt.IsZero() && d.Attempts == 3
			},
		},
		{
			name:    "unknown_delivery",
			c:       store.Completion{Attempt: store.Attempt{DeliveryID: "dlv_nope", Number: 1}, Status: store.StatusSucceeded},
			wantErr: store.ErrConflict,
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if !st.claimAt.IsZero() {
				mustClaim(t, s, id, st.claimAt, lease)
			}
			err := s.Complete(ctx, st.c)
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("Complete = %v, want %v", err, st.wantErr)
			}
			if st.want != nil {
				if d := mustGet(t, s, id); !st.want(d) {
					t.Errorf("delivery after Complete: %+v", d)
				}
			}
		})
	}

	t.Run("attempts_in_order", func(t *testing.T) {
		got, err := s.ListAttempts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// Refused completions left no record.
		want := []store.Attempt{a2, a3}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ListAttempts =\n %+v\nwant\n %+v", got, want)
		}
		if none, err := s.ListAttempts(ctx, "dlv_nope"); err != nil || len(none) != 0 {
			t.Errorf("ListAttempts(unknown) = %v, %v; want none", none, err)
		}
	})
}

func TestReleaseLeases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", dueAt(0), dueAt(0), dueAt(0), dueAt(time.Hour))
	held, alsoHeld, done, pending := ds[0].ID, ds[1].ID, ds[2].ID, ds[3].ID
	mustClaim(t, s, held, at(time.Second), time.Hour)
	mustClaim(t, s, alsoHeld, at(time.Second), 2*time.Hour)
	mustClaim(t, s, done, at(time.Second), time.Hour)
	mustComplete(t, s, store.Completion{Attempt: store.Attempt{DeliveryID: done, Number: 1}, Status: store.StatusSucceeded})

	n, err := s.ReleaseLeases(ctx)
	if err != nil {
		t.Fatalf("ReleaseLeases: %v", err)
	}
	if n != 2 {
		t.Errorf("ReleaseLeases released %d, want 2", n)
	}
	// Both are due at once, long before their leases would have run out,
	// and can be claimed for a next attempt.
	due, err := s.DueBefore(ctx, at(2*time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	var dueIDs []string
	for _, d := range due {
		dueIDs = append(dueIDs, d.ID)
	}
	slices.Sort(dueIDs)
	if want := slices.Sorted(slices.Values([]string{held, alsoHeld})); !slices.Equal(dueIDs, want) {
		t.Errorf("DueBefore after ReleaseLeases = %v, want %v", dueIDs, want)
	}
	for _, id := range []string{held, alsoHeld} {
		if d := mustClaim(t, s, id, at(2*time.Second), time.Minute); d.Attempts != 2 {
			t.Errorf("claim of %s after ReleaseLeases: attempt %d, want 2", id, d.Attempts)
		}
	}
	untouched := []struct {
		id           string
		status       store.Status
		wantAttempts int
	}{
		{done, store.StatusSucceeded, 1},
		{pending, store.StatusPending, 0},
	}
	for _, u := range untouched {
		if d := mustGet(t, s, u.id); d.Status != u.status || d.Attempts != u.wantAttempts {
			t.Errorf("ReleaseLeases touched %s: %+v", u.id, d)
		}
	}
	if n, err := s.ReleaseLeases(ctx); err != nil || n != 2 {
		// The two claimed just now are in flight again.
		t.Errorf("second ReleaseLeases = %d, %v; want 2", n, err)
	}
}

// TestReclaim: a delivery stored already claimed has its lease renewed only
// while it is still held under the lease its holder knows.
func TestReclaim(t *testing.T) {
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	held := dueAt(0)
	held.LeaseUntil = at(30 * time.Second)
	_, ds := mustInsert(t, s, "acme", held, dueAt(0))
	preclaimed, pending := ds[0], ds[1]
	if preclaimed.Status != store.StatusInflight || preclaimed.Attempts != 1 {
		t.Fatalf("stored %s with %d attempts, want inflight with 1", preclaimed.Status, preclaimed.Attempts)
	}
	tests := []struct {
		name      string
		id        string
		heldUntil time.Time
		wantErr   error
	}{
		{name: "another_lease", id: preclaimed.ID, heldUntil: at(31 * time.Second), wantErr: store.ErrNotFound},
		{name: "not_held", id: pending.ID, heldUntil: time.UnixMilli(0), wantErr: store.ErrNotFound},
		{name: "held_under_its_lease", id: preclaimed.ID, heldUntil: at(30 * time.Second)},
		{name: "the_old_lease_again", id: preclaimed.ID, heldUntil: at(30 * time.Second), wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := s.Reclaim(ctx, tt.id, tt.heldUntil, at(40*time.Second), time.Minute)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Reclaim = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (!d.LeaseUntil.Equal(at(100*time.Second)) || d.Attempts != 1 || d.Status != store.StatusInflight) {
				t.Errorf("reclaimed %+v, want held until +100s, still attempt 1", d)
			}
		})
	}
}

// TestTakeDue: a delivery taken for an attempt without a claim written
// stays waiting in the store until its attempt is recorded, and the
// attempt is recorded once.
func TestTakeDue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", webhook("https://a.example.com"), webhook("https://b.example.com"))
	now := time.Now().Add(time.Second)

	d, err := s.TakeDue(ctx, ds[0].ID, now)
	if err != nil {
		t.Fatalf("TakeDue: %v", err)
	}
	if d.Status != store.StatusInflight || d.Attempts != 1 || d.ID != ds[0].ID {
		t.Errorf("taken delivery %+v, want in flight, attempt 1", d)
	}
	if got := mustGet(t, s, d.ID); got.Status != store.StatusPending || got.Attempts != 0 {
		t.Errorf("in the store while taken: %s, %d attempts; want pending, 0", got.Status, got.Attempts)
	}
	fail := store.Completion{
		Attempt: store.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: now, Outcome: "retryable", StatusCode: 503},
		Status:  store.StatusFailed, NextAttemptAt: now.Add(time.Minute), LastError: "503", Unclaimed: true,
	}
	if err := s.Complete(ctx, fail); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := s.Complete(ctx, fail); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the same attempt recorded twice: %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, d.ID); got.Status != store.StatusFailed || got.Attempts != 1 {
		t.Errorf("after the attempt: %s, %d attempts; want failed, 1", got.Status, got.Attempts)
	}
	if _, err := s.TakeDue(ctx, d.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeDue before the retry is due: %v, want ErrNotFound", err)
	}
	d, err = s.TakeDue(ctx, d.ID, now.Add(2*time.Minute))
	if err != nil || d.Attempts != 2 {
		t.Fatalf("TakeDue of the retry: %+v, %v", d, err)
	}
	if err := s.Complete(ctx, store.Completion{
		Attempt: store.Attempt{DeliveryID: d.ID, Number: 2, StartedAt: now, Outcome: "delivered", StatusCode: 200},
		Status:  store.StatusSucceeded, Unclaimed: true,
	}); err != nil {
		t.Fatalf("Complete the retry: %v", err)
	}
	if got := mustGet(t, s, d.ID); got.Status != store.StatusSucceeded || got.Attempts != 2 {
		t.Errorf("after the retry: %s, %d attempts; want succeeded, 2", got.Status, got.Attempts)
	}
	if _, err := s.TakeDue(ctx, d.ID, now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeDue of a delivered one: %v, want ErrNotFound", err)
	}
	// One claimed in the store is not taken from under its claim.
	if _, err := s.Claim(ctx, ds[1].ID, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeDue(ctx, ds[1].ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TakeDue of a claimed one: %v, want ErrNotFound", err)
	}
}
