package store

import (
	"context"
	"fmt"
	"time"
)

// DisableAfter is how long an endpoint may fail without a success before
// it is disabled; a later value can be set on the store.
const DisableAfter = 72 * time.Hour

// reportEndpoint records what an attempt says about its config's endpoint,
// inside the attempt's transaction.
func (s *Store) reportEndpoint(ctx context.Context, tx *txn, deliveryID string, c Completion) error {
	if c.Endpoint == EndpointNoNews {
		return nil
	}
	tx.touchConfigs()
	now := millis(time.Now())
	var q string
	var args []any
	switch c.Endpoint {
	case EndpointHealthy:
		q = `UPDATE callback_configs SET failing_since = 0
			WHERE failing_since != 0 AND id = (SELECT config_id FROM deliveries WHERE id = ?)`
		args = []any{deliveryID}
	case EndpointFailing:
		disableAfter := s.disableAfter
		if disableAfter == 0 {
			disableAfter = DisableAfter
		}
		q = `UPDATE callback_configs SET
				failing_since = CASE failing_since WHEN 0 THEN ?1 ELSE failing_since END,
				disabled_at = CASE WHEN disabled_at = 0 AND failing_since != 0 AND ?1 - failing_since >= ?2 THEN ?1 ELSE disabled_at END,
				disabled_reason = CASE WHEN disabled_at = 0 AND failing_since != 0 AND ?1 - failing_since >= ?2
					THEN 'failing without a success since ' || strftime('%Y-%m-%dT%H:%M:%SZ', failing_since / 1000, 'unixepoch')
					ELSE disabled_reason END
			WHERE id = (SELECT config_id FROM deliveries WHERE id = ?3)`
		args = []any{now, disableAfter.Milliseconds(), deliveryID}
	case EndpointGone:
		q = `UPDATE callback_configs SET disabled_at = ?, disabled_reason = 'the receiver answered 410 Gone'
			WHERE disabled_at = 0 AND id = (SELECT config_id FROM deliveries WHERE id = ?)`
		args = []any{now, deliveryID}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("record endpoint health: %w", err)
	}
	return nil
}

// EnableCallbackConfig re-enables a disabled config and forgets its
// failures; ErrNotFound when the tenant has no such config.
func (s *Store) EnableCallbackConfig(ctx context.Context, tenantID, id string) (CallbackConfig, error) {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		tx.touchConfigs()
		res, err := tx.ExecContext(ctx, `UPDATE callback_configs SET disabled_at = 0, disabled_reason = '', failing_since = 0
			WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("callback config %q: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return CallbackConfig{}, fmt.Errorf("enable callback config: %w", err)
	}
	return s.GetCallbackConfig(ctx, tenantID, id)
}

// Prune deletes, in batches of at most batch, messages older than before
// whose deliveries all succeeded (with their deliveries, attempts and
// receipts), and forgets idempotency keys older than keysBefore. Each
// batch is its own short write, so ingest is never held up for long. It
// returns how many messages were deleted.
func (s *Store) Prune(ctx context.Context, before, keysBefore time.Time, batch int) (int, error) {
	total := 0
	for {
		var ids []string
		err := s.write(ctx, func(ctx context.Context, tx *txn) error {
			rows, err := tx.QueryContext(ctx, `SELECT m.id FROM messages m
				WHERE m.created_at < ? AND NOT EXISTS (
					SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status != 'succeeded')
				LIMIT ?`, millis(before), batch)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range ids {
				for _, q := range []string{
					`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = ?)`,
					`DELETE FROM receipts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = ?)`,
					`DELETE FROM deliveries WHERE message_id = ?`,
					`DELETE FROM messages WHERE id = ?`,
				} {
					if _, err := tx.ExecContext(ctx, q, id); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune messages: %w", err)
		}
		total += len(ids)
		if len(ids) < batch {
			break
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET idempotency_key = NULL
			WHERE idempotency_key IS NOT NULL AND created_at < ?`, millis(keysBefore))
		return err
	})
	if err != nil {
		return total, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return total, nil
}
