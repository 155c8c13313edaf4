package limits

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/reqid"
)

// Class says which set of buckets a call draws from.
type Class int

// The classes of calls.
const (
	// None is not limited.
	None Class = iota
	// Ingest is a callback submitted.
	Ingest
	// Manage is a management call: configs, rules, channels, deliveries.
	Manage
)

// Options are the rates of a Limits. Unset rates take the defaults.
type Options struct {
	Ingest Rate
	Manage Rate
	// Overrides, when set, gives tenants limits of their own.
	Overrides Overrides
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log gets a line for each REST request refused; nil discards them.
	// (Refused Connect calls are the interceptors' to log.)
	Log *slog.Logger
}

// Overrides says a tenant's own rate for a class, when it has one.
type Overrides func(tenantID string, c Class) (Rate, bool)

// Limits holds the ingest and management buckets of every tenant.
type Limits struct {
	ingest, manage *Limiter
	log            *slog.Logger
	overrides      Overrides
	now            func() time.Time

	mu  sync.Mutex
	own map[ownKey]*Limiter // tenants with limits of their own
}

type ownKey struct {
	class  Class
	tenant string
}

// New returns the Limits for opts.
func New(opts Options) *Limits {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limits{
		ingest:    NewLimiter(opts.Ingest.withDefault(DefaultIngest), opts.Now),
		manage:    NewLimiter(opts.Manage.withDefault(DefaultManage), opts.Now),
		log:       log,
		overrides: opts.Overrides,
		now:       opts.Now,
		own:       map[ownKey]*Limiter{},
	}
}

// ForClass is the class's limits as one limiter keyed by tenant, tenants'
// own limits included.
func (l *Limits) ForClass(c Class) interface {
	Allow(tenantID string) (time.Duration, bool)
} {
	return classLimiter{l, c}
}

type classLimiter struct {
	l *Limits
	c Class
}

func (cl classLimiter) Allow(tenantID string) (time.Duration, bool) {
	return cl.l.Allow(cl.c, tenantID)
}

// Limiter is the class's limiter; nil (no limit) for None.
func (l *Limits) Limiter(c Class) *Limiter {
	switch c {
	case Ingest:
		return l.ingest
	case Manage:
		return l.manage
	}
	return nil
}

// Allow takes a token from the tenant's bucket of class c: its own limit
// when it has one, else the gateway's.
func (l *Limits) Allow(c Class, tenantID string) (retryAfter time.Duration, ok bool) {
	return l.limiterFor(c, tenantID).Allow(tenantID)
}

func (l *Limits) limiterFor(c Class, tenantID string) *Limiter {
	if l.overrides == nil || c == None {
		return l.Limiter(c)
	}
	r, ok := l.overrides(tenantID, c)
	if !ok {
		return l.Limiter(c)
	}
	key := ownKey{c, tenantID}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, found := l.own[key]
	if !found || lim.Rate() != r {
		// A negative rate is "no limit": NewLimiter answers nil for it.
		lim = NewLimiter(r, l.now)
		l.own[key] = lim
	}
	return lim
}

// TakeN takes n tokens at once from the tenant's bucket of class c, for
// a batch of n calls. Over the limit it returns an *ExceededError.
func (l *Limits) TakeN(c Class, tenantID string, n int) error {
	lim := l.limiterFor(c, tenantID)
	wait, ok := lim.AllowN(tenantID, n)
	if ok {
		return nil
	}
	if b := lim.Rate().Burst; n > b {
		return &ExceededError{API: apierr.New(apierr.LimitExceeded,
			"a batch of %d is more than this tenant's burst of %d; send smaller batches", n, b), Wait: wait}
	}
	return &ExceededError{API: exceeded(c, lim, wait), Wait: wait}
}

// ExceededError is a call over its rate limit: its API error, and how long
// until it would be allowed.
type ExceededError struct {
	API  *apierr.Error
	Wait time.Duration
}

func (e *ExceededError) Error() string { return e.API.Error() }
func (e *ExceededError) Unwrap() error { return e.API }

