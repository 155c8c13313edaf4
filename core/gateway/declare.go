package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/callgate/callgate/core/api"
	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// DeclaredTenant is a tenant as a configuration file describes it, for
// people who keep their configuration in git. Applying it at start is
// idempotent: what exists is left as it is, what is missing is made. What
// it makes is in the audit log with the actor "config-file". A sub-tenant
// names its parent, declared before it.
type DeclaredTenant struct {
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Parent   string            `yaml:"parent"`
	AppKeys  []DeclaredAppKey  `yaml:"app_keys"`
	Configs  []DeclaredConfig  `yaml:"configs"`
	Channels []DeclaredChannel `yaml:"channels"`
	Rules    []DeclaredRule    `yaml:"rules"`
	// Retry is the tenant's retry schedule, as durations ("1s", "5m");
	// absent keeps what the tenant has, [] means no retries.
	Retry []string `yaml:"retry"`
}

// DeclaredAppKey is an app key with its secret, best given through an
// environment variable (secret_env) so that the file holds none.
type DeclaredAppKey struct {
	Key       string `yaml:"key"`
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
	Agent     bool   `yaml:"agent"` // may act for the tenant's sub-tenants
}

// DeclaredConfig is a callback config; key and token may come from
// variables too.
type DeclaredConfig struct {
	URL      string `yaml:"url"`
	Key      string `yaml:"key"`
	KeyEnv   string `yaml:"key_env"`
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"token_env"`
	// Retry, Rate and Burst are the config's delivery policy: a retry
	// schedule as durations ([] for no retries) and sends per second. When
	// either is given the declared policy replaces the stored one.
	Retry []string `yaml:"retry"`
	Rate  float64  `yaml:"rate"`
	Burst int      `yaml:"burst"`
}

// DeclaredChannel is a tenant's channel.
type DeclaredChannel struct {
	ID       string            `yaml:"id"`
	Plugin   string            `yaml:"plugin"`
	Settings map[string]string `yaml:"settings"`
}

// DeclaredRule is a rule module on disk, relative to the file's folder.
type DeclaredRule struct {
	Code string `yaml:"code"`
	Wasm string `yaml:"wasm"`
}

func fromEnv(value, env, what string) (string, error) {
	if env == "" {
		return value, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok {
		return "", fmt.Errorf("%s: variable %s is not set", what, env)
	}
	return v, nil
}

// applyDeclared makes what the configuration declares and does not exist
// yet. Rules are uploaded only when their module differs from the active
// version.
func (g *Gateway) applyDeclared(ctx context.Context) error {
	for _, t := range g.cfg.Tenants {
		if t.ID == "" {
			return errors.New("declared tenant without an id")
		}
		detail := map[string]any{"name": t.Name}
		if t.Parent != "" {
			detail["parentId"] = t.Parent
		}
		tctx := store.WithAudit(ctx, declared(t.ID, api.AuditTenantCreate, t.ID, detail))
		if _, err := g.store.CreateTenant(tctx, store.Tenant{ID: t.ID, Name: t.Name, ParentID: t.Parent}); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("declare tenant %q: %w", t.ID, err)
		}
		if t.Retry != nil {
			if err := g.declareTenantRetry(ctx, t); err != nil {
				return err
			}
		}
		for _, k := range t.AppKeys {
			secret, err := fromEnv(k.Secret, k.SecretEnv, "app key "+k.Key)
			if err != nil {
				return err
			}
			if k.Key == "" || len(secret) < 16 {
				return fmt.Errorf("declared app key %q of tenant %q needs a key and a secret of 16 characters or more", k.Key, t.ID)
			}
			kctx := store.WithAudit(ctx, declared(t.ID, api.AuditAppKeyCreate, k.Key, map[string]any{"agent": k.Agent}))
			if _, err := g.store.AddAppKey(kctx, store.AppKey{TenantID: t.ID, Key: k.Key, Agent: k.Agent}, secret); err != nil && !errors.Is(err, store.ErrExists) {
				return fmt.Errorf("declare app key %q: %w", k.Key, err)
			}
		}
		for _, c := range t.Configs {
			key, err := fromEnv(c.Key, c.KeyEnv, "config "+c.URL)
			if err != nil {
				return err
			}
			token, err := fromEnv(c.Token, c.TokenEnv, "config "+c.URL)
			if err != nil {
				return err
			}
			if key != "" && len(key) != 32 {
				return fmt.Errorf("declared config %q: the key must be 32 bytes", c.URL)
			}
			added, err := g.store.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: t.ID, URL: c.URL, Key: key,
				Token: token, Operator: "config-file"})
			switch {
			case errors.Is(err, store.ErrExists):
			case err != nil:
				return fmt.Errorf("declare config %q: %w", c.URL, err)
			default:
				if err := g.store.RecordAudit(ctx, declared(t.ID, api.AuditConfigAdd, added.ID, api.ConfigAuditDetail(added))); err != nil {
					return err
				}
			}
			if c.Retry != nil || c.Rate != 0 || c.Burst != 0 {
				if err := g.declareConfigPolicy(ctx, t.ID, c); err != nil {
					return err
				}
			}
		}
		for _, ch := range t.Channels {
			if err := g.declareChannel(ctx, t.ID, ch); err != nil {
				return err
			}
		}
		for _, r := range t.Rules {
			if err := g.declareRule(ctx, t.ID, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *Gateway) declareRule(ctx context.Context, tenantID string, r DeclaredRule) error {
	path := r.Wasm
	if !filepath.IsAbs(path) && g.cfg.dir != "" {
		path = filepath.Join(g.cfg.dir, path)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("declare rule %q: %w", r.Code, err)
	}
	if cur, err := g.store.ActiveRuleRef(ctx, tenantID, r.Code); err == nil && cur.SHA256 == shaHex(wasm) {
		return nil // already the active version
	}
	classifies, err := g.rules.Check(ctx, r.Code, wasm, route.Input{TenantID: tenantID, MessageID: store.NewID("msg"),
		Rule: r.Code, Content: "{}", Configs: []route.Config{}})
	if err != nil {
		return fmt.Errorf("declare rule %q: %w", r.Code, err)
	}
	rv, err := g.store.PutRule(ctx, store.RuleVersion{TenantID: tenantID, Code: r.Code, Wasm: wasm, Classifies: classifies}, false)
	if err != nil {
		return fmt.Errorf("declare rule %q: %w", r.Code, err)
	}
	g.rules.Invalidate(tenantID, r.Code)
	return g.store.RecordAudit(ctx, declared(tenantID, api.AuditRulePut, rv.Code, api.RuleAuditDetail(rv)))
}

// declareChannel puts a channel the file declares, when it differs from
// the stored one.
func (g *Gateway) declareChannel(ctx context.Context, tenantID string, ch DeclaredChannel) error {
	want := store.Channel{TenantID: tenantID, ID: ch.ID, Plugin: ch.Plugin, Settings: ch.Settings}
	if cur, err := g.store.GetChannel(ctx, tenantID, ch.ID); err == nil && cur.Plugin == want.Plugin &&
		maps.Equal(cur.Settings, want.Settings) {
		return nil
	}
	saved, err := g.store.PutChannel(ctx, want)
	if err != nil {
		return fmt.Errorf("declare channel %q: %w", ch.ID, err)
	}
	return g.store.RecordAudit(ctx, declared(tenantID, api.AuditChannelPut, saved.ID, api.ChannelAuditDetail(saved)))
}

// declared is the audit event of a change the configuration file made.
func declared(tenantID, action, target string, detail map[string]any) store.AuditEvent {
	return store.AuditEvent{TenantID: tenantID, Actor: api.AuditActorConfigFile, Action: action, Target: target, Detail: detail}
}

// declaredSchedule reads a declared retry schedule; nil stays nil.
func declaredSchedule(delays []string, what string) (*callgatev1.RetryPolicy, error) {
	if delays == nil {
		return nil, nil
	}
	r := &callgatev1.RetryPolicy{ScheduleMs: make([]int32, len(delays))}
	for i, d := range delays {
		v, err := time.ParseDuration(d)
		if err != nil || v < 0 || v > math.MaxInt32*time.Millisecond {
			return nil, fmt.Errorf("%s: retry delay %q is not a duration like 30s", what, d)
		}
		r.ScheduleMs[i] = int32(v.Milliseconds())
	}
	return r, nil
}

// declareConfigPolicy gives a declared config the declared policy, unless
// it has it already.
func (g *Gateway) declareConfigPolicy(ctx context.Context, tenantID string, c DeclaredConfig) error {
	what := fmt.Sprintf("declared config %q", c.URL)
	retry, err := declaredSchedule(c.Retry, what)
	if err != nil {
		return err
	}
	var rate *callgatev1.RateLimit
	if c.Rate != 0 || c.Burst != 0 {
		rate = &callgatev1.RateLimit{PerSecond: c.Rate, Burst: int32(c.Burst)}
	}
	want, err := api.CheckPolicy(retry, rate)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	configs, err := g.store.ListCallbackConfigs(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, cfg := range configs {
		if cfg.URL != c.URL {
			continue
		}
		if reflect.DeepEqual(cfg.Policy, want) {
			return nil
		}
		actx := store.WithAudit(ctx, declared(tenantID, api.AuditConfigPolicy, cfg.ID, map[string]any{"policy": want}))
		if _, err := g.store.SetCallbackConfigPolicy(actx, tenantID, cfg.ID, want); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	return fmt.Errorf("%s: not found after adding it", what)
}

// declareTenantRetry gives a declared tenant the declared retry schedule,
// unless it has it already; its other settings stay as they are.
func (g *Gateway) declareTenantRetry(ctx context.Context, t DeclaredTenant) error {
	what := fmt.Sprintf("declared tenant %q", t.ID)
	retry, err := declaredSchedule(t.Retry, what)
	if err != nil {
		return err
	}
	want, err := api.CheckPolicy(retry, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	tn, err := g.store.GetTenant(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if reflect.DeepEqual(tn.Limits.Retry, want.Retry) {
		return nil
	}
	tn.Limits.Retry = want.Retry
	actx := store.WithAudit(ctx, declared(t.ID, api.AuditTenantUpdate, t.ID, map[string]any{"retry": want.Retry}))
	if _, err := g.store.UpdateTenant(actx, store.Tenant{ID: t.ID, Limits: tn.Limits}); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
