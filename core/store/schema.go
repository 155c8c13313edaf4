package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; the database's user_version says how
// many have run. Never edit a released migration: append a new one.
var migrations = []string{
	`CREATE TABLE tenants (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE TABLE app_keys (
		app_key     TEXT PRIMARY KEY,
		tenant_id   TEXT NOT NULL REFERENCES tenants(id),
		secret_hash TEXT NOT NULL UNIQUE,
		created_at  INTEGER NOT NULL,
		revoked_at  INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX app_keys_tenant ON app_keys(tenant_id);
	CREATE TABLE callback_configs (
		id             TEXT PRIMARY KEY,
		tenant_id      TEXT NOT NULL REFERENCES tenants(id),
		url            TEXT NOT NULL,
		callback_key   TEXT NOT NULL DEFAULT '',
		callback_token TEXT NOT NULL DEFAULT '',
		operator       TEXT NOT NULL DEFAULT '',
		created_at     INTEGER NOT NULL,
		UNIQUE (tenant_id, url)
	);
	CREATE TABLE messages (
		id              TEXT PRIMARY KEY,
		tenant_id       TEXT NOT NULL,
		rule            TEXT NOT NULL,
		content         TEXT NOT NULL,
		properties      TEXT NOT NULL,
		request_id      TEXT NOT NULL,
		idempotency_key TEXT,
		created_at      INTEGER NOT NULL
	);
	CREATE UNIQUE INDEX messages_idempotency ON messages(tenant_id, idempotency_key)
		WHERE idempotency_key IS NOT NULL;
	CREATE TABLE deliveries (
		id              TEXT PRIMARY KEY,
		message_id      TEXT NOT NULL REFERENCES messages(id),
		tenant_id       TEXT NOT NULL,
		rule            TEXT NOT NULL DEFAULT '',
		channel         TEXT NOT NULL,
		config_id       TEXT NOT NULL DEFAULT '',
		destination     TEXT NOT NULL,
		method          TEXT NOT NULL DEFAULT 'POST',
		headers         TEXT NOT NULL DEFAULT '{}',
		query           TEXT NOT NULL DEFAULT '{}',
		body            BLOB,
		subject         TEXT NOT NULL DEFAULT '',
		attachments     TEXT NOT NULL DEFAULT '[]',
		schedule        TEXT NOT NULL DEFAULT '',
		status          TEXT NOT NULL,
		attempts        INTEGER NOT NULL DEFAULT 0,
		next_attempt_at INTEGER NOT NULL,
		lease_until     INTEGER NOT NULL DEFAULT 0,
		last_error      TEXT NOT NULL DEFAULT '',
		created_at      INTEGER NOT NULL,
		updated_at      INTEGER NOT NULL
	);
	CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status IN ('pending', 'failed');
	CREATE INDEX deliveries_lease ON deliveries(lease_until) WHERE status = 'inflight';
	CREATE INDEX deliveries_tenant ON deliveries(tenant_id, id);
	CREATE INDEX deliveries_message ON deliveries(message_id);
	CREATE TABLE attempts (
		delivery_id TEXT NOT NULL REFERENCES deliveries(id),
		number      INTEGER NOT NULL,
		started_at  INTEGER NOT NULL,
		outcome     TEXT NOT NULL,
		status_code INTEGER NOT NULL DEFAULT 0,
		latency_ms  INTEGER NOT NULL DEFAULT 0,
		response    TEXT NOT NULL DEFAULT '',
		error       TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (delivery_id, number)
	);
	CREATE TABLE receipts (
		id          TEXT PRIMARY KEY,
		delivery_id TEXT NOT NULL REFERENCES deliveries(id),
		channel_id  TEXT NOT NULL,
		status      TEXT NOT NULL,
		detail      TEXT NOT NULL DEFAULT '',
		received_at INTEGER NOT NULL
	);
	CREATE INDEX receipts_delivery ON receipts(delivery_id);`,

	// 2: tenants' rules, and what a delivery carries from its rule.
	`CREATE TABLE rules (
		tenant_id  TEXT NOT NULL REFERENCES tenants(id),
		code       TEXT NOT NULL,
		version    INTEGER NOT NULL,
		wasm       BLOB NOT NULL,
		sha256     TEXT NOT NULL,
		classifies INTEGER NOT NULL DEFAULT 0,
		active     INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (tenant_id, code, version)
	);
	CREATE UNIQUE INDEX rules_active ON rules(tenant_id, code) WHERE active = 1;
	ALTER TABLE deliveries ADD COLUMN sign TEXT NOT NULL DEFAULT '';
	ALTER TABLE deliveries ADD COLUMN fallbacks TEXT NOT NULL DEFAULT '';`,

	// 3: tenants' channels: which plugin sends, with which settings.
	`CREATE TABLE channels (
		tenant_id  TEXT NOT NULL REFERENCES tenants(id),
		id         TEXT NOT NULL,
		plugin     TEXT NOT NULL,
		settings   TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (tenant_id, id)
	);`,

	// 4: app secrets kept sealed too, for request signatures (TC3) that
	// need the secret itself, not only its hash.
	`ALTER TABLE app_keys ADD COLUMN secret_sealed TEXT NOT NULL DEFAULT '';`,

	// 5: endpoint health: when a config started failing, and whether it
	// was disabled (410 Gone, or failing too long).
	`ALTER TABLE callback_configs ADD COLUMN failing_since INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE callback_configs ADD COLUMN disabled_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE callback_configs ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
	CREATE INDEX messages_created ON messages(created_at);`,

	// 6: per-tenant settings (limits), as JSON.
	`ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';`,

	// 7: a config's receiver authentication beyond signatures (sealed JSON).
	`ALTER TABLE callback_configs ADD COLUMN auth TEXT NOT NULL DEFAULT '';`,

	// 8: the id a vendor gave a sent delivery, so that its receipts (an
	// SMSC's deliver_sm, a vendor's report) find the delivery again.
	`ALTER TABLE deliveries ADD COLUMN vendor_id TEXT NOT NULL DEFAULT '';
	CREATE INDEX deliveries_vendor ON deliveries(vendor_id) WHERE vendor_id != '';`,

	// 9: sub-tenants run by an agent (the seed's proxyOrganizationId), app
	// keys allowed to act as that agent, and the audit log of changes.
	`ALTER TABLE tenants ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
	CREATE INDEX tenants_parent ON tenants(parent_id) WHERE parent_id != '';
	ALTER TABLE app_keys ADD COLUMN agent INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE audit_events (
		id         TEXT PRIMARY KEY,
		tenant_id  TEXT NOT NULL,
		actor      TEXT NOT NULL,
		action     TEXT NOT NULL,
		target     TEXT NOT NULL DEFAULT '',
		detail     TEXT NOT NULL DEFAULT '{}',
		request_id TEXT NOT NULL DEFAULT '',
		at         INTEGER NOT NULL
	);
	CREATE INDEX audit_tenant ON audit_events(tenant_id, at);`,

	// 10: a config's delivery policy (retry schedule, rate), as JSON.
	`ALTER TABLE callback_configs ADD COLUMN policy TEXT NOT NULL DEFAULT '';`,
}

// migrate brings the schema up to date in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this binary knows (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("apply migration %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("record schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}
