package dispatch

import (
	"context"
	"time"

	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// judge lets the delivery's rule overrule the plugin's verdict on an answer
// the receiver gave. Without an answer (a network error, a refused
// address) or when the receiver said the endpoint is gone, the plugin's
// verdict stands; so it does when the rule fails, which is logged.
func (d *Dispatcher) judge(ctx context.Context, dl store.Delivery, out *pluginv1.Outcome) *pluginv1.Outcome {
	if d.opts.Classifier == nil || out.GetStatusCode() == 0 || out.GetDisableEndpoint() {
		return out
	}
	kind, reason, ok, err := d.opts.Classifier.Classify(ctx, dl, out)
	if err != nil {
		d.log.Warn("rule could not judge the answer; the channel's verdict stands",
			"delivery_id", dl.ID, "rule", dl.Rule, "error", err)
		return out
	}
	if !ok || kind == out.GetKind() {
		return out
	}
	judged := &pluginv1.Outcome{
		Kind:            kind,
		StatusCode:      out.GetStatusCode(),
		ResponseBody:    out.GetResponseBody(),
		ResponseHeaders: out.GetResponseHeaders(),
		VendorMessageId: out.GetVendorMessageId(),
		RetryAfterMs:    out.GetRetryAfterMs(),
		LatencyMs:       out.GetLatencyMs(),
		Error:           reason,
	}
	if judged.Error == "" && kind != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
		judged.Error = "the rule judged the answer a failure"
	}
	return judged
}

// failOver makes the next fallback of a dead delivery into a new delivery
// of the same message; the remaining fallbacks go with it.
func failOver(dl store.Delivery, now time.Time) *store.Delivery {
	f := dl.Fallbacks[0]
	next := &store.Delivery{
		ID:            store.NewID("dlv"),
		MessageID:     dl.MessageID,
		TenantID:      dl.TenantID,
		Rule:          dl.Rule,
		Channel:       f.Channel,
		ConfigID:      f.ConfigID,
		Destination:   f.Destination,
		Method:        f.Method,
		Headers:       f.Headers,
		Query:         f.Query,
		Body:          f.Body,
		Subject:       f.Subject,
		Attachments:   f.Attachments,
		Sign:          f.Sign,
		Fallbacks:     dl.Fallbacks[1:],
		Status:        store.StatusPending,
		NextAttemptAt: now,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if next.Method == "" {
		next.Method = "POST"
	}
	if f.ScheduleMs != nil {
		next.Schedule = make([]time.Duration, len(f.ScheduleMs))
		for i, ms := range f.ScheduleMs {
			next.Schedule[i] = time.Duration(ms) * time.Millisecond
		}
	}
	if len(next.Fallbacks) == 0 {
		next.Fallbacks = nil
	}
	return next
}
