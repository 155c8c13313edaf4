// Package ingest takes callbacks in: it checks who sends them and what they
// send, asks the router where they go, stores the message and its
// deliveries in one committed transaction, and only then acknowledges. It
// serves the seed's REST paths and the Connect CallbackService and
// FeedbackService. Receipts come back on the feedback path, in callgate's
// own shape or as a vendor's report that the plugin sending the channel
// reads (see [Service.SubmitReport]).
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/store"
)

// Store is what ingest needs of the store.
type Store interface {
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	ConfigRefs(ctx context.Context, tenantID string) ([]store.ConfigRef, error)
	InsertMessage(ctx context.Context, m store.Message, ds []store.Delivery) (store.Message, []store.Delivery, bool, error)
	// InsertMessages stores a batch in one commit (see SubmitBatch).
	InsertMessages(ctx context.Context, ms []store.NewMessage) ([]store.Inserted, error)
	AddReceipt(ctx context.Context, tenantID string, r store.Receipt) (store.Receipt, error)
	AddVendorReceipt(ctx context.Context, vr store.VendorReceipt) (store.Receipt, error)
}

// Notifier hears of deliveries as soon as they are committed, so they go
// out without anyone polling for them.
type Notifier interface {
	Notify(ds []store.Delivery)
}

// Preclaimer is a Notifier that can take fresh deliveries straight from
// memory. When Preclaim says yes, the deliveries are stored already claimed
// for lease, which spares the dispatcher one store write per delivery.
type Preclaimer interface {
	Preclaim() (lease time.Duration, ok bool)
}

// Options tune a Service.
type Options struct {
	// MaxContent bounds a callback's content in bytes (default 1 MiB).
	MaxContent int
	// MaxDeliveries bounds how many deliveries one callback may fan out to
	// (default 100).
	MaxDeliveries int
	// Metrics, when set, counts submissions and times acknowledgements.
	Metrics *metrics.Metrics
	// MaxBatch bounds how many callbacks one batch may hold (default
	// DefaultMaxBatch).
	MaxBatch int
	// Limiter, when set, charges the tenant's ingest rate for a batch;
	// single callbacks are charged by the transport.
	Limiter Limiter
	// Receipts, when set, reads the reports vendors post to the feedback
	// path in their own formats (see SubmitReport). Without it the path
	// takes callgate's own {"deliveryId", "status", "detail"} only.
	Receipts ReceiptReader
}

// Service is the ingest logic shared by every transport.
type Service struct {
	store  Store
	router route.Router
	notify Notifier
	log    *slog.Logger
	opts   Options
}

