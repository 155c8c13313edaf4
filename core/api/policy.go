package api

import (
	"context"
	"errors"
	"math"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// Bounds of a delivery policy.
const (
	maxRetries    = 50
	minRetryDelay = 100       // ms
	maxRetryDelay = 7 * 86400 // s
	maxRate       = 10_000    // per second, and burst
)

// ConfigsChanged hears that a callback config's policy changed or that the
// config was deleted, so that what is remembered of it (its policy, its
// rate bucket, its metrics) goes at once.
type ConfigsChanged interface {
	ConfigChanged(tenantID, configID string, deleted bool)
}

// NotifyChanges makes s tell c of every config whose policy it changes or
// which it deletes, and returns s.
func (s *ConfigService) NotifyChanges(c ConfigsChanged) *ConfigService {
	s.changed = c
	return s
}

func (s *ConfigService) notify(tenantID, configID string, deleted bool) {
	if s.changed != nil {
		s.changed.ConfigChanged(tenantID, configID, deleted)
	}
}

// SetCallbackConfigPolicy replaces a config's retry schedule and rate.
// Deliveries already waiting take the new schedule when their next retry
// is scheduled, and the new rate at their next attempt.
func (s *ConfigService) SetCallbackConfigPolicy(ctx context.Context, req *connect.Request[callgatev1.SetCallbackConfigPolicyRequest]) (*connect.Response[callgatev1.SetCallbackConfigPolicyResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if m.GetId() == "" {
		return nil, apierr.ToConnect(apierr.New(apierr.ParamError, "id is required"))
	}
	policy, err := policyOf(m.GetRetry(), m.GetRate())
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	c, err := s.store.SetCallbackConfigPolicy(ctx, p.TenantID, m.GetId(), policy)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.ResourceNotFound+".CallbackConfig", "no callback config %q", m.GetId()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.notify(p.TenantID, c.ID, false)
	s.log.InfoContext(ctx, "callback config policy set", "request_id", reqid.From(ctx), "tenant", p.TenantID,
		"config_id", c.ID, "retry", c.Policy.Retry, "rate", c.Policy.Rate)
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditConfigPolicy, c.ID, policyAuditDetail(c)))
	return connect.NewResponse(&callgatev1.SetCallbackConfigPolicyResponse{Config: configProto(c)}), nil
}

func policyAuditDetail(c store.CallbackConfig) map[string]any {
	d := map[string]any{"url": c.URL}
	if r := c.Policy.Retry; r != nil {
		ms := make([]any, len(r.ScheduleMs))
		for i, v := range r.ScheduleMs {
			ms[i] = float64(v)
		}
		d["retryScheduleMs"] = ms
	}
	if r := c.Policy.Rate; r != nil {
		d["ratePerSecond"], d["rateBurst"] = r.PerSecond, float64(r.Burst)
	}
	return d
}

// CheckPolicy checks a config's policy as the API gives it, for callers
// other than the API (the declarative file): the same limits apply.
func CheckPolicy(retry *callgatev1.RetryPolicy, rate *callgatev1.RateLimit) (store.DeliveryPolicy, error) {
	return policyOf(retry, rate)
}

// policyOf checks a config's policy as the API gives it.
func policyOf(retry *callgatev1.RetryPolicy, rate *callgatev1.RateLimit) (store.DeliveryPolicy, error) {
	var p store.DeliveryPolicy
	var err error
	if p.Retry, err = retryOf(retry); err != nil {
		return store.DeliveryPolicy{}, err
	}
	if rate != nil {
		ps, burst := rate.GetPerSecond(), rate.GetBurst()
		if math.IsNaN(ps) || ps <= 0 || ps > maxRate {
			return store.DeliveryPolicy{}, apierr.New(apierr.InvalidParameterValue,
				"rate.perSecond must be more than 0 and at most %d", maxRate)
		}
		if burst < 0 || burst > maxRate {
			return store.DeliveryPolicy{}, apierr.New(apierr.InvalidParameterValue,
				"rate.burst must be between 0 and %d", maxRate)
		}
		p.Rate = &store.RateLimit{PerSecond: ps, Burst: int(burst)}
	}
	return p, nil
}

// retryOf checks a retry schedule: at most 50 delays, each from 100 ms to
// 7 days. nil stays nil (inherit); an empty schedule means no retries.
func retryOf(r *callgatev1.RetryPolicy) (*store.RetryPolicy, error) {
	if r == nil {
		return nil, nil
	}
	ms := r.GetScheduleMs()
	if len(ms) > maxRetries {
		return nil, apierr.New(apierr.InvalidParameterValue, "retry.scheduleMs has %d delays; at most %d", len(ms), maxRetries)
	}
	for i, v := range ms {
		if v < minRetryDelay || v > maxRetryDelay*1000 {
			return nil, apierr.New(apierr.InvalidParameterValue,
				"retry.scheduleMs[%d] is %d ms; each delay must be from %d ms to 7 days", i, v, minRetryDelay)
		}
	}
	out := &store.RetryPolicy{ScheduleMs: make([]int64, len(ms))}
	for i, v := range ms {
		out.ScheduleMs[i] = int64(v)
	}
	return out, nil
}

func retryProto(r *store.RetryPolicy) *callgatev1.RetryPolicy {
	if r == nil {
		return nil
	}
	out := &callgatev1.RetryPolicy{ScheduleMs: make([]int32, len(r.ScheduleMs))}
	for i, v := range r.ScheduleMs {
		out.ScheduleMs[i] = int32(v) // at most 7 days: it fits
	}
	return out
}

func rateProto(r *store.RateLimit) *callgatev1.RateLimit {
	if r == nil {
		return nil
	}
	return &callgatev1.RateLimit{PerSecond: r.PerSecond, Burst: int32(r.Burst)}
}
