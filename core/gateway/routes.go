package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"

	"github.com/callgate/callgate/core/api"
	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/limits"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/tc3"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// routes builds the HTTP handler: the seed's REST paths, every Connect
// service (Connect, gRPC and gRPC-Web on the same paths), gRPC reflection
// and the health checks.
func (g *Gateway) routes() http.Handler {
	// Connect paths (/package.Service/Method) and the seed's
	// /{tenantId}/... pattern overlap in ServeMux's eyes, so each set gets
	// its own mux and the first path segment picks one.
	mux, rpc := http.NewServeMux(), http.NewServeMux()
	// Per-tenant rate limits, after authentication (see limitedMux); a
	// batch is charged by the ingest service, one token per callback.
	lim, limited := g.rateLimits()
	svc := ingest.New(g.store, g.rules, g.dispatcher, g.log.With("component", "ingest"),
		ingest.Options{MaxContent: g.cfg.MaxContentBytes, Metrics: g.metrics, Limiter: ingestLimiter{lim},
			Receipts: feedbackReceipts{channels: g.channels, host: g.host}})
	ingest.NewRESTHandler(svc, limits.Reuse(g.auth), g.log.With("component", "ingest")).Register(mux)

	logged := connect.UnaryInterceptorFunc(g.logErrors)
	tenantOpts := connect.WithHandlerOptions(
		connect.WithInterceptors(logged, g.auth.TenantInterceptor(), limited),
		connect.WithReadMaxBytes(4<<20),
	)
	adminOpts := connect.WithHandlerOptions(
		connect.WithInterceptors(logged, g.auth.AdminInterceptor()),
		connect.WithReadMaxBytes(1<<20),
	)
	ic := ingest.NewConnectHandler(svc)
	rpc.Handle(callgatev1connect.NewCallbackServiceHandler(ic, tenantOpts))
	rpc.Handle(callgatev1connect.NewFeedbackServiceHandler(ic, tenantOpts))
	rpc.Handle(callgatev1connect.NewConfigServiceHandler(api.NewConfigService(g.store, g.log.With("component", "config")).NotifyChanges(g.policies), tenantOpts))
	rpc.Handle(callgatev1connect.NewDeliveryServiceHandler(api.NewDeliveryService(g.store, g.dispatcher), tenantOpts))
	rpc.Handle(callgatev1connect.NewChannelServiceHandler(api.NewChannelService(plugins{g.host}, g.store, g.log.With("component", "channels")), tenantOpts))
	rpc.Handle(callgatev1connect.NewRuleServiceHandler(api.NewRuleService(g.store, g.rules, g.log.With("component", "rules")),
		connect.WithInterceptors(logged, g.auth.TenantInterceptor(), limited), connect.WithReadMaxBytes(api.MaxRuleBytes+1<<20)))
	rpc.Handle(callgatev1connect.NewTenantServiceHandler(api.NewTenantService(g.store, g.log.With("component", "tenants"), g.tenantLimits), adminOpts))

	reflector := grpcreflect.NewStaticReflector(
		callgatev1connect.CallbackServiceName,
		callgatev1connect.FeedbackServiceName,
		callgatev1connect.ConfigServiceName,
		callgatev1connect.DeliveryServiceName,
		callgatev1connect.ChannelServiceName,
		callgatev1connect.TenantServiceName,
		callgatev1connect.RuleServiceName,
	)
	rpc.Handle(grpcreflect.NewHandlerV1(reflector))
	rpc.Handle(grpcreflect.NewHandlerV1Alpha(reflector))

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", g.ready)
	mux.Handle("GET /metrics", g.metrics.Handler())
	tc3Handler := g.tc3Handler(lim)
	rest := limitedMux(lim, g.auth, mux)
	return reqid.Middleware(g.accessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/callgate.") || strings.HasPrefix(r.URL.Path, "/grpc.") {
			rpc.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get(tc3.ActionHeader) != "" {
			tc3Handler.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})))
}

