package store_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

func TestInsertMessage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	db := rawDB(t, path)

	before := time.Now()
	m, ds, existed, err := s.InsertMessage(ctx, store.Message{
		TenantID: "acme", Rule: "orders", Content: "order 42 shipped",
		Properties: []byte(`{"orderId":42}`), RequestID: "req_1",
	}, []store.Delivery{
		{Channel: "webhook", Destination: "https://a.example.com", Status: store.StatusDead},
		{Channel: "email", Destination: "ops@example.com", Method: "SEND", Rule: "ignored", TenantID: "ignored"},
	})
	after := time.Now()
	if err != nil {
		t.Fatalf("InsertMessage: %v", err)
	}
	if existed {
		t.Error("InsertMessage: existed = true for a new message")
	}
	if !strings.HasPrefix(m.ID, "msg_") || m.CreatedAt.Before(ms(before)) || m.CreatedAt.After(after) {
		t.Errorf("InsertMessage returned message %+v", m)
	}
	if len(ds) != 2 {
		t.Fatalf("InsertMessage returned %d deliveries, want 2", len(ds))
	}
	for _, d := range ds {
		// The store fills in what ties a delivery to its message and starts
		// it pending, due now, whatever the caller put there.
		if !strings.HasPrefix(d.ID, "dlv_") || d.MessageID != m.ID || d.TenantID != "acme" || d.Rule != "orders" ||
			d.Status != store.StatusPending || d.NextAttemptAt.IsZero() || d.CreatedAt.IsZero() {
			t.Errorf("returned delivery %+v does not belong to message %s", d, m.ID)
		}
		got := mustGet(t, s, d.ID)
		if got.MessageID != m.ID || got.Status != store.StatusPending || got.Method != d.Method ||
			got.Rule != "orders" || got.TenantID != "acme" {
			t.Errorf("stored delivery %+v, want %+v", got, d)
		}
	}
	if ds[0].Method != "POST" {
		t.Errorf("default method = %q, want POST", ds[0].Method)
	}
	if ds[1].Method != "SEND" {
		t.Errorf("method = %q, want SEND kept", ds[1].Method)
	}

	gotMsg, err := s.GetMessage(ctx, "acme", m.ID)
	if err != nil {
		t.Fatalf("GetMessage: %v", err)
	}
	wantMsg := m
	wantMsg.CreatedAt = ms(m.CreatedAt)
	if !reflect.DeepEqual(gotMsg, wantMsg) {
		t.Errorf("GetMessage = %+v, want %+v", gotMsg, wantMsg)
	}
	if _, err := s.GetMessage(ctx, "globex", m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMessage by another tenant = %v, want ErrNotFound", err)
	}
	if _, err := s.GetDelivery(ctx, "globex", ds[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDelivery by another tenant = %v, want ErrNotFound", err)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM deliveries WHERE message_id = ?`, m.ID); n != 2 {
		t.Errorf("deliveries on disk for %s = %d, want 2", m.ID, n)
	}
}

