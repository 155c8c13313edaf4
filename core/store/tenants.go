package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Tenant is one customer of the gateway; all its data hangs off its id.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	Limits    TenantLimits
	// ParentID is the tenant whose agent app keys may act for this one (the
	// seed's proxyOrganizationId); empty for a top-level tenant. It is set
	// when the tenant is made and never changes, and sub-tenants are one
	// level deep: a sub-tenant has no sub-tenants of its own.
	ParentID string
}

// ErrNestedTenant is returned when a sub-tenant would get a sub-tenant.
var ErrNestedTenant = errors.New("a sub-tenant cannot have sub-tenants")

// TenantLimits override the gateway's rate limits for one tenant: 0 takes
// the gateway's, a negative rate means no limit.
type TenantLimits struct {
	IngestRate  float64 `json:"ingestRate,omitempty"`
	IngestBurst int     `json:"ingestBurst,omitempty"`
	ManageRate  float64 `json:"manageRate,omitempty"`
	ManageBurst int     `json:"manageBurst,omitempty"`
	RuleTimeMs  int     `json:"ruleTimeMs,omitempty"`
	// RuleMemoryMiB and RuleOutputKiB bound the tenant's rules (0: the
	// gateway's limits).
	RuleMemoryMiB int `json:"ruleMemoryMiB,omitempty"`
	RuleOutputKiB int `json:"ruleOutputKiB,omitempty"`
	// Retry is the tenant's retry schedule where a delivery's config and
	// rule have none (nil: the gateway's; see RetryPolicy).
	Retry *RetryPolicy `json:"retry,omitempty"`
}

// AppKey is a tenant's credential. Only a hash of its secret is stored.
type AppKey struct {
	Key       string
	TenantID  string
	CreatedAt time.Time
	Revoked   bool
	// Agent keys may act for their tenant's sub-tenants too.
	Agent bool
}

// HashSecret is how secrets are kept: a SHA-256, so a copy of the database
// does not hand out credentials. Secrets are long random strings, so a
// fast hash is enough.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateTenant adds a tenant; ErrExists if the id is taken. A ParentID
// must name an existing top-level tenant: ErrNotFound if it does not
// exist, ErrNestedTenant if it is itself a sub-tenant. The audit event in
// ctx (see WithAudit), if any, is recorded in the same transaction.
func (s *Store) CreateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	ev, audited := auditFrom(ctx)
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		if t.ParentID != "" {
			var grand string
			err := tx.QueryRowContext(ctx, `SELECT parent_id FROM tenants WHERE id = ?`, t.ParentID).Scan(&grand)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("parent tenant %q: %w", t.ParentID, ErrNotFound)
			}
			if err != nil {
				return err
			}
			if grand != "" {
				return fmt.Errorf("parent tenant %q: %w", t.ParentID, ErrNestedTenant)
			}
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO tenants (id, name, created_at, parent_id) VALUES (?, ?, ?, ?)`,
			t.ID, t.Name, millis(t.CreatedAt), t.ParentID); err != nil {
			return err
		}
		if audited {
			return insertAudit(ctx, tx, ev.forTenant(t.ID))
		}
		return nil
	})
	if isUniqueViolation(err) {
		return Tenant{}, fmt.Errorf("create tenant %q: %w", t.ID, ErrExists)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("create tenant %q: %w", t.ID, err)
	}
	return t, nil
}

// GetTenant returns the tenant or ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	var t Tenant
	var created int64
	var settings string
	err := s.queryRow(ctx,
		`SELECT id, name, created_at, settings, parent_id FROM tenants WHERE id = ?`, id).Scan(&t.ID, &t.Name, &created, &settings, &t.ParentID)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("get tenant %q: %w", id, err)
	}
	t.CreatedAt = fromMillis(created)
	if err := json.Unmarshal([]byte(settings), &t.Limits); err != nil {
		return Tenant{}, fmt.Errorf("decode settings of tenant %q: %w", id, err)
	}
	return t, nil
}

// ListTenants returns every tenant, by id.
func (s *Store) ListTenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.query(ctx, `SELECT id, name, created_at, settings, parent_id FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		var t Tenant
		var created int64
		var settings string
		if err := rows.Scan(&t.ID, &t.Name, &created, &settings, &t.ParentID); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		t.CreatedAt = fromMillis(created)
		if err := json.Unmarshal([]byte(settings), &t.Limits); err != nil {
			return nil, fmt.Errorf("decode settings of tenant %q: %w", t.ID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTenant changes a tenant's name (kept when empty) and limits;
// ErrNotFound when it does not exist. Its parent never changes. The audit
// event in ctx, if any, is recorded in the same transaction.
func (s *Store) UpdateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	settings, err := json.Marshal(t.Limits)
	if err != nil {
		return Tenant{}, fmt.Errorf("encode tenant settings: %w", err)
	}
	ev, audited := auditFrom(ctx)
	err = s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET name = CASE WHEN ? = '' THEN name ELSE ? END, settings = ?
			WHERE id = ?`, t.Name, t.Name, string(settings), t.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("tenant %q: %w", t.ID, ErrNotFound)
		}
		if audited {
			return insertAudit(ctx, tx, ev.forTenant(t.ID))
		}
		return nil
	})
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	return s.GetTenant(ctx, t.ID)
}

// CreateAppKey adds an app key for a tenant with the given secret.
// ErrNotFound if the tenant does not exist, ErrExists if the key or the
// secret is taken.
func (s *Store) CreateAppKey(ctx context.Context, tenantID, key, secret string) (AppKey, error) {
	return s.AddAppKey(ctx, AppKey{Key: key, TenantID: tenantID}, secret)
}

// AddAppKey is CreateAppKey for a key described in full: k.Agent makes an
// agent key. The audit event in ctx, if any, is recorded in the same
// transaction.
func (s *Store) AddAppKey(ctx context.Context, k AppKey, secret string) (AppKey, error) {
	k.CreatedAt, k.Revoked = time.Now().UTC(), false
	ev, audited := auditFrom(ctx)
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, k.TenantID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("tenant %q: %w", k.TenantID, ErrNotFound)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO app_keys (app_key, tenant_id, secret_hash, secret_sealed, created_at, agent) VALUES (?, ?, ?, ?, ?, ?)`,
			k.Key, k.TenantID, HashSecret(secret), s.sealSecret(secret), millis(k.CreatedAt), k.Agent); err != nil {
			return err
		}
		if audited {
			return insertAudit(ctx, tx, ev.forTenant(k.TenantID))
		}
		return nil
	})
	if isUniqueViolation(err) {
		return AppKey{}, fmt.Errorf("create app key %q: %w", k.Key, ErrExists)
	}
	if err != nil {
		return AppKey{}, fmt.Errorf("create app key %q: %w", k.Key, err)
	}
	return k, nil
}

