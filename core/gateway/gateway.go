package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/callgate/callgate/core/api"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/pluginhost"
	"github.com/callgate/callgate/core/ruleruntime"
	"github.com/callgate/callgate/core/ruleset"
	"github.com/callgate/callgate/core/secrets"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/rules"
)

// Gateway is a running callgate.
type Gateway struct {
	cfg        Config
	log        *slog.Logger
	store      *store.Store
	host       *pluginhost.Host
	dispatcher *dispatch.Dispatcher
	auth       *auth.Authenticator
	handler    http.Handler
	lock       *os.File
	metrics    *metrics.Metrics
	rules      *ruleset.Set
	channels   *channelResolver

	tenantLimits *tenantLimits
	policies     *policyResolver
}

// Open prepares a gateway: it locks the data folder, opens the store,
// makes the dev tenant when asked and starts the plugins. Serve then runs
// it; Close undoes Open.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (_ *Gateway, err error) {
	cfg.applyDev()
	if cfg.RuleMemoryMiB != 0 && (cfg.RuleMemoryMiB < 4 || cfg.RuleMemoryMiB > 4096) {
		return nil, fmt.Errorf("rule_memory_mib must be between 4 and 4096, not %d", cfg.RuleMemoryMiB)
	}
	if cfg.RuleTimeLimit < 0 {
		return nil, fmt.Errorf("rule_time_limit must not be negative")
	}
	g := &Gateway{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("make data folder: %w", err)
	}
	if g.lock, err = lockDir(cfg.DataDir); err != nil {
		return nil, err
	}
	box, err := g.openSecrets()
	if err != nil {
		return nil, err
	}
	g.store, err = store.Open(ctx, store.Options{
		Path:         filepath.Join(cfg.DataDir, "callgate.db"),
		Synchronous:  cfg.Synchronous,
		Secrets:      box,
		DisableAfter: cfg.DisableAfter,
	})
	if err != nil {
		return nil, err
	}
	// Holding the folder's lock, this process is the only sender: whatever
	// was in flight belonged to a gateway that died, and goes out again.
	if n, err := g.store.ReleaseLeases(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("deliveries in flight at the last stop will be sent again", "count", n)
	}
	if cfg.Dev {
		if err := g.bootstrapDev(ctx); err != nil {
			return nil, err
		}
	}
	specs, err := cfg.pluginSpecs()
	if err != nil {
		return nil, err
	}
	g.host = pluginhost.New(log.With("component", "pluginhost"), specs...)
	g.host.SetReceiptSink(receiptSink{store: g.store, log: log.With("component", "receipts")})
	if err := g.host.Start(ctx); err != nil {
		return nil, fmt.Errorf("start plugins: %w", err)
	}
	g.metrics = metrics.New()
	g.tenantLimits = &tenantLimits{store: g.store, m: map[string]cachedLimits{}}
	g.policies = newPolicyResolver(g.store, g.tenantLimits)
	cacheDir := cfg.RuleCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.DataDir, "rule-cache")
	}
	g.rules, err = ruleset.New(ctx, g.store, log.With("component", "rules"), ruleset.Options{
		CacheDir: cacheDir,
		Builtin:  rules.Builtin(),
		Eager:    []string{"http"}, // the default rule; the others compile when first used
		Metrics:  g.metrics,
		Tenant:   g.tenantLimits.rules,
		Limits: ruleruntime.Limits{
			Time:        cfg.RuleTimeLimit,
			MemoryPages: uint32(cfg.RuleMemoryMiB * 16),
		},
	})
	if err != nil {
		return nil, err
	}
	if err := g.applyDeclared(ctx); err != nil {
		return nil, err
	}
	g.channels = newChannelResolver(g.store, g.host, &g.cfg)
	g.dispatcher = dispatch.New(g.store, g.host, log.With("component", "dispatch"), dispatch.Options{
		Workers:     cfg.Workers,
		SendTimeout: cfg.SendTimeout,
		Channels:    g.channels,
		Metrics:     g.metrics,
		Classifier:  g.rules,
		Policies:    g.policies,
	})
	g.policies.deleted = g.dispatcher.ForgetEndpoint
	g.registerGauges()
	g.auth = auth.New(g.store, cfg.AdminToken)
	g.handler = g.routes()
	return g, nil
}

// bootstrapDev makes the dev tenant and app key if they are missing.
func (g *Gateway) bootstrapDev(ctx context.Context) error {
	if _, err := g.store.CreateTenant(ctx, store.Tenant{ID: DevTenant, Name: "Demo tenant"}); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("make dev tenant: %w", err)
	}
	if _, err := g.store.CreateAppKey(ctx, DevTenant, DevAppKey, DevSecret); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("make dev app key: %w", err)
	}
	g.log.Warn("dev mode: tenant demo, app key demo and the admin token are the README's; loopback and private destinations are allowed")
	return nil
}

// Handler is the gateway's HTTP handler, for tests that serve it
// themselves.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Serve accepts connections on ln and sends deliveries until ctx ends,
// then shuts down: it stops accepting, lets requests and sends in flight
// finish within a deadline, and returns.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	// gRPC clients speak HTTP/2 without TLS on a plain listener.
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           g.handler,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	dispatched := make(chan error, 1)
	go func() { dispatched <- g.dispatcher.Run(dctx) }()
	pruned := make(chan struct{})
	go func() { defer close(pruned); g.prune(dctx) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	g.log.Info("callgate serving", "addr", ln.Addr().String(), "data", g.cfg.DataDir, "dev", g.cfg.Dev)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("serve http: %w", err)
	}
	g.log.Info("callgate stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		g.log.Warn("http shutdown", "error", serr)
	}
	stopDispatch()
	<-pruned
	if derr := <-dispatched; derr != nil {
		err = errors.Join(err, derr)
	}
	return err
}

