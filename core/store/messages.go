package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Message is one accepted callback as its business system sent it.
type Message struct {
	ID       string
	TenantID string
	Rule     string
	Content  string
	// Properties is the callback's properties as JSON, kept for replays and
	// for rules that look at them.
	Properties     []byte
	RequestID      string
	IdempotencyKey string
	CreatedAt      time.Time
}

// InsertMessage stores a message and its deliveries in one transaction and
// returns once it is committed. When the message carries an idempotency key
// the tenant already used, nothing is written and the first message and its
// deliveries are returned with existed set.
//
// A delivery with LeaseUntil set is stored already claimed for its first
// attempt (in flight, attempt 1, held until then): the dispatcher takes it
// from memory and sends it without a write of its own to claim it.
func (s *Store) InsertMessage(ctx context.Context, m Message, ds []Delivery) (Message, []Delivery, bool, error) {
	nm := newMessage(m, ds, time.Now().UTC())
	var ins Inserted
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		ins, err = insertMessage(ctx, tx, nm)
		return err
	})
	if err != nil {
		return Message{}, nil, false, fmt.Errorf("store message: %w", err)
	}
	return ins.Message, ins.Deliveries, ins.Existed, nil
}

// NewMessage is one message of InsertMessages with its deliveries.
type NewMessage struct {
	Message    Message
	Deliveries []Delivery
}

// Inserted is what InsertMessages made of one message: the message and
// deliveries stored (the first ones when Existed), or Err.
type Inserted struct {
	Message    Message
	Deliveries []Delivery
	Existed    bool
	Err        error
}

// InsertMessages stores many messages, each as InsertMessage would, in one
// transaction, and returns once it is committed. Each message stands alone:
// one that fails (its Err) leaves nothing behind and keeps no other from
// being stored. A message whose idempotency key an earlier one of the same
// call used is answered with that one, as a duplicate. The error is for
// the transaction as a whole, when nothing was stored.
func (s *Store) InsertMessages(ctx context.Context, ms []NewMessage) ([]Inserted, error) {
	now := time.Now().UTC()
	prepared := make([]NewMessage, len(ms))
	for i, nm := range ms {
		prepared[i] = newMessage(nm.Message, nm.Deliveries, now)
	}
	out := make([]Inserted, len(ms))
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		// First all at once: a message fails only on a broken store, and a
		// savepoint for each costs two statements more per message.
		if err := runInSavepoint(ctx, tx, func(ctx context.Context, tx *txn) error {
			for i, nm := range prepared {
				var err error
				if out[i], err = insertMessage(ctx, tx, nm); err != nil {
					return err
				}
			}
			return nil
		}); err == nil || errors.Is(err, errTxLost) {
			return err
		}
		// One failed and took the others back with it: again, each on its
		// own, so that it fails alone.
		for i, nm := range prepared {
			// Each message in a savepoint of its own, inside the write's.
			err := runInSavepoint(ctx, tx, func(ctx context.Context, tx *txn) error {
				var err error
				out[i], err = insertMessage(ctx, tx, nm)
				return err
			})
			if errors.Is(err, errTxLost) {
				return err
			}
			if err != nil {
				out[i] = Inserted{Err: fmt.Errorf("store message %d: %w", i, err)}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store messages: %w", err)
	}
	return out, nil
}

// newMessage gives a message and its deliveries their ids, times and first
// state, on a copy of ds.
func newMessage(m Message, ds []Delivery, now time.Time) NewMessage {
	if m.ID == "" {
		m.ID = NewID("msg")
	}
	m.CreatedAt = now
	ds = slices.Clone(ds) // the caller's slice stays as it was
	for i := range ds {
		d := &ds[i]
		if d.ID == "" {
			d.ID = NewID("dlv")
		}
		d.MessageID, d.TenantID, d.Rule = m.ID, m.TenantID, m.Rule
		d.Status, d.Attempts = StatusPending, 0
		if !d.LeaseUntil.IsZero() {
			d.Status, d.Attempts = StatusInflight, 1
		}
		if d.Method == "" {
			d.Method = "POST"
		}
		if d.NextAttemptAt.IsZero() {
			d.NextAttemptAt = now
		}
		d.CreatedAt, d.UpdatedAt = now, now
	}
	return NewMessage{Message: m, Deliveries: ds}
}

// insertMessage stores nm in tx, or finds the first message with its
// idempotency key.
func insertMessage(ctx context.Context, tx *txn, nm NewMessage) (Inserted, error) {
	m := nm.Message
	if m.IdempotencyKey != "" {
		first, firstDs, err := messageByIdempotencyKey(ctx, tx, m.TenantID, m.IdempotencyKey)
		if err == nil {
			return Inserted{Message: first, Deliveries: firstDs, Existed: true}, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Inserted{}, err
		}
	}
	var idem any
	if m.IdempotencyKey != "" {
		idem = m.IdempotencyKey
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO messages (id, tenant_id, rule, content, properties, request_id, idempotency_key, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.TenantID, m.Rule, m.Content, string(m.Properties), m.RequestID, idem, millis(m.CreatedAt)); err != nil {
		return Inserted{}, fmt.Errorf("insert message: %w", err)
	}
	for i := range nm.Deliveries {
		args, err := deliveryArgs(&nm.Deliveries[i])
		if err != nil {
			return Inserted{}, err
		}
		if _, err := tx.ExecContext(ctx, insertDelivery, args...); err != nil {
			return Inserted{}, fmt.Errorf("insert delivery: %w", err)
		}
	}
	return Inserted{Message: m, Deliveries: nm.Deliveries}, nil
}

func messageByIdempotencyKey(ctx context.Context, tx *txn, tenantID, key string) (Message, []Delivery, error) {
	var m Message
	var props string
	var created int64
	err := tx.QueryRowContext(ctx,
		`SELECT id, tenant_id, rule, content, properties, request_id, idempotency_key, created_at
		 FROM messages WHERE tenant_id = ? AND idempotency_key = ?`, tenantID, key).
		Scan(&m.ID, &m.TenantID, &m.Rule, &m.Content, &props, &m.RequestID, &m.IdempotencyKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, nil, ErrNotFound
	}
	if err != nil {
		return Message{}, nil, fmt.Errorf("find idempotency key: %w", err)
	}
	m.Properties, m.CreatedAt = []byte(props), fromMillis(created)
	rows, err := tx.QueryContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE message_id = ? ORDER BY id`, m.ID)
	if err != nil {
		return Message{}, nil, fmt.Errorf("load deliveries: %w", err)
	}
	defer rows.Close()
	var ds []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return Message{}, nil, err
		}
		ds = append(ds, d)
	}
	return m, ds, rows.Err()
}

// GetMessage returns one of the tenant's messages or ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, tenantID, id string) (Message, error) {
	var m Message
	var props string
	var idem sql.NullString
	var created int64
	err := s.queryRow(ctx,
		`SELECT id, tenant_id, rule, content, properties, request_id, idempotency_key, created_at
		 FROM messages WHERE tenant_id = ? AND id = ?`, tenantID, id).
		Scan(&m.ID, &m.TenantID, &m.Rule, &m.Content, &props, &m.RequestID, &idem, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("get message: %w", err)
	}
	m.Properties, m.IdempotencyKey, m.CreatedAt = []byte(props), idem.String, fromMillis(created)
	return m, nil
}

func marshalJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode column: %w", err)
	}
	return string(b), nil
}
