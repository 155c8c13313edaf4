package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// RuleVersion is one uploaded version of a tenant's rule.
type RuleVersion struct {
	TenantID   string
	Code       string
	Version    int
	Wasm       []byte // empty in listings
	Size       int
	SHA256     string
	Classifies bool
	Active     bool
	CreatedAt  time.Time
}

// PutRule stores a new version of a rule (numbered after the last one) and
// makes it the active one unless inactive is set.
func (s *Store) PutRule(ctx context.Context, r RuleVersion, inactive bool) (RuleVersion, error) {
	sum := sha256.Sum256(r.Wasm)
	r.SHA256 = hex.EncodeToString(sum[:])
	r.CreatedAt = time.Now().UTC()
	r.Active = !inactive
	r.Size = len(r.Wasm)
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.QueryRowContext(ctx,
			`SELECT COALESCE(MAX(version), 0) + 1 FROM rules WHERE tenant_id = ? AND code = ?`,
			r.TenantID, r.Code).Scan(&r.Version); err != nil {
			return err
		}
		if r.Active {
			if _, err := tx.ExecContext(ctx, `UPDATE rules SET active = 0 WHERE tenant_id = ? AND code = ? AND active = 1`,
				r.TenantID, r.Code); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO rules (tenant_id, code, version, wasm, sha256, classifies, active, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.TenantID, r.Code, r.Version, r.Wasm, r.SHA256, r.Classifies, r.Active, millis(r.CreatedAt))
		return err
	})
	if isForeignKeyViolation(err) {
		return RuleVersion{}, fmt.Errorf("put rule: tenant %q: %w", r.TenantID, ErrNotFound)
	}
	if err != nil {
		return RuleVersion{}, fmt.Errorf("put rule %q: %w", r.Code, err)
	}
	return r, nil
}

const ruleColumns = `tenant_id, code, version, sha256, classifies, active, created_at, length(wasm)`

func scanRule(row interface{ Scan(...any) error }, withWasm bool) (RuleVersion, error) {
	var r RuleVersion
	var created int64
	dest := []any{&r.TenantID, &r.Code, &r.Version, &r.SHA256, &r.Classifies, &r.Active, &created, &r.Size}
	if withWasm {
		dest = append(dest, &r.Wasm)
	}
	err := row.Scan(dest...)
	r.CreatedAt = fromMillis(created)
	return r, err
}

// ActiveRule returns the active version of a tenant's rule, module
// included, or ErrNotFound.
func (s *Store) ActiveRule(ctx context.Context, tenantID, code string) (RuleVersion, error) {
	r, err := scanRule(s.queryRow(ctx, `SELECT `+ruleColumns+`, wasm FROM rules
		WHERE tenant_id = ? AND code = ? AND active = 1`, tenantID, code), true)
	if errors.Is(err, sql.ErrNoRows) {
		return RuleVersion{}, fmt.Errorf("rule %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return RuleVersion{}, fmt.Errorf("get rule %q: %w", code, err)
	}
	return r, nil
}

// RuleVersions lists every version of a tenant's rule, newest first,
// without modules.
func (s *Store) RuleVersions(ctx context.Context, tenantID, code string) ([]RuleVersion, error) {
	return s.listRules(ctx, `SELECT `+ruleColumns+` FROM rules WHERE tenant_id = ? AND code = ? ORDER BY version DESC`,
		tenantID, code)
}

// ActiveRules lists the active version of each of a tenant's rules,
// without modules.
func (s *Store) ActiveRules(ctx context.Context, tenantID string) ([]RuleVersion, error) {
	return s.listRules(ctx, `SELECT `+ruleColumns+` FROM rules WHERE tenant_id = ? AND active = 1 ORDER BY code`, tenantID)
}

func (s *Store) listRules(ctx context.Context, q string, args ...any) ([]RuleVersion, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	defer rows.Close()
	var out []RuleVersion
	for rows.Next() {
		r, err := scanRule(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ActivateRule makes one version of a tenant's rule the active one.
func (s *Store) ActivateRule(ctx context.Context, tenantID, code string, version int) (RuleVersion, error) {
	var r RuleVersion
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM rules WHERE tenant_id = ? AND code = ? AND version = ?`,
			tenantID, code, version).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rule %q version %d: %w", code, version, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET active = 0 WHERE tenant_id = ? AND code = ? AND active = 1`,
			tenantID, code); err != nil {
			return err
		}
		r, err = scanRule(tx.QueryRowContext(ctx, `UPDATE rules SET active = 1
			WHERE tenant_id = ? AND code = ? AND version = ? RETURNING `+ruleColumns, tenantID, code, version), false)
		return err
	})
	if err != nil {
		return RuleVersion{}, fmt.Errorf("activate rule: %w", err)
	}
	return r, nil
}

// DeleteRule removes every version of a tenant's rule; ErrNotFound when it
// has none.
func (s *Store) DeleteRule(ctx context.Context, tenantID, code string) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE tenant_id = ? AND code = ?`, tenantID, code)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("rule %q: %w", code, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	return nil
}

// ActiveRuleRef is ActiveRule without the module: enough to tell whether a
// compiled copy is current.
func (s *Store) ActiveRuleRef(ctx context.Context, tenantID, code string) (RuleVersion, error) {
	r, err := scanRule(s.queryRow(ctx, `SELECT `+ruleColumns+` FROM rules
		WHERE tenant_id = ? AND code = ? AND active = 1`, tenantID, code), false)
	if errors.Is(err, sql.ErrNoRows) {
		return RuleVersion{}, fmt.Errorf("rule %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return RuleVersion{}, fmt.Errorf("get rule %q: %w", code, err)
	}
	return r, nil
}

// RuleModule returns the module of one version of a tenant's rule.
func (s *Store) RuleModule(ctx context.Context, tenantID, code string, version int) ([]byte, error) {
	var wasm []byte
	err := s.queryRow(ctx, `SELECT wasm FROM rules WHERE tenant_id = ? AND code = ? AND version = ?`,
		tenantID, code, version).Scan(&wasm)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("rule %q version %d: %w", code, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get rule module: %w", err)
	}
	return wasm, nil
}
