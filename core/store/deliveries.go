package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status is where a delivery stands.
type Status string

// The delivery states. A delivery starts pending, is inflight while a
// sender holds its lease, and ends succeeded or dead; failed means a retry
// is scheduled.
const (
	StatusPending   Status = "pending"
	StatusInflight  Status = "inflight"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusDead      Status = "dead"
)

// ErrConflict is returned when a delivery is not in a state the change
// allows (for example retrying one that is in flight).
var ErrConflict = errors.New("conflicting state")

// Fallback is another way to deliver, tried when a delivery fails for
// good (for example SMS through a second provider).
type Fallback struct {
	Channel     string            `json:"channel"`
	ConfigID    string            `json:"configId,omitempty"`
	Destination string            `json:"destination"`
	Method      string            `json:"method,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
	Body        []byte            `json:"body,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	ScheduleMs  []int64           `json:"scheduleMs"` // null: the default; []: no retries
	Sign        string            `json:"sign,omitempty"`
}

// Attachment is a file a channel fetches and attaches (e-mail).
type Attachment struct {
	FileName string `json:"fileName"`
	URL      string `json:"url"`
}

// Delivery is one message on its way to one destination through one
// channel. Its id is stable across attempts.
type Delivery struct {
	ID            string
	MessageID     string
	TenantID      string
	Rule          string
	Channel       string
	ConfigID      string
	Destination   string
	Method        string
	Headers       map[string]string
	Query         map[string]string
	Body          []byte
	Subject       string
	Attachments   []Attachment
	Schedule      []time.Duration // retry delays chosen by the rule; nil means the default
	Sign          string          // a receiver protocol's own signature for the sender to add
	Fallbacks     []Fallback      // tried in order when this delivery fails for good
	Status        Status
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const deliveryColumns = `id, message_id, tenant_id, rule, channel, config_id, destination, method,
	headers, query, body, subject, attachments, schedule, status, attempts, next_attempt_at,
	lease_until, last_error, created_at, updated_at, sign, fallbacks`

const insertDelivery = `INSERT INTO deliveries (` + deliveryColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func deliveryArgs(d *Delivery) ([]any, error) {
	headers, err := marshalJSON(nonNilMap(d.Headers))
	if err != nil {
		return nil, err
	}
	query, err := marshalJSON(nonNilMap(d.Query))
	if err != nil {
		return nil, err
	}
	atts := d.Attachments
	if atts == nil {
		atts = []Attachment{}
	}
	attachments, err := marshalJSON(atts)
	if err != nil {
		return nil, err
	}
	schedule := ""
	if d.Schedule != nil {
		ms := make([]int64, len(d.Schedule))
		for i, s := range d.Schedule {
			ms[i] = s.Milliseconds()
		}
		if schedule, err = marshalJSON(ms); err != nil {
			return nil, err
		}
	}
	fallbacks := ""
	if len(d.Fallbacks) > 0 {
		if fallbacks, err = marshalJSON(d.Fallbacks); err != nil {
			return nil, err
		}
	}
	return []any{d.ID, d.MessageID, d.TenantID, d.Rule, d.Channel, d.ConfigID, d.Destination, d.Method,
		headers, query, d.Body, d.Subject, attachments, schedule, string(d.Status), d.Attempts,
		millis(d.NextAttemptAt), millis(d.LeaseUntil), d.LastError, millis(d.CreatedAt), millis(d.UpdatedAt),
		d.Sign, fallbacks}, nil
}

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var headers, query, attachments, schedule, status, fallbacks string
	var next, lease, created, updated int64
	err := row.Scan(&d.ID, &d.MessageID, &d.TenantID, &d.Rule, &d.Channel, &d.ConfigID, &d.Destination,
		&d.Method, &headers, &query, &d.Body, &d.Subject, &attachments, &schedule, &status, &d.Attempts,
		&next, &lease, &d.LastError, &created, &updated, &d.Sign, &fallbacks)
	if err != nil {
		return Delivery{}, err
	}
	d.Status = Status(status)
	d.NextAttemptAt, d.LeaseUntil = fromMillis(next), fromMillis(lease)
	d.CreatedAt, d.UpdatedAt = fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal([]byte(headers), &d.Headers); err != nil {
		return Delivery{}, fmt.Errorf("decode headers of %s: %w", d.ID, err)
	}
	if err := json.Unmarshal([]byte(query), &d.Query); err != nil {
		return Delivery{}, fmt.Errorf("decode query of %s: %w", d.ID, err)
	}
	if err := json.Unmarshal([]byte(attachments), &d.Attachments); err != nil {
		return Delivery{}, fmt.Errorf("decode attachments of %s: %w", d.ID, err)
	}
	if fallbacks != "" {
		if err := json.Unmarshal([]byte(fallbacks), &d.Fallbacks); err != nil {
			return Delivery{}, fmt.Errorf("decode fallbacks of %s: %w", d.ID, err)
		}
	}
	if schedule != "" {
		var ms []int64
		if err := json.Unmarshal([]byte(schedule), &ms); err != nil {
			return Delivery{}, fmt.Errorf("decode schedule of %s: %w", d.ID, err)
		}
		d.Schedule = make([]time.Duration, len(ms))
		for i, v := range ms {
			d.Schedule[i] = time.Duration(v) * time.Millisecond
		}
	}
	return d, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Due is a delivery that should be attempted at At, with the endpoint it
// goes to, so that the dispatcher can hold it back (a busy endpoint, an
// open circuit, a rate) without reading or writing it.
type Due struct {
	ID       string
	At       time.Time
	TenantID string
	ConfigID string
}

// DueBefore lists deliveries waiting for an attempt at or before t, and those in
// flight whose lease ran out before t (their sender died with them), the
// soonest first.
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]Due, error) {
	rows, err := s.query(ctx, `
		SELECT id, at, tenant_id, config_id FROM (
			SELECT id, next_attempt_at AS at, tenant_id, config_id FROM deliveries
			 WHERE status IN ('pending', 'failed') AND next_attempt_at <= ?1
			UNION ALL
			SELECT id, lease_until AS at, tenant_id, config_id FROM deliveries
			 WHERE status = 'inflight' AND lease_until <= ?1
		) ORDER BY at LIMIT ?2`, millis(t), limit)
	if err != nil {
		return nil, fmt.Errorf("list due deliveries: %w", err)
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var d Due
		var at int64
		if err := rows.Scan(&d.ID, &at, &d.TenantID, &d.ConfigID); err != nil {
			return nil, fmt.Errorf("list due deliveries: %w", err)
		}
		d.At = fromMillis(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Claim leases a delivery for one attempt: it must be due (or its earlier
// lease expired). It returns the delivery with Attempts already counting
// this attempt, or ErrNotFound when it is not claimable now.
func (s *Store) Claim(ctx context.Context, id string, now time.Time, lease time.Duration) (Delivery, error) {
	var d Delivery
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		d, err = scanDelivery(tx.QueryRowContext(ctx, `
			UPDATE deliveries SET status = 'inflight', lease_until = ?1, attempts = attempts + 1, updated_at = ?2
			 WHERE id = ?3 AND (
			   (status IN ('pending', 'failed') AND next_attempt_at <= ?2) OR
			   (status = 'inflight' AND lease_until <= ?2))
			RETURNING `+deliveryColumns, millis(now.Add(lease)), millis(now), id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("claim delivery %s: %w", id, err)
	}
	return d, nil
}

// TakeDue reads a delivery waiting for an attempt (pending or failed, and
// due by now) without writing a claim: for the one dispatcher that owns
// the store (it holds the data folder's lock) and keeps its claims in
// memory, so that taking a delivery costs a read instead of a write. The
// delivery comes back as a claim would return it (in flight, Attempts
// counting this attempt); record the attempt with Completion.Unclaimed
// set. ErrNotFound when it is not waiting, or not due yet. A delivery lost
// with a crash while sent this way is still pending in the store, and is
// sent again after the restart.
func (s *Store) TakeDue(ctx context.Context, id string, now time.Time) (Delivery, error) {
	d, err := scanDelivery(s.queryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		 WHERE id = ? AND status IN ('pending', 'failed') AND next_attempt_at <= ?`, id, millis(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("take delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("take delivery %s: %w", id, err)
	}
	d.Status, d.Attempts = StatusInflight, d.Attempts+1
	return d, nil
}

// Reclaim renews the lease of a delivery stored already claimed (by
// ingest, for its first attempt) that is still held under the lease that
// ended at heldUntil, and returns it: for a dispatcher that let it wait in
// memory and no longer holds all of it there. ErrNotFound when it is not
// held so any more.
func (s *Store) Reclaim(ctx context.Context, id string, heldUntil, now time.Time, lease time.Duration) (Delivery, error) {
	var d Delivery
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		d, err = scanDelivery(tx.QueryRowContext(ctx, `
			UPDATE deliveries SET lease_until = ?1, updated_at = ?2
			 WHERE id = ?3 AND status = 'inflight' AND lease_until = ?4
			RETURNING `+deliveryColumns, millis(now.Add(lease)), millis(now), id, millis(heldUntil)))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("reclaim delivery %s: %w", id, err)
	}
	return d, nil
}

// Attempt is the record of one try.
type Attempt struct {
	DeliveryID string
	Number     int
	StartedAt  time.Time
	Outcome    string // delivered, retryable or permanent
	StatusCode int
	Latency    time.Duration
	Response   string
	Error      string
	// VendorID is the id the receiver or vendor gave what was sent, if
	// any; it is kept on the delivery (the latest one wins) so that the
	// vendor's receipts find it (see AddVendorReceipt).
	VendorID string
}

// Completion is what an attempt ends with: its record and the delivery's
// next state.
type Completion struct {
	Attempt       Attempt
	Status        Status // succeeded, failed or dead
	NextAttemptAt time.Time
	LastError     string
	// FailOver, when set, is inserted as a new pending delivery of the same
	// message in the same transaction: the next fallback of a dead one.
	FailOver *Delivery
	// Endpoint reports the health of the delivery's callback config, when
	// it has one.
	Endpoint EndpointReport
	// Unclaimed says the attempt was taken with TakeDue: the store still
	// has the delivery waiting, one attempt short.
	Unclaimed bool
}

// EndpointReport is what an attempt says about its endpoint.
type EndpointReport int

// Endpoint reports.
const (
	EndpointNoNews  EndpointReport = iota
	EndpointHealthy                // it took a delivery: it is not failing
	EndpointFailing                // it failed: note since when
	EndpointGone                   // it said it is gone (HTTP 410): disable it
)

// Complete records an attempt and moves its delivery on, in one
// transaction. It is refused with ErrConflict when the delivery is no
// longer held by this attempt (its lease ran out and it was claimed again).
func (s *Store) Complete(ctx context.Context, c Completion) error {
	a := c.Attempt
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		held := `status = 'inflight' AND attempts = ?8`
		if c.Unclaimed {
			held = `status IN ('pending', 'failed') AND attempts = ?8 - 1`
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET status = ?1, next_attempt_at = ?2, lease_until = 0, last_error = ?3, updated_at = ?4,
				vendor_id = CASE WHEN ?5 = '' THEN vendor_id ELSE ?6 END, attempts = ?8
			 WHERE id = ?7 AND `+held,
			string(c.Status), millis(c.NextAttemptAt), c.LastError, millis(time.Now()), a.VendorID, a.VendorID,
			a.DeliveryID, a.Number)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		if _, err = tx.ExecContext(ctx, `
			INSERT INTO attempts (delivery_id, number, started_at, outcome, status_code, latency_ms, response, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.DeliveryID, a.Number, millis(a.StartedAt), a.Outcome, a.StatusCode, a.Latency.Milliseconds(),
			a.Response, a.Error); err != nil {
			return err
		}
		if err := s.reportEndpoint(ctx, tx, a.DeliveryID, c); err != nil {
			return err
		}
		if f := c.FailOver; f != nil {
			args, err := deliveryArgs(f)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, insertDelivery, args...); err != nil {
				return fmt.Errorf("insert fallback delivery: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete delivery %s attempt %d: %w", a.DeliveryID, a.Number, err)
	}
	return nil
}

// ReleaseLeases ends the lease of every delivery in flight, so that they
// are sent again now. Call it only when no other gateway can be sending
// from this store: at start, holding the data folder's lock.
func (s *Store) ReleaseLeases(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0 WHERE status = 'inflight'`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release leases: %w", err)
	}
	return int(n), nil
}