// RetryAfter is the Retry-After value to answer with, in whole seconds.
func (e *ExceededError) RetryAfter() int { return RetryAfterSeconds(e.Wait) }

// RetryAfterHeader is the standard header that says when to try again.
const RetryAfterHeader = "Retry-After"

// exceeded is the error of a call over its limit.
func exceeded(c Class, l *Limiter, wait time.Duration) *apierr.Error {
	what := "management"
	if c == Ingest {
		what = "ingest"
	}
	return apierr.New(apierr.LimitExceeded, "%s rate limit of %g calls a second exceeded; retry in %d s",
		what, l.Rate().PerSecond, RetryAfterSeconds(wait))
}

// Interceptor limits the Connect calls named in classes, which maps a
// procedure ("/callgate.v1.CallbackService/SubmitCallback") or a whole
// service ("callgate.v1.ConfigService") to its class. It must run after
// the authenticating interceptor, whose principal names the tenant. A call
// over its limit fails with ResourceExhausted, the stable code
// LimitExceeded and a Retry-After header.
func (l *Limits) Interceptor(classes map[string]Class) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			c := classOf(classes, req.Spec().Procedure)
			p, ok := auth.FromContext(ctx)
			if c == None || !ok {
				return next(ctx, req)
			}
			lim := l.limiterFor(c, p.TenantID)
			if wait, ok := lim.Allow(p.TenantID); !ok {
				ce := apierr.ToConnect(exceeded(c, lim, wait))
				ce.Meta().Set(RetryAfterHeader, strconv.Itoa(RetryAfterSeconds(wait)))
				return nil, ce
			}
			return next(ctx, req)
		}
	}
}

func classOf(classes map[string]Class, procedure string) Class {
	if c, ok := classes[procedure]; ok {
		return c
	}
	service, _, _ := strings.Cut(strings.TrimPrefix(procedure, "/"), "/")
	return classes[service]
}

// Authenticator finds the tenant a request's credentials belong to.
type Authenticator interface {
	Tenant(ctx context.Context, h http.Header) (auth.Principal, error)
}

// Middleware limits the REST requests classify puts in a class. It
// authenticates them first, to know the tenant; a request that does not
// authenticate goes on unlimited, for next to refuse in its own words. A
// request that does goes on with its principal in the context (see
// [Reuse]). A request over its limit is answered 429 with Retry-After and
// the seed's envelope with the code LimitExceeded.
func (l *Limits) Middleware(a Authenticator, classify func(*http.Request) Class, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := classify(r)
		if c == None {
			next.ServeHTTP(w, r)
			return
		}
		if l.Limiter(c) == nil && l.overrides == nil {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		p, err := a.Tenant(ctx, r.Header)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		lim := l.limiterFor(c, p.TenantID)
		if wait, ok := lim.Allow(p.TenantID); !ok {
			e := exceeded(c, lim, wait)
			l.log.InfoContext(ctx, "request refused", "request_id", reqid.From(ctx), "path", r.URL.Path,
				"tenant", p.TenantID, "code", e.Code, "retry_after", wait)
			writeExceeded(w, r, e, wait)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(ctx, p)))
	})
}

func writeExceeded(w http.ResponseWriter, r *http.Request, e *apierr.Error, wait time.Duration) {
	id := reqid.From(r.Context())
	w.Header().Set(RetryAfterHeader, strconv.Itoa(RetryAfterSeconds(wait)))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(ingest.Envelope{
		Code: e.Code, Message: e.Message, Result: map[string]any{"requestId": id}, RequestID: id,
	})
}

// Reuse returns an Authenticator that takes the principal Middleware put
// in the request's context, and asks a only when there is none, so a
// limited request is not authenticated twice.
func Reuse(a Authenticator) Authenticator { return reuse{a} }

type reuse struct{ Authenticator }

func (r reuse) Tenant(ctx context.Context, h http.Header) (auth.Principal, error) {
	if p, ok := auth.FromContext(ctx); ok {
		return p, nil
	}
	return r.Authenticator.Tenant(ctx, h)
}

var _ Authenticator = (*auth.Authenticator)(nil)