// ListAppKeys returns a tenant's app keys, revoked ones included.
func (s *Store) ListAppKeys(ctx context.Context, tenantID string) ([]AppKey, error) {
	rows, err := s.query(ctx,
		`SELECT app_key, tenant_id, created_at, revoked_at, agent FROM app_keys WHERE tenant_id = ? ORDER BY created_at, app_key`,
		tenantID)
	if err != nil {
		return nil, fmt.Errorf("list app keys: %w", err)
	}
	defer rows.Close()
	var out []AppKey
	for rows.Next() {
		var k AppKey
		var created, revoked int64
		if err := rows.Scan(&k.Key, &k.TenantID, &created, &revoked, &k.Agent); err != nil {
			return nil, fmt.Errorf("list app keys: %w", err)
		}
		k.CreatedAt, k.Revoked = fromMillis(created), revoked != 0
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAppKey makes a key's secret stop working. ErrNotFound if unknown
// or already revoked. The audit event in ctx, if any, is recorded in the
// same transaction, for the key's tenant.
func (s *Store) RevokeAppKey(ctx context.Context, key string) error {
	ev, audited := auditFrom(ctx)
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var tenantID string
		err := tx.QueryRowContext(ctx, `SELECT tenant_id FROM app_keys WHERE app_key = ? AND revoked_at = 0`, key).Scan(&tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("app key %q: %w", key, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE app_keys SET revoked_at = ? WHERE app_key = ?`, millis(time.Now()), key); err != nil {
			return err
		}
		if audited {
			return insertAudit(ctx, tx, ev.forTenant(tenantID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke app key: %w", err)
	}
	return nil
}

// AppKeyBySecret finds the live app key a secret belongs to, or ErrNotFound.
func (s *Store) AppKeyBySecret(ctx context.Context, secret string) (AppKey, error) {
	var k AppKey
	var created int64
	err := s.queryRow(ctx,
		`SELECT app_key, tenant_id, created_at, agent FROM app_keys WHERE secret_hash = ? AND revoked_at = 0`,
		HashSecret(secret)).Scan(&k.Key, &k.TenantID, &created, &k.Agent)
	if errors.Is(err, sql.ErrNoRows) {
		return AppKey{}, fmt.Errorf("app key for secret: %w", ErrNotFound)
	}
	if err != nil {
		return AppKey{}, fmt.Errorf("find app key: %w", err)
	}
	k.CreatedAt = fromMillis(created)
	return k, nil
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// sealSecret keeps an app secret only when it can be sealed: without a
// master key, only its hash is stored.
func (s *Store) sealSecret(secret string) string {
	if s.box == nil {
		return ""
	}
	return s.box.Seal(secret)
}

// AppKeySecret returns a live app key and its secret, for checking request
// signatures made with it. ErrNotFound when the key is unknown, revoked, or
// its secret was not kept.
func (s *Store) AppKeySecret(ctx context.Context, key string) (AppKey, string, error) {
	var k AppKey
	var sealed string
	var created int64
	err := s.queryRow(ctx, `SELECT app_key, tenant_id, created_at, secret_sealed, agent FROM app_keys
		WHERE app_key = ? AND revoked_at = 0`, key).Scan(&k.Key, &k.TenantID, &created, &sealed, &k.Agent)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && sealed == "") {
		return AppKey{}, "", fmt.Errorf("app key %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return AppKey{}, "", fmt.Errorf("get app key: %w", err)
	}
	secret, err := s.open(sealed)
	if err != nil {
		return AppKey{}, "", err
	}
	k.CreatedAt = fromMillis(created)
	return k, secret, nil
}
