package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// moveTo claims a due delivery and leaves it in status: inflight, or
// completed as succeeded, failed or dead.
func moveTo(t *testing.T, s *store.Store, id string, status store.Status) {
	t.Helper()
	if status == store.StatusPending {
		return
	}
	d := mustClaim(t, s, id, time.Now().Add(time.Hour), time.Hour)
	if status == store.StatusInflight {
		return
	}
	c := store.Completion{Attempt: store.Attempt{DeliveryID: id, Number: d.Attempts, Outcome: "permanent"}, Status: status}
	if status == store.StatusFailed {
		c.NextAttemptAt = time.Now().Add(time.Hour)
	}
	mustComplete(t, s, c)
}

func TestRetryDelivery(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	statuses := []store.Status{store.StatusPending, store.StatusInflight, store.StatusSucceeded, store.StatusFailed, store.StatusDead}
	byStatus := map[store.Status]string{}
	for _, st := range statuses {
		_, ds := mustInsert(t, s, "acme", webhook("https://example.com"))
		moveTo(t, s, ds[0].ID, st)
		byStatus[st] = ds[0].ID
	}
	_, globex := mustInsert(t, s, "globex", webhook("https://example.com"))
	moveTo(t, s, globex[0].ID, store.StatusDead)
	now := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond).UTC()

	tests := []struct {
		name    string
		tenant  string
		id      string
		wantErr error
	}{
		{name: "dead_becomes_pending", tenant: "acme", id: byStatus[store.StatusDead]},
		{name: "failed_is_due_now", tenant: "acme", id: byStatus[store.StatusFailed]},
		{name: "succeeded_is_sent_again", tenant: "acme", id: byStatus[store.StatusSucceeded]},
		{name: "pending_is_due_now", tenant: "acme", id: byStatus[store.StatusPending]},
		{name: "inflight_refused", tenant: "acme", id: byStatus[store.StatusInflight], wantErr: store.ErrConflict},
		{name: "other_tenants_delivery", tenant: "globex", id: byStatus[store.StatusDead], wantErr: store.ErrNotFound},
		{name: "other_tenant_cannot_see_it_either", tenant: "acme", id: globex[0].ID, wantErr: store.ErrNotFound},
		{name: "unknown_delivery", tenant: "acme", id: "dlv_nope", wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.GetDelivery(ctx, "", tt.id) // zero for an unknown id
			d, err := s.RetryDelivery(ctx, tt.tenant, tt.id, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("RetryDelivery = %+v, %v; want %v", d, err, tt.wantErr)
				}
				if after, _ := s.GetDelivery(ctx, "", tt.id); after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("a refused retry changed the delivery from %+v to %+v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("RetryDelivery: %v", err)
			}
			if d.Status != store.StatusPending || !d.NextAttemptAt.Equal(now) || !d.UpdatedAt.Equal(now) || d.Attempts != before.Attempts {
				t.Errorf("RetryDelivery returned %+v, want pending and due at %v with %d attempts", d, now, before.Attempts)
			}
			if got := mustGet(t, s, tt.id); got.Status != store.StatusPending || !got.NextAttemptAt.Equal(now) {
				t.Errorf("stored delivery after retry: %+v", got)
			}
			// It is now claimable for one more attempt.
			if c := mustClaim(t, s, tt.id, now, time.Minute); c.Attempts != before.Attempts+1 {
				t.Errorf("claim after retry: attempt %d, want %d", c.Attempts, before.Attempts+1)
			}
		})
	}
}

// replayFixture is a store with acme's dead deliveries created in four
// different milliseconds, plus deliveries that must not be replayed.
type replayFixture struct {
	s         *store.Store
	dead      []store.Delivery // acme's, oldest first
	succeeded string
	inflight  string
	globex    string // globex's dead delivery
}

func newReplayFixture(t *testing.T) replayFixture {
	t.Helper()
	s, _ := openStore(t, store.Options{})
	f := replayFixture{s: s}
	for range 4 {
		sleepPastMillisecond()
		_, ds := mustInsert(t, s, "acme", webhook("https://example.com"))
		moveTo(t, s, ds[0].ID, store.StatusDead)
		f.dead = append(f.dead, ds[0])
	}
	_, ds := mustInsert(t, s, "acme", webhook("https://example.com"), webhook("https://example.com"))
	moveTo(t, s, ds[0].ID, store.StatusSucceeded)
	moveTo(t, s, ds[1].ID, store.StatusInflight)
	f.succeeded, f.inflight = ds[0].ID, ds[1].ID
	_, ds = mustInsert(t, s, "globex", webhook("https://example.com"))
	moveTo(t, s, ds[0].ID, store.StatusDead)
	f.globex = ds[0].ID
	return f
}

func TestReplayDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		filter  func(f replayFixture) store.ReplayFilter
		want    func(f replayFixture) []string
		wantErr error
	}{
		{
			name: "all_dead",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusDead, Limit: 100}
			},
			want: func(f replayFixture) []string { return deliveryIDs(f.dead) },
		},
		{
			name: "limit_takes_oldest",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusDead, Limit: 2}
			},
			want: func(f replayFixture) []string { return deliveryIDs(f.dead[:2]) },
		},
		{
			name: "since_is_inclusive",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusDead, Since: f.dead[2].CreatedAt, Limit: 100}
			},
			want: func(f replayFixture) []string { return deliveryIDs(f.dead[2:]) },
		},
		{
			name: "until_is_exclusive",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusDead, Until: f.dead[2].CreatedAt, Limit: 100}
			},
			want: func(f replayFixture) []string { return deliveryIDs(f.dead[:2]) },
		},
		{
			name: "time_range_and_limit",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusDead, Since: f.dead[1].CreatedAt, Until: f.dead[3].CreatedAt.Add(time.Millisecond), Limit: 2}
			},
			want: func(f replayFixture) []string { return deliveryIDs(f.dead[1:3]) },
		},
		{
			name: "succeeded",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusSucceeded, Limit: 100}
			},
			want: func(f replayFixture) []string { return []string{f.succeeded} },
		},
		{
			name: "other_tenant",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "globex", Status: store.StatusDead, Limit: 100}
			},
			want: func(f replayFixture) []string { return []string{f.globex} },
		},
		{
			name: "unknown_tenant",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "nobody", Status: store.StatusDead, Limit: 100}
			},
			want: func(f replayFixture) []string { return nil },
		},
		{
			name: "no_match",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusFailed, Limit: 100}
			},
			want: func(f replayFixture) []string { return nil },
		},
		{
			name: "inflight_refused",
			filter: func(f replayFixture) store.ReplayFilter {
				return store.ReplayFilter{TenantID: "acme", Status: store.StatusInflight, Limit: 100}
			},
			wantErr: store.ErrConflict,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newReplayFixture(t)
			ctx := t.Context()
			statusBefore := map[string]store.Status{}
			for _, id := range f.allIDs() {
				statusBefore[id] = mustGet(t, f.s, id).Status
			}
			now := time.Now().Add(3 * time.Hour).Truncate(time.Millisecond).UTC()
			got, err := f.s.ReplayDeliveries(ctx, tt.filter(f), now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReplayDeliveries = %v, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReplayDeliveries: %v", err)
			}
			slices.Sort(got)
			want := tt.want(f)
			if !slices.Equal(got, want) {
				t.Errorf("ReplayDeliveries replayed %v, want %v", got, want)
			}
			for _, id := range f.allIDs() {
				d := mustGet(t, f.s, id)
				if slices.Contains(want, id) {
					if d.Status != store.StatusPending || !d.NextAttemptAt.Equal(now) {
						t.Errorf("replayed %s is %s due %v, want pending due %v", id, d.Status, d.NextAttemptAt, now)
					}
				} else if d.Status != statusBefore[id] {
					t.Errorf("%s went from %s to %s without being replayed", id, statusBefore[id], d.Status)
				}
			}
		})
	}
}

func (f replayFixture) allIDs() []string {
	ids := []string{f.succeeded, f.inflight, f.globex}
	for _, d := range f.dead {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestListDeliveries(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})

	// One message with three deliveries, then ten with one each, each in
	// a later millisecond so that ids (and so the order) follow time.
	multi, multiDs := mustInsert(t, s, "acme", webhook("https://a"), webhook("https://b"), webhook("https://c"))
	moveTo(t, s, multiDs[1].ID, store.StatusDead)
	var singles []string // newest first
	for range 10 {
		sleepPastMillisecond()
		_, ds := mustInsert(t, s, "acme", webhook("https://example.com"))
		singles = slices.Insert(singles, 0, ds[0].ID)
	}
	moveTo(t, s, singles[0], store.StatusDead)
	_, globex := mustInsert(t, s, "globex", webhook("https://example.com"))
	multiNewestFirst := deliveryIDs(multiDs)
	slices.Reverse(multiNewestFirst)
	all := append(slices.Clone(singles), multiNewestFirst...)

	tests := []struct {
		name   string
		filter store.DeliveryFilter
		want   []string
	}{
		{name: "tenant_newest_first", filter: store.DeliveryFilter{TenantID: "acme"}, want: all},
		{name: "limit", filter: store.DeliveryFilter{TenantID: "acme", Limit: 4}, want: all[:4]},
		{name: "status", filter: store.DeliveryFilter{TenantID: "acme", Status: store.StatusDead}, want: []string{singles[0], multiDs[1].ID}},
		{name: "message", filter: store.DeliveryFilter{TenantID: "acme", MessageID: multi.ID}, want: all[10:]},
		{name: "message_and_status", filter: store.DeliveryFilter{TenantID: "acme", MessageID: multi.ID, Status: store.StatusPending}, want: deleteID(all[10:], multiDs[1].ID)},
		{name: "before_id", filter: store.DeliveryFilter{TenantID: "acme", BeforeID: singles[5], Limit: 3}, want: all[6:9]},
		{name: "other_tenant", filter: store.DeliveryFilter{TenantID: "globex"}, want: []string{globex[0].ID}},
		{name: "other_tenants_message", filter: store.DeliveryFilter{TenantID: "globex", MessageID: multi.ID}},
		{name: "unknown_tenant", filter: store.DeliveryFilter{TenantID: "nobody"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := s.ListDeliveries(ctx, tt.filter)
			if err != nil {
				t.Fatalf("ListDeliveries: %v", err)
			}
			got := ids(ds)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListDeliveries(%+v) =\n %v\nwant\n %v", tt.filter, got, tt.want)
			}
			for _, d := range ds {
				if d.TenantID != tt.filter.TenantID {
					t.Errorf("ListDeliveries for %q returned %s of %q", tt.filter.TenantID, d.ID, d.TenantID)
				}
			}
		})
	}

	t.Run("paging_visits_each_once", func(t *testing.T) {
		var got []string
		f := store.DeliveryFilter{TenantID: "acme", Limit: 3}
		for page := 0; ; page++ {
			if page > len(all) {
				t.Fatal("paging does not end")
			}
			ds, err := s.ListDeliveries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			if len(ds) > f.Limit {
				t.Fatalf("page of %d, limit %d", len(ds), f.Limit)
			}
			got = append(got, ids(ds)...)
			f.BeforeID = ds[len(ds)-1].ID
		}
		if !slices.Equal(got, all) {
			t.Errorf("pages gave\n %v\nwant\n %v", got, all)
		}
	})

	t.Run("default_limit", func(t *testing.T) {
		s, _ := openStore(t, store.Options{})
		many := make([]store.Delivery, 60)
		for i := range many {
			many[i] = webhook(fmt.Sprintf("https://example.com/%d", i))
		}
		mustInsert(t, s, "acme", many...)
		ds, err := s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 50 {
			t.Errorf("ListDeliveries without limit returned %d, want the default 50", len(ds))
		}
	})
}

