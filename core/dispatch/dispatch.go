// Package dispatch sends stored deliveries through their channels' sender
// plugins and records every attempt.
//
// Deliveries reach it two ways: ingest notifies it of new ones right after
// their commit, and a loader reads from the store what is due within the
// horizon (on start, then now and then for retries scheduled further out
// and for anything the bounded queue turned away). Due deliveries wait in
// a timer heap; nothing polls on the hot path. A delivery is claimed with
// a lease before it is sent, so one whose gateway died mid-send is sent
// again once its lease runs out.
package dispatch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// Store is what the dispatcher needs of the store.
type Store interface {
	DueBefore(ctx context.Context, t time.Time, limit int) ([]store.Due, error)
	Claim(ctx context.Context, id string, now time.Time, lease time.Duration) (store.Delivery, error)
	TakeDue(ctx context.Context, id string, now time.Time) (store.Delivery, error)
	Reclaim(ctx context.Context, id string, heldUntil, now time.Time, lease time.Duration) (store.Delivery, error)
	Complete(ctx context.Context, c store.Completion) error
	GetCallbackConfig(ctx context.Context, tenantID, id string) (store.CallbackConfig, error)
}

// Sender sends one delivery through the named channel's plugin. An error
// means the plugin could not be asked (it is down or unknown), not that
// the receiver refused: that is an Outcome.
type Sender interface {
	Send(ctx context.Context, channel string, d *pluginv1.Delivery) (*pluginv1.Outcome, error)
}

// Classifier lets the rule that made a delivery judge its receiver's
// answer (for example a 200 whose body says {"code":"500"} is a failure).
// ok is false when the rule has no opinion.
type Classifier interface {
	Classify(ctx context.Context, d store.Delivery, out *pluginv1.Outcome) (kind pluginv1.OutcomeKind, reason string, ok bool, err error)
}

// ErrUnknownChannel is what a Channels answers for a channel that does not
// exist: the delivery cannot succeed and dies at once.
var ErrUnknownChannel = errors.New("no such channel")

// Channels resolves a delivery's channel.
type Channels interface {
	Resolve(ctx context.Context, tenantID, channel string) (plugin string, settings map[string]string, err error)
}

// Options tune a Dispatcher. Zero values take the defaults.
type Options struct {
	Workers     int             // concurrent sends (default 32)
	SendTimeout time.Duration   // per attempt (default 10 s)
	Lease       time.Duration   // how long a claim holds (default SendTimeout + 20 s)
	Horizon     time.Duration   // how far ahead the queue holds deliveries (default 1 min)
	QueueLimit  int             // deliveries held in memory (default 100 000)
	Schedule    []time.Duration // retry delays (default DefaultSchedule)
	NoJitter    bool            // exact delays, for tests
	// Channels says which plugin sends a tenant's channel and with which
	// settings; nil sends channel X through plugin X with no settings.
	Channels Channels
	// MaxResponse bounds the copy of a receiver's answer kept per attempt
	// (default 4 KiB).
	MaxResponse int
	// Classifier, when set, judges receivers' answers by their rules.
	Classifier Classifier
	// Metrics, when set, counts attempts and times sends.
	Metrics *metrics.Metrics
	// BreakerThreshold failures in a row open an endpoint's circuit
	// (default 5; negative turns circuits off); it stays open for
	// BreakerCooldown (default 30 s, doubling after a failed probe up to
	// 10 min).
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// EndpointConcurrency caps the sends running at once to one endpoint
	// (default half the workers; negative: no cap).
	EndpointConcurrency int
	// Policies, when set, gives endpoints and tenants retry schedules and
	// rates of their own.
	Policies Policies
}

// Dispatcher sends deliveries. Create it with New and run it with Run.
type Dispatcher struct {
	store  Store
	sender Sender
	log    *slog.Logger
	opts   Options
	q      *queue
	ready  chan job
	now    func() time.Time

	breakers *breakers
	slots    *slots
	rates    *rates
	claimed  *claimedSet
	// healthy holds the endpoints whose last attempt succeeded, as the
	// store knows too (config id -> true).
	healthy sync.Map
}