// Close stops the plugins and closes the store. Call it after Serve.
func (g *Gateway) Close() error {
	var errs []error
	if g.host != nil {
		g.host.Close()
	}
	if g.rules != nil {
		errs = append(errs, g.rules.Close(context.Background()))
	}
	if g.store != nil {
		errs = append(errs, g.store.Close())
	}
	if g.lock != nil {
		errs = append(errs, g.lock.Close())
	}
	return errors.Join(errs...)
}

// lockDir takes an exclusive lock on the data folder, so two gateways never
// share one store (each would think the other's leases orphaned).
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open data lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data folder %s is in use by another callgate: %w", dir, err)
	}
	return f, nil
}

// plugins adapts the plugin host to the channel API.
type plugins struct{ host *pluginhost.Host }

func (p plugins) Plugins() []api.Plugin {
	var out []api.Plugin
	for _, i := range p.host.Plugins() {
		out = append(out, api.Plugin{Name: i.Name, Version: i.Version, Healthy: i.Healthy, Settings: i.Settings})
	}
	return out
}

// receiptSink records the receipts plugins report on their own (an SMSC's
// delivery receipts) against the deliveries they are about.
type receiptSink struct {
	store *store.Store
	log   *slog.Logger
}

func (s receiptSink) PluginReceipt(ctx context.Context, plugin string, r *pluginv1.ParsedReceipt) {
	detail := r.GetDetail()
	if len(detail) > 64<<10 {
		detail = detail[:64<<10]
	}
	rc, err := s.store.AddVendorReceipt(ctx, store.VendorReceipt{Plugin: plugin, DeliveryID: r.GetDeliveryId(),
		VendorID: r.GetVendorMessageId(), Status: r.GetStatus(), Detail: detail})
	attrs := []any{"plugin", plugin, "vendor_message_id", r.GetVendorMessageId(), "status", r.GetStatus()}
	if err == nil {
		s.log.Debug("plugin receipt recorded", append(attrs, "delivery_id", rc.DeliveryID, "receipt_id", rc.ID)...)
		return
	}
	attrs = append(attrs, "delivery_id", r.GetDeliveryId())
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Receipts for deliveries pruned since, or for another gateway's,
		// are common: not worth more than a debug line each.
		s.log.Debug("plugin receipt for no known delivery", attrs...)
	default:
		s.log.Warn("record plugin receipt", append(attrs, "error", err)...)
	}
}

// openSecrets loads the master key that seals secrets at rest, making one
// in the data folder the first time.
func (g *Gateway) openSecrets() (*secrets.Box, error) {
	file := g.cfg.MasterKeyFile
	if file == "" {
		file = filepath.Join(g.cfg.DataDir, "master.key")
	}
	key, created, err := secrets.LoadKey(os.Getenv("CALLGATE_MASTER_KEY"), file, true)
	if err != nil {
		return nil, err
	}
	if created {
		g.log.Warn("made a new master key: back it up, the sealed secrets cannot be read without it", "file", file)
	}
	return secrets.New(key)
}

var _ ingest.Notifier = (*dispatch.Dispatcher)(nil)

// registerGauges exposes state that is read rather than counted.
func (g *Gateway) registerGauges() {
	g.metrics.Gauge("callgate_queue_depth", "Deliveries held in memory, due soon or in flight.",
		func() float64 { return float64(g.dispatcher.Queued()) })
	g.metrics.Gauge("callgate_plugin_restarts", "Sender plugin processes restarted since start.", func() float64 {
		n := 0
		for _, p := range g.host.Plugins() {
			n += p.Restarts
		}
		return float64(n)
	})
	g.metrics.Gauge("callgate_plugins_healthy", "Sender plugin processes that are up.", func() float64 {
		n := 0
		for _, p := range g.host.Plugins() {
			if p.Healthy {
				n++
			}
		}
		return float64(n)
	})
	g.metrics.Gauge("callgate_breakers_open", "Endpoints whose circuit is open.",
		func() float64 { return float64(g.dispatcher.OpenCircuits()) })
	g.metrics.Gauge("callgate_store_commits", "Write transactions committed since start.", func() float64 {
		b, _ := g.store.Stats()
		return float64(b)
	})
	g.metrics.Gauge("callgate_store_writes", "Writes committed since start (commits share writes).", func() float64 {
		_, w := g.store.Stats()
		return float64(w)
	})
}

// prune deletes succeeded messages past the retention and forgets
// idempotency keys past their day, now and then, in small batches.
func (g *Gateway) prune(ctx context.Context) {
	retention := g.cfg.Retention
	if retention <= 0 {
		retention = 7 * 24 * time.Hour
	}
	for {
		now := time.Now()
		n, err := g.store.Prune(ctx, now.Add(-retention), now.Add(-24*time.Hour), 500)
		if err != nil && ctx.Err() == nil {
			g.log.Error("prune old messages", "error", err)
		} else if n > 0 {
			g.log.Info("pruned succeeded messages past retention", "count", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Minute):
		}
	}
}

func shaHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
