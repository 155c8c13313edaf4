package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DeliveryFilter selects a tenant's deliveries, newest first.
type DeliveryFilter struct {
	TenantID  string
	Status    Status
	MessageID string
	// BeforeID pages: only deliveries with a smaller (older) id.
	BeforeID string
	Limit    int
}

// ListDeliveries returns the tenant's deliveries that match f.
func (s *Store) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	where := []string{"tenant_id = ?"}
	args := []any{f.TenantID}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.MessageID != "" {
		where, args = append(where, "message_id = ?"), append(args, f.MessageID)
	}
	if f.BeforeID != "" {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args = append(args, f.Limit)
	rows, err := s.query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetDelivery returns one of the tenant's deliveries or ErrNotFound. An
// empty tenantID means any tenant (the dispatcher's view).
func (s *Store) GetDelivery(ctx context.Context, tenantID, id string) (Delivery, error) {
	q := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE id = ?`
	args := []any{id}
	if tenantID != "" {
		q += ` AND tenant_id = ?`
		args = append(args, tenantID)
	}
	d, err := scanDelivery(s.queryRow(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("delivery %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("get delivery: %w", err)
	}
	return d, nil
}

// ListAttempts returns a delivery's attempts in order.
func (s *Store) ListAttempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	rows, err := s.query(ctx, `
		SELECT delivery_id, number, started_at, outcome, status_code, latency_ms, response, error
		  FROM attempts WHERE delivery_id = ? ORDER BY number`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var started, latency int64
		if err := rows.Scan(&a.DeliveryID, &a.Number, &started, &a.Outcome, &a.StatusCode, &latency,
			&a.Response, &a.Error); err != nil {
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		a.StartedAt, a.Latency = fromMillis(started), time.Duration(latency)*time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// Receipt is what a receiver or vendor reported about a delivery.
type Receipt struct {
	ID         string
	DeliveryID string
	ChannelID  string
	Status     string
	Detail     string
	ReceivedAt time.Time
}

// AddReceipt records a receipt against one of the tenant's deliveries sent
// through channelID; ErrNotFound when there is no such delivery.
func (s *Store) AddReceipt(ctx context.Context, tenantID string, r Receipt) (Receipt, error) {
	if r.ID == "" {
		r.ID = NewID("rcp")
	}
	r.ReceivedAt = time.Now().UTC()
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM deliveries WHERE id = ? AND tenant_id = ? AND channel = ?`,
			r.DeliveryID, tenantID, r.ChannelID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %q on channel %q: %w", r.DeliveryID, r.ChannelID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO receipts (id, delivery_id, channel_id, status, detail, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, r.DeliveryID, r.ChannelID, r.Status, r.Detail, millis(r.ReceivedAt))
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("add receipt: %w", err)
	}
	return r, nil
}

// ListReceipts returns a delivery's receipts in the order they came.
func (s *Store) ListReceipts(ctx context.Context, deliveryID string) ([]Receipt, error) {
	rows, err := s.query(ctx, `
		SELECT id, delivery_id, channel_id, status, detail, received_at
		  FROM receipts WHERE delivery_id = ? ORDER BY received_at, id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	defer rows.Close()
	var out []Receipt
	for rows.Next() {
		var r Receipt
		var received int64
		if err := rows.Scan(&r.ID, &r.DeliveryID, &r.ChannelID, &r.Status, &r.Detail, &received); err != nil {
			return nil, fmt.Errorf("list receipts: %w", err)
		}
		r.ReceivedAt = fromMillis(received)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RetryDelivery makes one of the tenant's deliveries due now, whatever its
// state, unless it is in flight (ErrConflict). It gets one more attempt
// beyond its schedule.
func (s *Store) RetryDelivery(ctx context.Context, tenantID, id string, now time.Time) (Delivery, error) {
	var d Delivery
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		d, err = scanDelivery(tx.QueryRowContext(ctx, `
			UPDATE deliveries SET status = 'pending', next_attempt_at = ?1, updated_at = ?1
			 WHERE id = ?2 AND tenant_id = ?3 AND status != 'inflight'
			RETURNING `+deliveryColumns, millis(now), id, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			var status string
			err := tx.QueryRowContext(ctx, `SELECT status FROM deliveries WHERE id = ? AND tenant_id = ?`,
				id, tenantID).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("delivery %q: %w", id, ErrNotFound)
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("delivery %q is %s: %w", id, status, ErrConflict)
		}
		return err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("retry delivery: %w", err)
	}
	return d, nil
}

// ReplayFilter selects deliveries to send again.
type ReplayFilter struct {
	TenantID string
	Status   Status
	Since    time.Time // created at or after, when set
	Until    time.Time // created before, when set
	Limit    int
}

// ReplayDeliveries makes up to f.Limit of the tenant's matching deliveries
// due now, oldest first, and returns their ids.
func (s *Store) ReplayDeliveries(ctx context.Context, f ReplayFilter, now time.Time) ([]string, error) {
	if f.Status == StatusInflight {
		return nil, fmt.Errorf("replay deliveries in flight: %w", ErrConflict)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	where := []string{"tenant_id = ?", "status = ?"}
	args := []any{millis(now), f.TenantID, string(f.Status)}
	if !f.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, millis(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, millis(f.Until))
	}
	args = append(args, f.Limit)
	var ids []string
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		rows, err := tx.QueryContext(ctx, `
			UPDATE deliveries SET status = 'pending', next_attempt_at = ?1, updated_at = ?1
			 WHERE id IN (SELECT id FROM deliveries WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?)
			RETURNING id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("replay deliveries: %w", err)
	}
	slices.Sort(ids) // RETURNING has no order; ids sort by creation
	return ids, nil
}