// New returns a Service.
func New(s Store, r route.Router, n Notifier, log *slog.Logger, opts Options) *Service {
	if opts.MaxContent <= 0 {
		opts.MaxContent = 1 << 20
	}
	if opts.MaxDeliveries <= 0 {
		opts.MaxDeliveries = 100
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	return &Service{store: s, router: r, notify: n, log: log, opts: opts}
}

// Callback is one callback as a client submits it.
type Callback struct {
	// TenantID is the tenant the client addresses (the seed's path); empty
	// means the credentials' tenant.
	TenantID       string
	Content        string
	AppKey         string
	Rule           string
	Ext            map[string]string
	IdempotencyKey string
}

// Accepted is the acknowledgement of a stored callback.
type Accepted struct {
	MessageID   string
	RequestID   string
	DeliveryIDs []string
	// Duplicate is set when the idempotency key was seen before: the ids
	// are the first submission's and nothing new goes out.
	Duplicate bool
}

// Submit stores a callback and its deliveries and returns once they are
// committed. Errors are *apierr.Error.
func (s *Service) Submit(ctx context.Context, p auth.Principal, cb Callback) (acc Accepted, err error) {
	start := time.Now()
	defer func() {
		switch {
		case err != nil:
			s.opts.Metrics.Ingest("refused", apierr.From(err).Code, 0)
		case acc.Duplicate:
			s.opts.Metrics.Ingest("duplicate", apierr.OK, time.Since(start))
		default:
			s.opts.Metrics.Ingest("accepted", apierr.OK, time.Since(start))
		}
	}()
	return s.submit(ctx, p, cb)
}

func (s *Service) submit(ctx context.Context, p auth.Principal, cb Callback) (Accepted, error) {
	configs, err := s.store.ConfigRefs(ctx, p.TenantID)
	if err != nil {
		return Accepted{}, apierr.Internal(err)
	}
	nm, err := s.prepare(ctx, p, cb, RouteConfigs(configs))
	if err != nil {
		return Accepted{}, err
	}
	stored, ds, existed, err := s.store.InsertMessage(ctx, nm.Message, nm.Deliveries)
	if err != nil {
		return Accepted{}, apierr.Internal(err)
	}
	return s.accepted(ctx, stored, ds, existed), nil
}

// prepare checks a callback, runs it through its rule and makes the
// message and deliveries to store.
func (s *Service) prepare(ctx context.Context, p auth.Principal, cb Callback, configs []route.Config) (store.NewMessage, error) {
	if err := s.checkTenant(ctx, p, cb.TenantID); err != nil {
		return store.NewMessage{}, err
	}
	if cb.AppKey != "" && cb.AppKey != p.AppKey {
		return store.NewMessage{}, apierr.New(apierr.Forbidden, "properties.appKey is not the app key of these credentials")
	}
	if len(cb.Content) > s.opts.MaxContent {
		return store.NewMessage{}, apierr.New(apierr.BodyTooLarge, "content is %d bytes, more than the %d allowed", len(cb.Content), s.opts.MaxContent)
	}
	if len(cb.IdempotencyKey) > 255 {
		return store.NewMessage{}, apierr.New(apierr.InvalidParameterValue, "the idempotency key is longer than 255 characters")
	}
	msg := store.Message{
		ID:             store.NewID("msg"),
		TenantID:       p.TenantID,
		Rule:           cb.Rule,
		Content:        cb.Content,
		RequestID:      reqid.From(ctx),
		IdempotencyKey: cb.IdempotencyKey,
	}
	if msg.Rule == "" {
		msg.Rule = "http"
	}
	in := route.Input{
		TenantID:  p.TenantID,
		MessageID: msg.ID,
		Rule:      msg.Rule,
		Content:   cb.Content,
		AppKey:    p.AppKey,
		Ext:       cb.Ext,
		Configs:   configs,
	}
	deliveries, err := s.decide(ctx, in)
	if err != nil {
		return store.NewMessage{}, err
	}
	props, err := json.Marshal(map[string]any{"appKey": p.AppKey, "rule": msg.Rule, "ext": cb.Ext})
	if err != nil {
		return store.NewMessage{}, apierr.Internal(fmt.Errorf("encode properties: %w", err))
	}
	msg.Properties = props
	if pc, ok := s.notify.(Preclaimer); ok {
		if lease, ok := pc.Preclaim(); ok {
			until := time.Now().Add(lease)
			for i := range deliveries {
				deliveries[i].LeaseUntil = until
			}
		}
	}
	return store.NewMessage{Message: msg, Deliveries: deliveries}, nil
}

// accepted hands a stored message's deliveries to the dispatcher (unless
// it was a duplicate) and makes its acknowledgement.
func (s *Service) accepted(ctx context.Context, stored store.Message, ds []store.Delivery, existed bool) Accepted {
	requestID := reqid.From(ctx)
	acc := Accepted{MessageID: stored.ID, RequestID: requestID, Duplicate: existed}
	for _, d := range ds {
		acc.DeliveryIDs = append(acc.DeliveryIDs, d.ID)
	}
	if existed {
		s.log.InfoContext(ctx, "duplicate callback answered with the first one",
			"request_id", requestID, "tenant", stored.TenantID, "message_id", stored.ID)
		return acc
	}
	s.notify.Notify(ds)
	s.log.DebugContext(ctx, "callback accepted", "request_id", requestID, "tenant", stored.TenantID,
		"message_id", stored.ID, "deliveries", len(ds))
	return acc
}

// checkTenant makes sure the credentials may act on the addressed tenant.
// Any other tenant is refused alike, whether it exists or not, so that a
// tenant's credentials cannot find out which other tenants there are.
func (s *Service) checkTenant(_ context.Context, p auth.Principal, tenantID string) error {
	if tenantID == "" || tenantID == p.TenantID {
		return nil
	}
	return apierr.New(apierr.Forbidden, "these credentials are not for tenant %q", tenantID)
}

// decide runs the router and turns its decision into deliveries to store.
func (s *Service) decide(ctx context.Context, in route.Input) ([]store.Delivery, error) {
	dec, err := s.router.Route(ctx, in)
	if errors.Is(err, route.ErrUnknownRule) {
		return nil, apierr.New(apierr.RuleNotFound, "no rule %q for this tenant", in.Rule)
	}
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, apierr.Internal(fmt.Errorf("route callback: %w", err))
	}
	if dec.Reject != nil {
		code := dec.Reject.Code
		if code == "" {
			code = apierr.RuleRejected
		}
		return nil, apierr.New(code, "%s", dec.Reject.Message)
	}
	if len(dec.Deliveries) == 0 {
		return nil, apierr.New(apierr.RuleRejected, "rule %q decided on no delivery", in.Rule)
	}
	if len(dec.Deliveries) > s.opts.MaxDeliveries {
		return nil, apierr.New(apierr.RuleRejected, "rule %q decided on %d deliveries, more than the %d allowed",
			in.Rule, len(dec.Deliveries), s.opts.MaxDeliveries)
	}
	out := make([]store.Delivery, 0, len(dec.Deliveries))
	for i, d := range dec.Deliveries {
		if d.Channel == "" {
			return nil, apierr.New(apierr.RuleRejected, "delivery %d of rule %q names no channel", i, in.Rule)
		}
		if strings.TrimSpace(d.Destination) == "" {
			return nil, apierr.New(apierr.InvalidParameterValue, "delivery %d of rule %q has no destination", i, in.Rule)
		}
		if d.Channel == "http" {
			if !isHTTPURL(d.Destination) {
				return nil, apierr.New(apierr.InvalidParameterValue, "delivery %d of rule %q: %q is not an http(s) URL", i, in.Rule, d.Destination)
			}
		}
		sd := store.Delivery{
			Channel:     d.Channel,
			ConfigID:    d.ConfigID,
			Destination: d.Destination,
			Method:      d.Method,
			Headers:     d.Headers,
			Query:       d.Query,
			Body:        d.Body,
			Subject:     d.Subject,
			Schedule:    d.Schedule,
			Sign:        d.Sign,
			Attachments: attachments(d.Attachments),
		}
		for j, f := range d.Fallbacks {
			if f.Channel == "" {
				return nil, apierr.New(apierr.RuleRejected, "fallback %d of delivery %d of rule %q names no channel", j, i, in.Rule)
			}
			if strings.TrimSpace(f.Destination) == "" {
				return nil, apierr.New(apierr.InvalidParameterValue, "fallback %d of delivery %d of rule %q has no destination", j, i, in.Rule)
			}
			if f.Channel == "http" && !isHTTPURL(f.Destination) {
				return nil, apierr.New(apierr.InvalidParameterValue, "fallback %d of delivery %d of rule %q: %q is not an http(s) URL", j, i, in.Rule, f.Destination)
			}
			fb := store.Fallback{
				Channel: f.Channel, ConfigID: f.ConfigID, Destination: f.Destination, Method: f.Method,
				Headers: f.Headers, Query: f.Query, Body: f.Body, Subject: f.Subject, Sign: f.Sign,
				Attachments: attachments(f.Attachments),
			}
			if f.Schedule != nil {
				// An empty schedule means "no retries" and must stay so.
				fb.ScheduleMs = make([]int64, 0, len(f.Schedule))
				for _, d := range f.Schedule {
					fb.ScheduleMs = append(fb.ScheduleMs, d.Milliseconds())
				}
			}
			sd.Fallbacks = append(sd.Fallbacks, fb)
		}
		out = append(out, sd)
	}
	return out, nil
}