func ids(ds []store.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func deleteID(ids []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == id })
}

func TestReceipts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", webhook("https://example.com"),
		store.Delivery{Channel: "sms", Destination: "+15550100"})
	hook, sms := ds[0].ID, ds[1].ID

	tests := []struct {
		name    string
		tenant  string
		r       store.Receipt
		wantErr error
	}{
		{name: "own_delivery_matching_channel", tenant: "acme", r: store.Receipt{DeliveryID: sms, ChannelID: "sms", Status: "DELIVRD", Detail: "id:1"}},
		{name: "wrong_channel", tenant: "acme", r: store.Receipt{DeliveryID: sms, ChannelID: "webhook", Status: "DELIVRD"}, wantErr: store.ErrNotFound},
		{name: "other_tenant", tenant: "globex", r: store.Receipt{DeliveryID: sms, ChannelID: "sms", Status: "DELIVRD"}, wantErr: store.ErrNotFound},
		{name: "unknown_delivery", tenant: "acme", r: store.Receipt{DeliveryID: "dlv_nope", ChannelID: "sms"}, wantErr: store.ErrNotFound},
		{name: "webhook_receipt", tenant: "acme", r: store.Receipt{DeliveryID: hook, ChannelID: "webhook", Status: "read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := s.ListReceipts(ctx, tt.r.DeliveryID)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.AddReceipt(ctx, tt.tenant, tt.r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AddReceipt(%q, %+v) = %+v, %v; want %v", tt.tenant, tt.r, r, err, tt.wantErr)
			}
			after, err := s.ListReceipts(ctx, tt.r.DeliveryID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil {
				if len(after) != len(before) {
					t.Errorf("a refused receipt was recorded: %+v", after)
				}
				return
			}
			if !strings.HasPrefix(r.ID, "rcp_") || r.ReceivedAt.IsZero() {
				t.Errorf("AddReceipt returned %+v", r)
			}
			want := r
			want.ReceivedAt = ms(r.ReceivedAt)
			if len(after) != len(before)+1 || after[len(after)-1] != want {
				t.Errorf("ListReceipts after AddReceipt = %+v, want it to end with %+v", after, want)
			}
		})
	}

	t.Run("in_order_of_arrival", func(t *testing.T) {
		var want []string
		for i := range 5 {
			sleepPastMillisecond()
			r, err := s.AddReceipt(ctx, "acme", store.Receipt{DeliveryID: hook, ChannelID: "webhook", Status: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r.ID)
		}
		rs, err := s.ListReceipts(ctx, hook)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs[len(rs)-5:] {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListReceipts order = %v, want %v", got, want)
		}
	})
}

// TestReceipts_same_millisecond_keep_arrival_order adds receipts faster than
// the clock ticks: ListReceipts promises the order they came in, which their
// received_at alone cannot tell apart.
func TestReceipts_same_millisecond_keep_arrival_order(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openStore(t, store.Options{})
	_, ds := mustInsert(t, s, "acme", webhook("https://example.com"))
	var want []string
	for i := range 20 {
		r, err := s.AddReceipt(ctx, "acme", store.Receipt{DeliveryID: ds[0].ID, ChannelID: "webhook", Status: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r.ID)
	}
	rs, err := s.ListReceipts(ctx, ds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Status)
	}
	if !slices.Equal(receiptIDs(rs), want) {
		t.Errorf("ListReceipts gave statuses in order %v, want 0..19 in the order they were added", got)
	}
}

func receiptIDs(rs []store.Receipt) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