// rateLimits makes the per-tenant rate limits of the configuration and the
// Connect interceptor that applies them: the ingest bucket to
// SubmitCallback, the management bucket to the management services. It
// must come after the authenticating interceptor.
func (g *Gateway) rateLimits() (*limits.Limits, connect.UnaryInterceptorFunc) {
	lim := limits.New(limits.Options{
		Ingest:    limits.Rate{PerSecond: g.cfg.IngestRate, Burst: g.cfg.IngestBurst},
		Manage:    limits.Rate{PerSecond: g.cfg.ManageRate, Burst: g.cfg.ManageBurst},
		Log:       g.log.With("component", "limits"),
		Overrides: g.tenantLimits.lookup,
	})
	return lim, lim.Interceptor(map[string]limits.Class{
		callgatev1connect.CallbackServiceSubmitCallbackProcedure: limits.Ingest,
		callgatev1connect.ConfigServiceName:                      limits.Manage,
		callgatev1connect.RuleServiceName:                        limits.Manage,
		callgatev1connect.ChannelServiceName:                     limits.Manage,
		callgatev1connect.DeliveryServiceName:                    limits.Manage,
	})
}

// ingestLimiter charges a batch to the tenant's ingest bucket.
type ingestLimiter struct{ lim *limits.Limits }

func (l ingestLimiter) TakeIngest(tenantID string, n int) error {
	return l.lim.TakeN(limits.Ingest, tenantID, n)
}

// limitedMux applies the ingest bucket to the seed callbacks path of mux.
func limitedMux(lim *limits.Limits, a limits.Authenticator, mux *http.ServeMux) http.Handler {
	return lim.Middleware(a, func(r *http.Request) limits.Class {
		if _, pattern := mux.Handler(r); pattern == ingest.CallbacksPath {
			return limits.Ingest
		}
		return limits.None
	}, mux)
}

// tc3Handler serves ModifyApplicationCallbackInfo in the Tencent Cloud API
// 3.0 form, with ConfigService's semantics and the management bucket.
func (g *Gateway) tc3Handler(lim *limits.Limits) http.Handler {
	log := g.log.With("component", "tc3")
	return tc3.New(tc3.Options{
		Keys:    g.store,
		Configs: api.NewConfigService(g.store, log).NotifyChanges(g.policies),
		Limiter: lim.ForClass(limits.Manage),
		Log:     log,
	})
}

// ready answers 200 when the store answers and every plugin is up.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{"store": "ok", "plugins": "ok"}
	code := http.StatusOK
	if err := g.store.Ping(ctx); err != nil {
		status["store"], code = "unavailable", http.StatusServiceUnavailable
	}
	if !g.host.Ready() {
		status["plugins"], code = "unavailable", http.StatusServiceUnavailable
	}
	status["rules"] = "ok"
	if !g.rules.Ready() {
		status["rules"], code = "compiling", http.StatusServiceUnavailable
	}
	writeJSON(w, code, status)
}

// logErrors logs every failed Connect call once, with its request id.
func (g *Gateway) logErrors(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		resp, err := next(ctx, req)
		if err != nil {
			level := slog.LevelInfo
			if code := connect.CodeOf(err); code == connect.CodeInternal || code == connect.CodeUnknown {
				level = slog.LevelError
			}
			var ce *connect.Error
			stable := ""
			if ok := asConnect(err, &ce); ok {
				stable = ce.Meta().Get(apierr.CodeHeader)
			}
			g.log.Log(ctx, level, "call refused", "request_id", reqid.From(ctx),
				"procedure", req.Spec().Procedure, "code", stable, "error", err.Error())
		}
		return resp, err
	}
}

func asConnect(err error, target **connect.Error) bool {
	ce, ok := err.(*connect.Error)
	if ok {
		*target = ce
	}
	return ok
}

// accessLog logs each request at debug level and turns a panic into a 500.
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				g.log.Error("handler panicked", "request_id", reqid.From(r.Context()), "path", r.URL.Path, "panic", p)
				writeJSON(w, http.StatusInternalServerError, ingest.Envelope{
					Code: apierr.InternalError, Message: "internal error", RequestID: reqid.From(r.Context()),
				})
			}
		}()
		next.ServeHTTP(w, r)
		g.log.Debug("request", "request_id", reqid.From(r.Context()), "method", r.Method, "path", r.URL.Path,
			"duration", time.Since(start))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
