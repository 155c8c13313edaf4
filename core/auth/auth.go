// Package auth turns bearer credentials into a principal: a tenant's app
// secret into that tenant, or the operator's admin token into admin rights.
//
// An agent app key may also act for its tenant's sub-tenants (the seed's
// Agent.ProxyOrganizationId): a call names the sub-tenant in the
// ProxyHeader, or in the request body where the seed's API has an Agent,
// and the principal then acts for the sub-tenant while still naming the
// key and tenant that really called.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/store"
)

// Principal is who a tenant call acts as, and who really made it.
type Principal struct {
	// TenantID is the tenant the call acts for: whose data it reads and
	// changes.
	TenantID string
	// AppKey is the app key that authenticated: the real caller.
	AppKey string
	// KeyTenantID is the tenant AppKey belongs to. It differs from
	// TenantID only when an agent key acts for a sub-tenant.
	KeyTenantID string
	// Agent says AppKey may act for KeyTenantID's sub-tenants.
	Agent bool
}

// Acting says the call acts for a sub-tenant, not for the key's own
// tenant.
func (p Principal) Acting() bool { return p.KeyTenantID != "" && p.KeyTenantID != p.TenantID }

// Actor names the caller in audit records: the app key, followed by
// "for <tenant>" when an agent key acts for a sub-tenant.
func (p Principal) Actor() string {
	if p.Acting() {
		return p.AppKey + " for " + p.TenantID
	}
	return p.AppKey
}

// ProxyHeader names, on a tenant call, the sub-tenant an agent key acts
// for. Without it a call acts for the key's own tenant.
const ProxyHeader = "X-Callgate-Proxy-Organization"

// KeyStore finds the app key a secret belongs to.
type KeyStore interface {
	AppKeyBySecret(ctx context.Context, secret string) (store.AppKey, error)
	TenantStore
}

// TenantStore finds a tenant, to check that it is a sub-tenant of an agent
// key's tenant.
type TenantStore interface {
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
}

// ActFor returns p acting for organisation org, the way the seed's
// Agent.ProxyOrganizationId asks: org empty or the key's own tenant gives
// the key's own tenant; another org needs an agent key
// (apierr.NoPermissionFeature otherwise) and org must be a sub-tenant of
// the key's tenant (apierr.ProxyOrganization otherwise, whether or not
// org exists). Errors are *apierr.Error.
func ActFor(ctx context.Context, tenants TenantStore, p Principal, org string) (Principal, error) {
	own := p.KeyTenantID
	if own == "" {
		own = p.TenantID
	}
	p.KeyTenantID = own
	if org == "" || org == own {
		p.TenantID = own
		return p, nil
	}
	if !p.Agent {
		return Principal{}, apierr.New(apierr.NoPermissionFeature,
			"app key %q is not an agent key: it may act for its own tenant only, not for organisation %q", p.AppKey, org)
	}
	t, err := tenants.GetTenant(ctx, org)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Principal{}, apierr.Internal(err)
	}
	if err != nil || t.ParentID != own {
		return Principal{}, apierr.New(apierr.ProxyOrganization,
			"organisation %q is not a sub-tenant of %q: this agent key may not act for it", org, own)
	}
	p.TenantID = org
	return p, nil
}

// Authenticator checks credentials. The zero admin token disables admin
// calls altogether.
type Authenticator struct {
	keys     KeyStore
	admin    [32]byte
	hasAdmin bool

	// known remembers secrets that authenticated, by their hash, for
	// knownTTL: a store read per call was a visible part of ingest. A
	// revoked key stops working within knownTTL.
	mu    sync.Mutex
	known map[[32]byte]knownKey
}

type knownKey struct {
	p  Principal
	at time.Time
}

const knownTTL = 2 * time.Second

// New returns an Authenticator over keys; adminToken may be empty.
func New(keys KeyStore, adminToken string) *Authenticator {
	a := &Authenticator{keys: keys}
	if adminToken != "" {
		a.admin, a.hasAdmin = sha256.Sum256([]byte(adminToken)), true
	}
	return a
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(h http.Header) (string, bool) {
	v := h.Get("Authorization")
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Tenant authenticates a tenant call. When h names a sub-tenant in
// ProxyHeader, the principal acts for it (see ActFor).
func (a *Authenticator) Tenant(ctx context.Context, h http.Header) (Principal, error) {
	p, err := a.key(ctx, h)
	if err != nil {
		return Principal{}, err
	}
	if org := strings.TrimSpace(h.Get(ProxyHeader)); org != "" {
		return ActFor(ctx, a.keys, p, org)
	}
	return p, nil
}

// key authenticates the app secret of h.
func (a *Authenticator) key(ctx context.Context, h http.Header) (Principal, error) {
	secret, ok := BearerToken(h)
	if !ok {
		return Principal{}, apierr.New(apierr.Unauthorized, "missing credentials: send Authorization: Bearer <app secret>")
	}
	sum := sha256.Sum256([]byte(secret))
	a.mu.Lock()
	kk, ok := a.known[sum]
	a.mu.Unlock()
	if ok && time.Since(kk.at) < knownTTL {
		return kk.p, nil
	}
	k, err := a.keys.AppKeyBySecret(ctx, secret)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, apierr.New(apierr.Unauthorized, "invalid credentials")
	}
	if err != nil {
		return Principal{}, apierr.Internal(err)
	}
	p := Principal{TenantID: k.TenantID, AppKey: k.Key, KeyTenantID: k.TenantID, Agent: k.Agent}
	a.mu.Lock()
	if a.known == nil || len(a.known) > 10_000 {
		a.known = map[[32]byte]knownKey{} // keys are few; this only bounds a flood
	}
	a.known[sum] = knownKey{p: p, at: time.Now()}
	a.mu.Unlock()
	return p, nil
}

// Admin authenticates an operator call.
func (a *Authenticator) Admin(h http.Header) error {
	token, ok := BearerToken(h)
	if !ok {
		return apierr.New(apierr.Unauthorized, "missing credentials: send Authorization: Bearer <admin token>")
	}
	sum := sha256.Sum256([]byte(token))
	if !a.hasAdmin || subtle.ConstantTimeCompare(sum[:], a.admin[:]) != 1 {
		return apierr.New(apierr.Unauthorized, "invalid admin token")
	}
	return nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal a tenant interceptor put in ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// TenantInterceptor authenticates every call of a tenant service and puts
// the principal in its context.
func (a *Authenticator) TenantInterceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			p, err := a.Tenant(ctx, req.Header())
			if err != nil {
				return nil, apierr.ToConnect(err)
			}
			return next(WithPrincipal(ctx, p), req)
		}
	}
}

// AdminInterceptor lets only calls with the admin token through.
func (a *Authenticator) AdminInterceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if err := a.Admin(req.Header()); err != nil {
				return nil, apierr.ToConnect(err)
			}
			return next(ctx, req)
		}
	}
}