// New returns a Dispatcher; call Run to start it.
func New(s Store, sender Sender, log *slog.Logger, opts Options) *Dispatcher {
	if opts.Workers <= 0 {
		opts.Workers = 32
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 10 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = opts.SendTimeout + 20*time.Second
	}
	if opts.Horizon <= 0 {
		opts.Horizon = time.Minute
	}
	if opts.QueueLimit <= 0 {
		opts.QueueLimit = 100_000
	}
	if opts.Schedule == nil {
		opts.Schedule = DefaultSchedule
	}
	if opts.EndpointConcurrency == 0 {
		// Half the workers: one endpoint never takes them all, and a
		// single busy endpoint still gets enough to keep up.
		opts.EndpointConcurrency = max(1, opts.Workers/2)
	}
	if opts.BreakerThreshold == 0 {
		opts.BreakerThreshold = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = 30 * time.Second
	}
	if opts.MaxResponse <= 0 {
		opts.MaxResponse = 4 << 10
	}
	return &Dispatcher{
		store: s, sender: sender, log: log, opts: opts,
		q:     newQueue(opts.QueueLimit),
		ready: make(chan job, opts.Workers),
		now:   time.Now,

		breakers: newBreakers(opts.BreakerThreshold, opts.BreakerCooldown, 10*time.Minute),
		slots:    newSlots(opts.EndpointConcurrency),
		rates:    newRates(),
		claimed:  newClaimedSet(),
	}
}

// Notify queues freshly committed deliveries. It never blocks: what does
// not fit waits in the store for the loader. A delivery stored already
// claimed (see Preclaim) is kept whole, to be sent without claiming it.
func (d *Dispatcher) Notify(ds []store.Delivery) {
	now := d.now()
	limit := now.Add(d.opts.Horizon)
	for _, dl := range ds {
		// The queue may keep a job for long: copy the config id, which is
		// read out of the rule's decision and would keep all of it alive
		// (the delivery and tenant ids are strings of their own).
		j := job{id: dl.ID, tenantID: dl.TenantID, configID: strings.Clone(dl.ConfigID)}
		if dl.Status == store.StatusInflight && !dl.LeaseUntil.IsZero() {
			d.claimed.put(dl)
			if !d.q.push(j, now) {
				// No room after all: the loader finds it when its lease ends.
				d.claimed.take(dl.ID)
			}
			continue
		}
		if dl.NextAttemptAt.Before(limit) {
			d.q.push(j, dl.NextAttemptAt)
		}
	}
}

// Preclaim tells ingest whether to store fresh deliveries already claimed,
// and for how long: yes while the queue has room to take them at once and
// not too many wait whole in memory, so that they go out long before the
// lease ends. Otherwise they are stored pending and claimed in their turn.
func (d *Dispatcher) Preclaim() (time.Duration, bool) {
	return d.opts.Lease, d.q.len() < d.opts.QueueLimit/2 && !d.claimed.full()
}

// claim takes the delivery id names for an attempt: from memory when
// ingest stored it already claimed and its lease covers a send, with a
// renewed lease when ingest claimed it but it waited too long or was
// slimmed. A delivery waiting in the store is read and claimed in memory
// only (unclaimed is set): this dispatcher is the store's only sender (the
// gateway holds the data folder's lock) and its queue never runs one
// delivery twice at once, so a claim written to the store would guard
// against no one. Only one left in flight by a sender that died (its lease
// ran out) is claimed in the store.
func (d *Dispatcher) claim(ctx context.Context, id string, now time.Time) (dl store.Delivery, unclaimed bool, err error) {
	e, ok := d.claimed.take(id)
	switch {
	case !ok:
		dl, err := d.store.TakeDue(ctx, id, now)
		if errors.Is(err, store.ErrNotFound) {
			dl, err = d.store.Claim(ctx, id, now, d.opts.Lease)
			return dl, false, err
		}
		return dl, err == nil, err
	case e.dl != nil && now.Add(d.opts.SendTimeout+2*time.Second).Before(e.leaseUntil):
		return *e.dl, false, nil
	default:
		dl, err := d.store.Reclaim(ctx, id, e.leaseUntil, now, d.opts.Lease)
		return dl, false, err
	}
}

// OpenCircuits counts the endpoints whose circuit is open.
func (d *Dispatcher) OpenCircuits() int { return d.breakers.open(d.now()) }

