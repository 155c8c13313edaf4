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
}

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
}

// AppKey is a tenant's credential. Only a hash of its secret is stored.
type AppKey struct {
	Key       string
	TenantID  string
	CreatedAt time.Time
	Revoked   bool
}

// HashSecret is how secrets are kept: a SHA-256, so a copy of the database
// does not hand out credentials. Secrets are long random strings, so a
// fast hash is enough.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateTenant adds a tenant; ErrExists if the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`,
			t.ID, t.Name, millis(t.CreatedAt))
		return err
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
		`SELECT id, name, created_at, settings FROM tenants WHERE id = ?`, id).Scan(&t.ID, &t.Name, &created, &settings)
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
	rows, err := s.query(ctx, `SELECT id, name, created_at, settings FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		var t Tenant
		var created int64
		var settings string
		if err := rows.Scan(&t.ID, &t.Name, &created, &settings); err != nil {
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
// ErrNotFound when it does not exist.
func (s *Store) UpdateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	settings, err := json.Marshal(t.Limits)
	if err != nil {
		return Tenant{}, fmt.Errorf("encode tenant settings: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET name = CASE WHEN ? = '' THEN name ELSE ? END, settings = ?
			WHERE id = ?`, t.Name, t.Name, string(settings), t.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("tenant %q: %w", t.ID, ErrNotFound)
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
	k := AppKey{Key: key, TenantID: tenantID, CreatedAt: time.Now().UTC()}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("tenant %q: %w", tenantID, ErrNotFound)
			}
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO app_keys (app_key, tenant_id, secret_hash, secret_sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
			key, tenantID, HashSecret(secret), s.sealSecret(secret), millis(k.CreatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return AppKey{}, fmt.Errorf("create app key %q: %w", key, ErrExists)
	}
	if err != nil {
		return AppKey{}, fmt.Errorf("create app key %q: %w", key, err)
	}
	return k, nil
}

// ListAppKeys returns a tenant's app keys, revoked ones included.
func (s *Store) ListAppKeys(ctx context.Context, tenantID string) ([]AppKey, error) {
	rows, err := s.query(ctx,
		`SELECT app_key, tenant_id, created_at, revoked_at FROM app_keys WHERE tenant_id = ? ORDER BY created_at, app_key`,
		tenantID)
	if err != nil {
		return nil, fmt.Errorf("list app keys: %w", err)
	}
	defer rows.Close()
	var out []AppKey
	for rows.Next() {
		var k AppKey
		var created, revoked int64
		if err := rows.Scan(&k.Key, &k.TenantID, &created, &revoked); err != nil {
			return nil, fmt.Errorf("list app keys: %w", err)
		}
		k.CreatedAt, k.Revoked = fromMillis(created), revoked != 0
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAppKey makes a key's secret stop working. ErrNotFound if unknown.
func (s *Store) RevokeAppKey(ctx context.Context, key string) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE app_keys SET revoked_at = ? WHERE app_key = ? AND revoked_at = 0`, millis(time.Now()), key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("app key %q: %w", key, ErrNotFound)
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
		`SELECT app_key, tenant_id, created_at FROM app_keys WHERE secret_hash = ? AND revoked_at = 0`,
		HashSecret(secret)).Scan(&k.Key, &k.TenantID, &created)
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
	err := s.queryRow(ctx, `SELECT app_key, tenant_id, created_at, secret_sealed FROM app_keys
		WHERE app_key = ? AND revoked_at = 0`, key).Scan(&k.Key, &k.TenantID, &created, &sealed)
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