// Feedback is a receipt a receiver or vendor posts about a delivery.
type Feedback struct {
	ChannelID  string
	DeliveryID string
	Status     string
	Detail     string
}

// SubmitFeedback records a receipt against one of the tenant's deliveries.
func (s *Service) SubmitFeedback(ctx context.Context, p auth.Principal, fb Feedback) (store.Receipt, error) {
	switch {
	case fb.DeliveryID == "":
		return store.Receipt{}, apierr.New(apierr.ParamError, "deliveryId is required")
	case fb.Status == "":
		return store.Receipt{}, apierr.New(apierr.ParamError, "status is required")
	case len(fb.Detail) > 64<<10:
		return store.Receipt{}, apierr.New(apierr.BodyTooLarge, "detail is longer than 64 KiB")
	}
	r, err := s.store.AddReceipt(ctx, p.TenantID, store.Receipt{
		DeliveryID: fb.DeliveryID, ChannelID: fb.ChannelID, Status: fb.Status, Detail: fb.Detail,
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Receipt{}, apierr.New(apierr.DeliveryNotFound, "no delivery %q on channel %q", fb.DeliveryID, fb.ChannelID)
	}
	if err != nil {
		return store.Receipt{}, apierr.Internal(err)
	}
	return r, nil
}

func attachments(as []route.Attachment) []store.Attachment {
	var out []store.Attachment
	for _, a := range as {
		out = append(out, store.Attachment{FileName: a.FileName, URL: a.URL})
	}
	return out
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// RouteConfigs turns a tenant's configs into what its rules see of them.
// A disabled config (its receiver gone, or failing for days) is left out.
func RouteConfigs(refs []store.ConfigRef) []route.Config {
	out := make([]route.Config, 0, len(refs))
	for _, c := range refs {
		if !c.Disabled {
			out = append(out, route.Config{ID: c.ID, URL: c.URL, HasKey: c.HasKey, HasToken: c.HasToken})
		}
	}
	return out
}