// ForgetEndpoint drops what the dispatcher keeps of the endpoint of a
// deleted config: its circuit, its rate bucket and its metrics.
func (d *Dispatcher) ForgetEndpoint(configID string) {
	d.breakers.forget(configID)
	d.rates.forget(configID)
	d.healthy.Delete(configID)
	d.opts.Metrics.ForgetEndpoint(configID)
}

// Queued is how many deliveries are in memory, due or in flight.
func (d *Dispatcher) Queued() int { return d.q.len() }

// Run sends deliveries until ctx ends, then lets the sends in flight
// finish (each within its timeout) and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx)
		}()
	}
	err := d.schedule(ctx)
	close(d.ready)
	wg.Wait()
	return err
}

// schedule moves due ids from the heap to the workers and reloads from the
// store every half horizon, or sooner after an overflow.
func (d *Dispatcher) schedule(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	nextLoad := time.Time{} // load at once
	for {
		now := d.now()
		// After an overflow, deliveries wait in the store only: load again
		// as soon as the queue has room for a good part of them.
		if !now.Before(nextLoad) || (d.q.len() <= d.opts.QueueLimit/2 && d.q.takeOverflow()) {
			if err := d.load(ctx, now); err != nil {
				d.log.Error("load due deliveries", "error", err)
			}
			nextLoad = now.Add(d.opts.Horizon / 2)
		}
		jobs, next := d.q.popDue(now, cap(d.ready)*4)
		for _, j := range jobs {
			select {
			case d.ready <- j:
			case <-ctx.Done():
				return nil
			}
		}
		if len(jobs) > 0 {
			continue // more may be due
		}
		wait := nextLoad.Sub(now)
		if !next.IsZero() && next.Sub(now) < wait {
			wait = next.Sub(now)
		}
		if d.q.hasOverflow() {
			wait = min(wait, time.Second)
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-d.q.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

func (d *Dispatcher) load(ctx context.Context, now time.Time) error {
	room := d.opts.QueueLimit - d.q.len()
	if room <= 0 {
		d.q.markOverflow()
		return nil
	}
	due, err := d.store.DueBefore(ctx, now.Add(d.opts.Horizon), room)
	if err != nil {
		return fmt.Errorf("load due deliveries: %w", err)
	}
	for _, x := range due {
		d.q.push(job{id: x.ID, tenantID: x.TenantID, configID: x.ConfigID}, x.At)
	}
	if len(due) == room {
		d.q.markOverflow() // there may be more: look again soon
	}
	return nil
}

func (d *Dispatcher) work(ctx context.Context) {
	for j := range d.ready {
		if ctx.Err() != nil {
			d.q.done(j.id)
			continue
		}
		ok, probe, parked, until := d.admit(ctx, j, d.now())
		switch {
		case parked:
			continue // in line for a slot: freeSlot queues it again
		case !ok:
			d.claimed.slim(j.id) // it may wait long: keep little of it
			d.q.wait(j.id, until)
			continue
		}
		retryAt := d.attempt(ctx, j, probe)
		d.q.done(j.id)
		if !retryAt.IsZero() {
			d.q.push(j, retryAt)
		}
	}
}

// attempt claims, sends and records one delivery that admit let through
// (holding a slot of its endpoint, and its probe when probe is set). It
// returns when to try again if that is within the horizon, else zero.
func (d *Dispatcher) attempt(ctx context.Context, j job, probe bool) time.Time {
	id := j.id
	start := d.now()
	dl, unclaimed, err := d.claim(ctx, id, start)
	if err != nil {
		// Nothing was sent: the slot and the probe go back.
		d.freeSlot(j.configID)
		if probe {
			d.breakers.release(j.configID)
		}
		if !errors.Is(err, store.ErrNotFound) { // not due, already taken, or gone
			d.log.Error("claim delivery", "delivery_id", id, "error", err)
		}
		return time.Time{}
	}
	// The send may outlive ctx (a shutdown): it is bounded by its own
	// timeout, and finishing it beats sending it twice.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SendTimeout+2*time.Second)
	defer cancel()
	out, reached := d.send(sendCtx, dl, start)
	d.freeSlot(dl.ConfigID)
	if probe && !reached {
		d.breakers.release(dl.ConfigID)
		d.opts.Metrics.EndpointBreaker(dl.ConfigID, d.breakers.state(dl.ConfigID))
	}
	out = d.judge(sendCtx, dl, out)
	c := d.complete(sendCtx, dl, start, out)
	c.Unclaimed = unclaimed
	if reached && dl.ConfigID != "" {
		ok := out.GetKind() == pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
		d.breakers.report(dl.ConfigID, ok, d.now())
		d.opts.Metrics.EndpointBreaker(dl.ConfigID, d.breakers.state(dl.ConfigID))
		switch {
		case ok:
			// The store hears of a success only when the endpoint may be
			// marked failing there: after a failure, or the first time
			// since start. Otherwise it would be a write per delivery.
			if _, known := d.healthy.LoadOrStore(dl.ConfigID, true); !known {
				c.Endpoint = store.EndpointHealthy
			}
		case out.GetDisableEndpoint():
			d.healthy.Delete(dl.ConfigID)
			c.Endpoint = store.EndpointGone
		default:
			d.healthy.Delete(dl.ConfigID)
			c.Endpoint = store.EndpointFailing
		}
	}
	if c.Status == store.StatusDead && len(dl.Fallbacks) > 0 {
		c.FailOver = failOver(dl, d.now())
		c.LastError += "; failed over to " + c.FailOver.ID
	}
	if err := d.store.Complete(sendCtx, c); err != nil {
		if c.Endpoint == store.EndpointHealthy {
			d.healthy.Delete(dl.ConfigID) // the store did not hear it
		}
		d.log.Error("record attempt", "delivery_id", id, "attempt", dl.Attempts, "error", err)
		return time.Time{}
	}
	d.opts.Metrics.Attempt(dl.Channel, c.Attempt.Outcome, c.Attempt.Latency, d.now().Sub(dl.CreatedAt))
	if reached {
		d.opts.Metrics.EndpointAttempt(dl.ConfigID, c.Attempt.Outcome)
	}
	attrs := []any{"delivery_id", id, "message_id", dl.MessageID, "tenant", dl.TenantID,
		"channel", dl.Channel, "attempt", dl.Attempts, "outcome", c.Attempt.Outcome,
		"status_code", c.Attempt.StatusCode, "latency_ms", c.Attempt.Latency.Milliseconds(), "next", c.Status}
	if c.Attempt.Error != "" {
		attrs = append(attrs, "error", c.Attempt.Error)
	}
	// A success is routine (the metrics count them) and, at thousands a
	// second, a log line each costs real time: it is logged at debug. What
	// went wrong is logged at info, a delivery given up at warn.
	level := slog.LevelInfo
	switch c.Status {
	case store.StatusSucceeded:
		level = slog.LevelDebug
	case store.StatusDead:
		level = slog.LevelWarn
	}
	d.log.Log(ctx, level, "delivery attempt", attrs...)
	if c.FailOver != nil {
		d.Notify([]store.Delivery{*c.FailOver})
	}
	if c.Status == store.StatusFailed && c.NextAttemptAt.Before(d.now().Add(d.opts.Horizon)) {
		return c.NextAttemptAt
	}
	return time.Time{}
}

// send builds the plugin's view of the delivery and sends it. reached is
// false when the outcome is the gateway's own (no config, no plugin), so
// it says nothing about the endpoint.
func (d *Dispatcher) send(ctx context.Context, dl store.Delivery, start time.Time) (out *pluginv1.Outcome, reached bool) {
	pd := &pluginv1.Delivery{
		Id:          dl.ID,
		TenantId:    dl.TenantID,
		MessageId:   dl.MessageID,
		Attempt:     int32(dl.Attempts),
		Destination: dl.Destination,
		Method:      dl.Method,
		Headers:     dl.Headers,
		Query:       dl.Query,
		Body:        dl.Body,
		Subject:     dl.Subject,
		Timestamp:   start.Unix(),
		Sign:        dl.Sign,
		TimeoutMs:   d.opts.SendTimeout.Milliseconds(),
	}
	for _, a := range dl.Attachments {
		pd.Attachments = append(pd.Attachments, &pluginv1.Attachment{FileName: a.FileName, Url: a.URL})
	}
	if dl.ConfigID != "" {
		cfg, err := d.store.GetCallbackConfig(ctx, dl.TenantID, dl.ConfigID)
		if errors.Is(err, store.ErrNotFound) {
			return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT,
				Error: "the callback config of this delivery was deleted"}, false
		}
		if err != nil {
			return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE,
				Error: fmt.Sprintf("load callback config: %v", err)}, false
		}
		if cfg.Disabled {
			return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT,
				Error: "the endpoint is disabled (" + cfg.DisabledReason + "); enable it and replay"}, false
		}
		pd.CallbackToken = cfg.Token
		if cfg.Key != "" {
			pd.CallbackKey = []byte(cfg.Key)
		}
		if len(cfg.Auth.Headers) > 0 || cfg.Auth.BasicAuth != "" {
			// The receiver's own authentication wins over a rule's headers.
			headers := maps.Clone(pd.Headers)
			if headers == nil {
				headers = map[string]string{}
			}
			maps.Copy(headers, cfg.Auth.Headers)
			if cfg.Auth.BasicAuth != "" {
				headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Auth.BasicAuth))
			}
			pd.Headers = headers
		}
		if o := cfg.Auth.OAuth2; o != nil {
			pd.Oauth2 = &pluginv1.OAuth2{TokenUrl: o.TokenURL, ClientId: o.ClientID, ClientSecret: o.ClientSecret, Scope: o.Scope}
		}
	}
	plugin := dl.Channel
	if d.opts.Channels != nil {
		var err error
		plugin, pd.Settings, err = d.opts.Channels.Resolve(ctx, dl.TenantID, dl.Channel)
		if errors.Is(err, ErrUnknownChannel) {
			return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT,
				Error: fmt.Sprintf("channel %q: %v", dl.Channel, err)}, false
		}
		if err != nil {
			return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE,
				Error: fmt.Sprintf("channel %q: %v", dl.Channel, err)}, false
		}
	}
	out, err := d.sender.Send(ctx, plugin, pd)
	if err != nil {
		return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE,
			Error: fmt.Sprintf("channel %q could not send: %v", dl.Channel, err)}, false
	}
	if out == nil {
		return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE,
			Error: fmt.Sprintf("channel %q answered no outcome", dl.Channel)}, false
	}
	return out, true
}

