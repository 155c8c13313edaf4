package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CallbackConfig is where a tenant's HTTP callbacks go, with the key that
// encrypts and the token that signs them.
type CallbackConfig struct {
	ID        string
	TenantID  string
	URL       string
	Key       string
	Token     string
	Operator  string
	CreatedAt time.Time
	// Disabled is set when the endpoint said it is gone or failed for too
	// long; deliveries to it stop until it is enabled again.
	Disabled       bool
	DisabledReason string
	// Auth is how the receiver wants to be authenticated beyond the
	// signatures: extra headers and basic authentication.
	Auth EndpointAuth
	// Policy is how deliveries to the config are retried and paced.
	Policy DeliveryPolicy
}

// DeliveryPolicy is a config's own way of delivering, kept as JSON in
// callback_configs.policy: {"retry":{"scheduleMs":[1000,5000]},
// "rate":{"perSecond":10,"burst":10}}. A nil part inherits.
type DeliveryPolicy struct {
	Retry *RetryPolicy `json:"retry,omitempty"`
	Rate  *RateLimit   `json:"rate,omitempty"`
}

// RetryPolicy is a retry schedule, the delay before each retry; an empty
// (non-nil) ScheduleMs means no retries. A tenant's is kept in its
// settings as {"retry":{"scheduleMs":[...]}}.
type RetryPolicy struct {
	ScheduleMs []int64 `json:"scheduleMs"`
}

// Schedule returns the delays as durations; nil for a nil policy, so that
// the caller can tell "inherit" from "no retries".
func (p *RetryPolicy) Schedule() []time.Duration {
	if p == nil {
		return nil
	}
	out := make([]time.Duration, len(p.ScheduleMs))
	for i, ms := range p.ScheduleMs {
		out[i] = time.Duration(ms) * time.Millisecond
	}
	return out
}

// RateLimit bounds the sends per second to one endpoint, with a burst.
type RateLimit struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst,omitempty"`
}

func (p DeliveryPolicy) encode() (string, error) {
	if p.Retry == nil && p.Rate == nil {
		return "", nil
	}
	if p.Retry != nil && p.Retry.ScheduleMs == nil {
		p.Retry = &RetryPolicy{ScheduleMs: []int64{}} // [] is not null: no retries
	}
	return marshalJSON(p)
}

func decodePolicy(configID, raw string) (DeliveryPolicy, error) {
	var p DeliveryPolicy
	if raw == "" {
		return p, nil
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return DeliveryPolicy{}, fmt.Errorf("decode policy of config %q: %w", configID, err)
	}
	if p.Retry != nil && p.Retry.ScheduleMs == nil {
		p.Retry.ScheduleMs = []int64{}
	}
	return p, nil
}

// EndpointAuth is a receiver's authentication beyond signatures.
type EndpointAuth struct {
	Headers   map[string]string `json:"headers,omitempty"`
	BasicAuth string            `json:"basicAuth,omitempty"` // "user:password"
	OAuth2    *OAuth2           `json:"oauth2,omitempty"`
}

// OAuth2 is the client credentials grant a receiver wants.
type OAuth2 struct {
	TokenURL     string `json:"tokenUrl"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Scope        string `json:"scope,omitempty"`
}

func (a EndpointAuth) empty() bool {
	return len(a.Headers) == 0 && a.BasicAuth == "" && a.OAuth2 == nil
}

// AddCallbackConfig adds a config for a URL the tenant does not have yet;
// ErrExists when it has. The audit event in ctx (see WithAudit), if any,
// is recorded in the same transaction, about the new config's id.
func (s *Store) AddCallbackConfig(ctx context.Context, c CallbackConfig) (CallbackConfig, error) {
	if c.ID == "" {
		c.ID = NewID("cfg")
	}
	c.CreatedAt = time.Now().UTC()
	auth := ""
	if !c.Auth.empty() {
		b, err := json.Marshal(c.Auth)
		if err != nil {
			return CallbackConfig{}, fmt.Errorf("encode config auth: %w", err)
		}
		auth = s.seal(string(b))
	}
	policy, err := c.Policy.encode()
	if err != nil {
		return CallbackConfig{}, fmt.Errorf("encode config policy: %w", err)
	}
	audit := auditFor(ctx)
	err = s.write(ctx, func(ctx context.Context, tx *txn) error {
		tx.touchConfigs()
		_, err := tx.ExecContext(ctx,
			`INSERT INTO callback_configs (id, tenant_id, url, callback_key, callback_token, operator, created_at, auth, policy)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TenantID, c.URL, s.seal(c.Key), s.seal(c.Token), c.Operator, millis(c.CreatedAt), auth, policy)
		if err != nil {
			return err
		}
		return audit(ctx, tx, c.TenantID, c.ID)
	})
	if isUniqueViolation(err) {
		return CallbackConfig{}, fmt.Errorf("add callback config: %w", ErrExists)
	}
	if isForeignKeyViolation(err) {
		return CallbackConfig{}, fmt.Errorf("add callback config: tenant %q: %w", c.TenantID, ErrNotFound)
	}
	if err != nil {
		return CallbackConfig{}, fmt.Errorf("add callback config: %w", err)
	}
	return c, nil
}

// DeleteCallbackConfigByURL removes the tenant's config with exactly that
// URL and returns its id; ErrNotFound when there is none. The audit event
// in ctx (see WithAudit), if any, is recorded in the same transaction.
func (s *Store) DeleteCallbackConfigByURL(ctx context.Context, tenantID, url string) (string, error) {
	var id string
	audit := auditFor(ctx)
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		tx.touchConfigs()
		err := tx.QueryRowContext(ctx,
			`DELETE FROM callback_configs WHERE tenant_id = ? AND url = ? RETURNING id`, tenantID, url).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, tenantID, id)
	})
	if err != nil {
		return "", fmt.Errorf("delete callback config: %w", err)
	}
	return id, nil
}

