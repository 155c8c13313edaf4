package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Channel is a tenant's way out: the plugin that sends and its settings
// (secrets included; the settings are sealed at rest as a whole).
type Channel struct {
	TenantID  string
	ID        string
	Plugin    string
	Settings  map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutChannel creates or replaces a tenant's channel.
func (s *Store) PutChannel(ctx context.Context, c Channel) (Channel, error) {
	raw, err := json.Marshal(nonNilMap(c.Settings))
	if err != nil {
		return Channel{}, fmt.Errorf("encode channel settings: %w", err)
	}
	now := time.Now().UTC()
	err = s.write(ctx, func(ctx context.Context, tx *txn) error {
		var created int64
		err := tx.QueryRowContext(ctx, `
			INSERT INTO channels (tenant_id, id, plugin, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, id) DO UPDATE SET plugin = excluded.plugin, settings = excluded.settings,
				updated_at = excluded.updated_at
			RETURNING created_at`,
			c.TenantID, c.ID, c.Plugin, s.seal(string(raw)), millis(now), millis(now)).Scan(&created)
		c.CreatedAt = fromMillis(created)
		return err
	})
	if isForeignKeyViolation(err) {
		return Channel{}, fmt.Errorf("put channel: tenant %q: %w", c.TenantID, ErrNotFound)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("put channel %q: %w", c.ID, err)
	}
	c.UpdatedAt = now
	return c, nil
}

const channelColumns = `tenant_id, id, plugin, settings, created_at, updated_at`

func (s *Store) scanChannel(row interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	var settings string
	var created, updated int64
	if err := row.Scan(&c.TenantID, &c.ID, &c.Plugin, &settings, &created, &updated); err != nil {
		return Channel{}, err
	}
	plain, err := s.open(settings)
	if err != nil {
		return Channel{}, err
	}
	if err := json.Unmarshal([]byte(plain), &c.Settings); err != nil {
		return Channel{}, fmt.Errorf("decode settings of channel %q: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return c, nil
}

// GetChannel returns one of the tenant's channels or ErrNotFound.
func (s *Store) GetChannel(ctx context.Context, tenantID, id string) (Channel, error) {
	c, err := s.scanChannel(s.queryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, fmt.Errorf("channel %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("get channel: %w", err)
	}
	return c, nil
}

// ListChannels returns the tenant's channels by id.
func (s *Store) ListChannels(ctx context.Context, tenantID string) ([]Channel, error) {
	rows, err := s.query(ctx, `SELECT `+channelColumns+` FROM channels WHERE tenant_id = ? ORDER BY id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	var out []Channel
	for rows.Next() {
		c, err := s.scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("list channels: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteChannel removes a tenant's channel; ErrNotFound when absent.
func (s *Store) DeleteChannel(ctx context.Context, tenantID, id string) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM channels WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("channel %q: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete channel: %w", err)
	}
	return nil
}