// TestInsertMessage_all_or_nothing makes the second delivery fail: the
// message and the first delivery must not be committed without it.
func TestInsertMessage_all_or_nothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	db := rawDB(t, path)
	_, taken := mustInsert(t, s, "acme", webhook("https://a.example.com"))

	tests := []struct {
		name string
		ds   []store.Delivery
	}{
		{name: "duplicate_id_within_message", ds: []store.Delivery{
			{ID: "dlv_same", Channel: "webhook", Destination: "https://a"},
			{ID: "dlv_same", Channel: "webhook", Destination: "https://b"},
		}},
		{name: "id_of_an_earlier_delivery", ds: []store.Delivery{
			{Channel: "webhook", Destination: "https://a"},
			{ID: taken[0].ID, Channel: "webhook", Destination: "https://b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := count(t, db, `SELECT COUNT(*) FROM messages`)
			dlvs := count(t, db, `SELECT COUNT(*) FROM deliveries`)
			m, _, _, err := s.InsertMessage(ctx, store.Message{ID: "msg_" + tt.name, TenantID: "acme", IdempotencyKey: tt.name}, tt.ds)
			if err == nil {
				t.Fatalf("InsertMessage succeeded with %+v", m)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != msgs {
				t.Errorf("messages went from %d to %d after a failed insert", msgs, n)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM deliveries`); n != dlvs {
				t.Errorf("deliveries went from %d to %d after a failed insert", dlvs, n)
			}
			if _, err := s.GetMessage(ctx, "acme", "msg_"+tt.name); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetMessage after a failed insert = %v, want ErrNotFound", err)
			}
			// The idempotency key was not used up by the failure.
			_, _, existed, err := s.InsertMessage(ctx, store.Message{TenantID: "acme", IdempotencyKey: tt.name},
				[]store.Delivery{webhook("https://ok")})
			if err != nil || existed {
				t.Errorf("retrying with the same key = existed %v, %v; want a new message", existed, err)
			}
		})
	}
}

func TestInsertMessage_idempotency_key(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	db := rawDB(t, path)

	first, firstDs, existed, err := s.InsertMessage(ctx,
		store.Message{TenantID: "acme", Rule: "orders", Content: "first", RequestID: "req_1", IdempotencyKey: "key-1"},
		[]store.Delivery{webhook("https://a.example.com"), webhook("https://b.example.com")})
	if err != nil || existed {
		t.Fatalf("first InsertMessage = existed %v, %v", existed, err)
	}
	msgs, dlvs := count(t, db, `SELECT COUNT(*) FROM messages`), count(t, db, `SELECT COUNT(*) FROM deliveries`)

	t.Run("same_tenant_same_key", func(t *testing.T) {
		m, ds, existed, err := s.InsertMessage(ctx,
			store.Message{TenantID: "acme", Rule: "orders", Content: "second", RequestID: "req_2", IdempotencyKey: "key-1"},
			[]store.Delivery{webhook("https://c.example.com"), webhook("https://d.example.com"), webhook("https://e.example.com")})
		if err != nil {
			t.Fatalf("InsertMessage with a used key: %v", err)
		}
		if !existed {
			t.Error("existed = false for a used idempotency key")
		}
		if m.ID != first.ID || m.Content != "first" || m.RequestID != "req_1" || m.IdempotencyKey != "key-1" {
			t.Errorf("InsertMessage with a used key returned %+v, want the first message %+v", m, first)
		}
		if got, want := deliveryIDs(ds), deliveryIDs(firstDs); !slices.Equal(got, want) {
			t.Errorf("delivery ids = %v, want the first message's %v", got, want)
		}
		for _, d := range ds {
			if d.MessageID != first.ID || !strings.HasPrefix(d.Destination, "https://a") && !strings.HasPrefix(d.Destination, "https://b") {
				t.Errorf("returned delivery %+v is not one of the first message's", d)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != msgs {
			t.Errorf("messages went from %d to %d on a repeated key", msgs, n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM deliveries`); n != dlvs {
			t.Errorf("deliveries went from %d to %d on a repeated key", dlvs, n)
		}
	})

	t.Run("other_tenant_same_key", func(t *testing.T) {
		m, _, existed, err := s.InsertMessage(ctx, store.Message{TenantID: "globex", IdempotencyKey: "key-1"},
			[]store.Delivery{webhook("https://g.example.com")})
		if err != nil || existed || m.ID == first.ID {
			t.Fatalf("InsertMessage for another tenant with the same key = %+v, existed %v, %v; want a new message", m, existed, err)
		}
		// And it is idempotent in its own right.
		again, _, existed, err := s.InsertMessage(ctx, store.Message{TenantID: "globex", IdempotencyKey: "key-1"}, nil)
		if err != nil || !existed || again.ID != m.ID {
			t.Errorf("repeating globex's key = %+v, existed %v, %v; want %s", again, existed, err, m.ID)
		}
	})

	t.Run("no_key_never_deduplicates", func(t *testing.T) {
		a, _ := mustInsert(t, s, "acme", webhook("https://a"))
		b, _ := mustInsert(t, s, "acme", webhook("https://a"))
		if a.ID == b.ID {
			t.Errorf("two messages without a key share id %s", a.ID)
		}
		if got, err := s.GetMessage(ctx, "acme", a.ID); err != nil || got.IdempotencyKey != "" {
			t.Errorf("GetMessage of a message without key = %+v, %v", got, err)
		}
	})

	t.Run("concurrent_same_key", func(t *testing.T) {
		const n = 32
		var wg sync.WaitGroup
		ids := make([]string, n)
		fresh := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				m, _, existed, err := s.InsertMessage(ctx,
					store.Message{TenantID: "initech", Content: fmt.Sprint(i), IdempotencyKey: "racy"},
					[]store.Delivery{webhook("https://i.example.com")})
				if err != nil {
					t.Errorf("InsertMessage #%d: %v", i, err)
				}
				ids[i], fresh[i] = m.ID, !existed
			})
		}
		wg.Wait()
		created := 0
		for i := range n {
			if fresh[i] {
				created++
			}
			if ids[i] != ids[0] {
				t.Errorf("racing inserts with one key got message ids %s and %s", ids[0], ids[i])
			}
		}
		if created != 1 {
			t.Errorf("%d of %d racing inserts with one key created a message, want 1", created, n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM deliveries WHERE tenant_id = 'initech'`); n != 1 {
			t.Errorf("racing inserts with one key left %d deliveries, want 1", n)
		}
	})
}

func deliveryIDs(ds []store.Delivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestInsertMessage_round_trip checks every field a rule can set comes back
// from GetDelivery as it went in.
func TestInsertMessage_round_trip(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, store.Options{})
	later := time.Date(2031, 7, 8, 9, 10, 11, 987654321, time.UTC)

	tests := []struct {
		name string
		in   store.Delivery
		want func(d *store.Delivery) // adjusts a copy of in to what must come back
	}{
		{
			name: "everything",
			in: store.Delivery{
				Channel: "webhook", ConfigID: "cfg_1", Destination: "https://example.com/hook", Method: "PUT",
				Headers:       map[string]string{"Content-Type": "application/json", "X-Empty": "", "X-Ünïcode": "✓"},
				Query:         map[string]string{"a": "1", "b c": "d&e=f"},
				Body:          []byte{0, 1, 2, 0xff, '\n', 0},
				Subject:       "Order 42",
				Attachments:   []store.Attachment{{FileName: "invoice.pdf", URL: "https://files.example.com/1"}, {FileName: "b.txt", URL: "https://x/2"}},
				Schedule:      []time.Duration{time.Second, 1500 * time.Millisecond, time.Hour},
				NextAttemptAt: later,
			},
			want: func(d *store.Delivery) { d.NextAttemptAt = ms(later) },
		},
		{
			name: "nothing_optional",
			in:   store.Delivery{Channel: "webhook", Destination: "https://example.com"},
			want: func(d *store.Delivery) {
				d.Method = "POST"
				d.Headers, d.Query = map[string]string{}, map[string]string{}
				d.Attachments = []store.Attachment{}
			},
		},
		{
			name: "empty_schedule_is_not_default",
			in:   store.Delivery{Channel: "webhook", Destination: "https://example.com", Schedule: []time.Duration{}},
			want: func(d *store.Delivery) {
				d.Method = "POST"
				d.Headers, d.Query = map[string]string{}, map[string]string{}
				d.Attachments = []store.Attachment{}
			},
		},
		{
			name: "email",
			in: store.Delivery{
				Channel: "email", Destination: "ops@example.com", Method: "SEND", Subject: "Hi",
				Body: []byte("<p>hello</p>"), Attachments: []store.Attachment{{FileName: "a.csv", URL: "https://f/a.csv"}},
			},
			want: func(d *store.Delivery) { d.Headers, d.Query = map[string]string{}, map[string]string{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ds := mustInsert(t, s, "acme", tt.in)
			got := mustGet(t, s, ds[0].ID)

			want := tt.in
			want.Headers, want.Query = maps.Clone(tt.in.Headers), maps.Clone(tt.in.Query)
			tt.want(&want)
			checks := []struct {
				field     string
				got, want any
			}{
				{"Channel", got.Channel, want.Channel},
				{"ConfigID", got.ConfigID, want.ConfigID},
				{"Destination", got.Destination, want.Destination},
				{"Method", got.Method, want.Method},
				{"Headers", got.Headers, want.Headers},
				{"Query", got.Query, want.Query},
				{"Subject", got.Subject, want.Subject},
				{"Attachments", got.Attachments, want.Attachments},
				{"Schedule", got.Schedule, want.Schedule},
				{"Status", got.Status, store.StatusPending},
				{"Attempts", got.Attempts, 0},
				{"LeaseUntil", got.LeaseUntil, time.Time{}},
				{"LastError", got.LastError, ""},
				{"CreatedAt", got.CreatedAt, ms(ds[0].CreatedAt)},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
				}
			}
			if string(got.Body) != string(want.Body) {
				t.Errorf("Body = %q, want %q", got.Body, want.Body)
			}
			if want.NextAttemptAt.IsZero() {
				want.NextAttemptAt = ms(ds[0].CreatedAt) // due at once
			}
			if !got.NextAttemptAt.Equal(want.NextAttemptAt) {
				t.Errorf("NextAttemptAt = %v, want %v", got.NextAttemptAt, want.NextAttemptAt)
			}
		})
	}
}

func TestInsertMessages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openStore(t, store.Options{})
	db := rawDB(t, path)
	old := mustInsertKeyed(t, s, "acme", "key-old")

	taken := store.NewID("msg")
	batches0, _ := s.Stats()
	got, err := s.InsertMessages(ctx, []store.NewMessage{
		{Message: store.Message{TenantID: "acme", Content: "one", IdempotencyKey: "key-1"}, Deliveries: []store.Delivery{webhook("https://a.example.com")}},
		{Message: store.Message{ID: taken, TenantID: "acme", Content: "two"}, Deliveries: []store.Delivery{webhook("https://b.example.com"), webhook("https://c.example.com")}},
		// The same id again: refused alone, with its delivery.
		{Message: store.Message{ID: taken, TenantID: "acme", Content: "three"}, Deliveries: []store.Delivery{webhook("https://d.example.com")}},
		// key-1 again in the same call, and a key stored before it.
		{Message: store.Message{TenantID: "acme", Content: "four", IdempotencyKey: "key-1"}, Deliveries: []store.Delivery{webhook("https://e.example.com")}},
		{Message: store.Message{TenantID: "acme", Content: "five", IdempotencyKey: "key-old"}, Deliveries: []store.Delivery{webhook("https://f.example.com")}},
	})
	if err != nil {
		t.Fatalf("InsertMessages: %v", err)
	}
	if batches1, _ := s.Stats(); batches1-batches0 != 1 {
		t.Errorf("InsertMessages took %d commits, want 1", batches1-batches0)
	}
	if len(got) != 5 {
		t.Fatalf("InsertMessages returned %d results, want 5", len(got))
	}
	for i, want := range []struct {
		content    string
		deliveries int
		existed    bool
		fails      bool
	}{
		{"one", 1, false, false},
		{"two", 2, false, false},
		{"", 0, false, true},
		{"one", 1, true, false},
		{"", 1, true, false},
	} {
		r := got[i]
		if (r.Err != nil) != want.fails {
			t.Errorf("message %d: error %v, want failure %v", i, r.Err, want.fails)
			continue
		}
		if want.fails {
			continue
		}
		if r.Existed != want.existed || len(r.Deliveries) != want.deliveries || (want.content != "" && r.Message.Content != want.content) {
			t.Errorf("message %d: %+v, want content %q, %d deliveries, existed %v", i, r, want.content, want.deliveries, want.existed)
		}
		for _, d := range r.Deliveries {
			if d.MessageID != r.Message.ID {
				t.Errorf("message %d: delivery %s belongs to %s", i, d.ID, d.MessageID)
			}
		}
	}
	if got[3].Message.ID != got[0].Message.ID {
		t.Errorf("a key repeated in the call answered %s, want the first %s", got[3].Message.ID, got[0].Message.ID)
	}
	if got[4].Message.ID != old.ID {
		t.Errorf("a key stored before answered %s, want %s", got[4].Message.ID, old.ID)
	}
	// On disk: the message before, one, two; three's delivery is not there.
	if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE tenant_id = 'acme'`); n != 3 {
		t.Errorf("messages on disk = %d, want 3", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM deliveries WHERE destination = 'https://d.example.com'`); n != 0 {
		t.Errorf("the refused message's delivery was stored")
	}
	if n := count(t, db, `SELECT COUNT(*) FROM deliveries WHERE tenant_id = 'acme'`); n != 4 {
		t.Errorf("deliveries on disk = %d, want 4", n)
	}
}

func mustInsertKeyed(t testing.TB, s *store.Store, tenant, key string) store.Message {
	t.Helper()
	m, _, _, err := s.InsertMessage(t.Context(), store.Message{TenantID: tenant, Content: "before", IdempotencyKey: key},
		[]store.Delivery{webhook("https://z.example.com")})
	if err != nil {
		t.Fatalf("InsertMessage: %v", err)
	}
	return m
}
