package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEvent is one change made through the management APIs or the
// configuration file: who changed what, and when. Detail never holds a
// secret: a key, token, password or app secret is recorded as whether it
// was set, never as its value.
type AuditEvent struct {
	ID       string
	TenantID string
	// Actor is who made the change: an app key, "<app key> for <tenant>"
	// when an agent key acted for a sub-tenant, "admin" for the operator's
	// token, "config-file" for the declarative configuration.
	Actor string
	// Action names the change, as "<object>.<verb>": config.add,
	// channel.put, tenant.create, ...
	Action    string
	Target    string
	Detail    map[string]any
	RequestID string
	At        time.Time
}

// forTenant returns ev about tenantID, unless it names a tenant already.
func (ev AuditEvent) forTenant(tenantID string) AuditEvent {
	if ev.TenantID == "" {
		ev.TenantID = tenantID
	}
	return ev
}

type auditKey struct{}

// WithAudit returns ctx carrying ev: the store methods that document it
// (CreateTenant, UpdateTenant, AddAppKey, RevokeAppKey) record ev in the
// same transaction as their change, and only when the change is made.
// Other writes ignore it; record their events with RecordAudit.
func WithAudit(ctx context.Context, ev AuditEvent) context.Context {
	return context.WithValue(ctx, auditKey{}, ev)
}

func auditFrom(ctx context.Context) (AuditEvent, bool) {
	ev, ok := ctx.Value(auditKey{}).(AuditEvent)
	return ev, ok
}

// auditFor returns what records, inside a write, the audit event the
// caller's ctx carries (see WithAudit), if any, so that it commits or not
// with the change; target fills in an event that names none (an id the
// store made). It is taken from the caller's ctx before the write, whose
// function runs under the writer's own.
func auditFor(callerCtx context.Context) func(ctx context.Context, tx *txn, tenantID, target string) error {
	ev, ok := auditFrom(callerCtx)
	return func(ctx context.Context, tx *txn, tenantID, target string) error {
		if !ok {
			return nil
		}
		if ev.Target == "" {
			ev.Target = target
		}
		return insertAudit(ctx, tx, ev.forTenant(tenantID))
	}
}

// RecordAudit records ev in a transaction of its own.
func (s *Store) RecordAudit(ctx context.Context, ev AuditEvent) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		return insertAudit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", ev.Action, err)
	}
	return nil
}

func insertAudit(ctx context.Context, tx *txn, ev AuditEvent) error {
	if ev.TenantID == "" || ev.Actor == "" || ev.Action == "" {
		return fmt.Errorf("audit event %q without a tenant, actor or action", ev.Action)
	}
	if ev.ID == "" {
		ev.ID = NewID("aud")
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	detail := []byte("{}")
	if len(ev.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(ev.Detail); err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (id, tenant_id, actor, action, target, detail, request_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.TenantID, ev.Actor, ev.Action, ev.Target, string(detail), ev.RequestID, millis(ev.At))
	if err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	// TenantID selects one tenant's events; empty selects every tenant's.
	TenantID string
	// Before selects events made before this time; zero for no bound.
	Before time.Time
	// After is a cursor (an AuditCursor of the last event of the previous
	// page): only older events are returned.
	After string
	// Limit caps the number of events (default and most: 500).
	Limit int
}

// AuditCursor is the page cursor that follows ev: opaque to callers.
func AuditCursor(ev AuditEvent) string {
	return strconv.FormatInt(millis(ev.At), 10) + "." + ev.ID
}

func parseAuditCursor(c string) (int64, string, error) {
	at, id, ok := strings.Cut(c, ".")
	ms, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", fmt.Errorf("bad audit cursor %q: %w", c, ErrInvalidCursor)
	}
	return ms, id, nil
}

// ErrInvalidCursor means a page cursor was not made by this store.
var ErrInvalidCursor = errors.New("invalid cursor")

// ListAuditEvents returns the events f selects, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	var where []string
	var args []any
	if f.TenantID != "" {
		where, args = append(where, "tenant_id = ?"), append(args, f.TenantID)
	}
	if !f.Before.IsZero() {
		where, args = append(where, "at < ?"), append(args, millis(f.Before))
	}
	if f.After != "" {
		ms, id, err := parseAuditCursor(f.After)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "(at < ? OR (at = ? AND id < ?))"), append(args, ms, ms, id)
	}
	q := `SELECT id, tenant_id, actor, action, target, detail, request_id, at FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC LIMIT ?"
	rows, err := s.query(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var ev AuditEvent
		var detail string
		var at int64
		if err := rows.Scan(&ev.ID, &ev.TenantID, &ev.Actor, &ev.Action, &ev.Target, &detail, &ev.RequestID, &at); err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		ev.At = fromMillis(at)
		if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
			return nil, fmt.Errorf("decode audit detail of %s: %w", ev.ID, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}