// complete decides the delivery's next state from an attempt's outcome.
func (d *Dispatcher) complete(ctx context.Context, dl store.Delivery, start time.Time, out *pluginv1.Outcome) store.Completion {
	latency := time.Duration(out.GetLatencyMs()) * time.Millisecond
	if latency == 0 {
		latency = d.now().Sub(start)
	}
	resp := out.GetResponseBody()
	if len(resp) > d.opts.MaxResponse {
		resp = resp[:d.opts.MaxResponse]
	}
	c := store.Completion{Attempt: store.Attempt{
		DeliveryID: dl.ID,
		Number:     dl.Attempts,
		StartedAt:  start,
		StatusCode: int(out.GetStatusCode()),
		Latency:    latency,
		Response:   string(resp),
		Error:      out.GetError(),
		VendorID:   out.GetVendorMessageId(),
	}}
	switch out.GetKind() {
	case pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED:
		c.Attempt.Outcome, c.Status = "delivered", store.StatusSucceeded
		return c
	case pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT:
		c.Attempt.Outcome, c.Status = "permanent", store.StatusDead
		c.LastError = describe(out)
		return c
	}
	c.Attempt.Outcome = "retryable"
	c.LastError = describe(out)
	delay, ok := retryDelay(d.retrySchedule(ctx, dl), dl.Attempts, !d.opts.NoJitter)
	if !ok {
		c.Status = store.StatusDead
		c.LastError = fmt.Sprintf("gave up after %d attempts: %s", dl.Attempts, c.LastError)
		return c
	}
	if ra := time.Duration(out.GetRetryAfterMs()) * time.Millisecond; ra > delay {
		delay = min(ra, 24*time.Hour) // honour Retry-After, within reason
	}
	c.Status, c.NextAttemptAt = store.StatusFailed, d.now().Add(delay)
	return c
}

func describe(out *pluginv1.Outcome) string {
	switch {
	case out.GetError() != "" && out.GetStatusCode() != 0:
		return fmt.Sprintf("status %d: %s", out.GetStatusCode(), out.GetError())
	case out.GetError() != "":
		return out.GetError()
	case out.GetStatusCode() != 0:
		return fmt.Sprintf("status %d", out.GetStatusCode())
	}
	return "failed"
}
