// Package auth turns bearer credentials into a principal: a tenant's app
// secret into that tenant, or the operator's admin token into admin rights.
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

// Principal is who a tenant call acts as.
type Principal struct {
	TenantID string
	AppKey   string
}

// KeyStore finds the app key a secret belongs to.
type KeyStore interface {
	AppKeyBySecret(ctx context.Context, secret string) (store.AppKey, error)
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

// Tenant authenticates a tenant call.
func (a *Authenticator) Tenant(ctx context.Context, h http.Header) (Principal, error) {
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
	p := Principal{TenantID: k.TenantID, AppKey: k.Key}
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