const configColumns = `id, tenant_id, url, callback_key, callback_token, operator, created_at, disabled_at, disabled_reason, auth, policy`

func (s *Store) scanConfig(row interface{ Scan(...any) error }) (CallbackConfig, error) {
	var c CallbackConfig
	var created, disabled int64
	var auth, policy string
	if err := row.Scan(&c.ID, &c.TenantID, &c.URL, &c.Key, &c.Token, &c.Operator, &created, &disabled, &c.DisabledReason, &auth, &policy); err != nil {
		return CallbackConfig{}, err
	}
	var err error
	if c.Policy, err = decodePolicy(c.ID, policy); err != nil {
		return CallbackConfig{}, err
	}
	if auth != "" {
		plain, err := s.open(auth)
		if err != nil {
			return CallbackConfig{}, err
		}
		if err := json.Unmarshal([]byte(plain), &c.Auth); err != nil {
			return CallbackConfig{}, fmt.Errorf("decode auth of config %q: %w", c.ID, err)
		}
	}
	c.Disabled = disabled != 0
	c.CreatedAt = fromMillis(created)
	if c.Key, err = s.open(c.Key); err != nil {
		return CallbackConfig{}, err
	}
	if c.Token, err = s.open(c.Token); err != nil {
		return CallbackConfig{}, err
	}
	return c, nil
}

// ListCallbackConfigs returns the tenant's configs, oldest first, secrets
// included: callers that show them to people must strip them.
func (s *Store) ListCallbackConfigs(ctx context.Context, tenantID string) ([]CallbackConfig, error) {
	rows, err := s.query(ctx,
		`SELECT `+configColumns+` FROM callback_configs WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list callback configs: %w", err)
	}
	defer rows.Close()
	var out []CallbackConfig
	for rows.Next() {
		c, err := s.scanConfig(rows)
		if err != nil {
			return nil, fmt.Errorf("list callback configs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetCallbackConfig returns one of the tenant's configs or ErrNotFound.
func (s *Store) GetCallbackConfig(ctx context.Context, tenantID, id string) (CallbackConfig, error) {
	if c, ok := s.configs.getConfig(tenantID, id); ok {
		return c, nil
	}
	gen := s.configs.generation()
	c, err := s.scanConfig(s.queryRow(ctx,
		`SELECT `+configColumns+` FROM callback_configs WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CallbackConfig{}, fmt.Errorf("callback config %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return CallbackConfig{}, fmt.Errorf("get callback config: %w", err)
	}
	s.configs.keepConfig(gen, c)
	return c, nil
}

// SetCallbackConfigPolicy replaces the policy of one of the tenant's
// configs and returns the config; ErrNotFound when there is no such
// config. The audit event in ctx (see WithAudit), if any, is recorded in
// the same transaction.
func (s *Store) SetCallbackConfigPolicy(ctx context.Context, tenantID, id string, p DeliveryPolicy) (CallbackConfig, error) {
	policy, err := p.encode()
	if err != nil {
		return CallbackConfig{}, fmt.Errorf("encode config policy: %w", err)
	}
	ev, audited := auditFrom(ctx)
	err = s.write(ctx, func(ctx context.Context, tx *txn) error {
		tx.touchConfigs()
		res, err := tx.ExecContext(ctx, `UPDATE callback_configs SET policy = ? WHERE tenant_id = ? AND id = ?`,
			policy, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("callback config %q: %w", id, ErrNotFound)
		}
		if audited {
			return insertAudit(ctx, tx, ev.forTenant(tenantID))
		}
		return nil
	})
	if err != nil {
		return CallbackConfig{}, fmt.Errorf("set callback config policy: %w", err)
	}
	return s.GetCallbackConfig(ctx, tenantID, id)
}

// CallbackConfigPolicy returns the policy of one of the tenant's configs;
// ErrNotFound when there is no such config. It is asked at every delivery
// attempt and answers from the config cache, which every write to the
// configs clears.
func (s *Store) CallbackConfigPolicy(ctx context.Context, tenantID, id string) (DeliveryPolicy, error) {
	c, err := s.GetCallbackConfig(ctx, tenantID, id)
	if err != nil {
		return DeliveryPolicy{}, err
	}
	return c.Policy, nil
}

// ConfigRef is what rules see of a config: no secret, only whether one is
// set. Reading refs opens nothing sealed, so it is cheap enough for every
// callback.
type ConfigRef struct {
	ID       string
	URL      string
	HasKey   bool
	HasToken bool
	Disabled bool
}

// ConfigRefs returns the tenant's configs as rules see them, oldest first.
func (s *Store) ConfigRefs(ctx context.Context, tenantID string) ([]ConfigRef, error) {
	if refs, ok := s.configs.getRefs(tenantID); ok {
		return refs, nil
	}
	gen := s.configs.generation()
	rows, err := s.query(ctx, `SELECT id, url, callback_key != '', callback_token != '', disabled_at != 0
		FROM callback_configs WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list callback configs: %w", err)
	}
	defer rows.Close()
	var out []ConfigRef
	for rows.Next() {
		var c ConfigRef
		if err := rows.Scan(&c.ID, &c.URL, &c.HasKey, &c.HasToken, &c.Disabled); err != nil {
			return nil, fmt.Errorf("list callback configs: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list callback configs: %w", err)
	}
	s.configs.keepRefs(gen, tenantID, out)
	return out, nil
}
