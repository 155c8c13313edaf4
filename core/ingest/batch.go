package ingest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// Bounds of one batch, for both transports: a batch is read whole before
// anything of it is stored.
const (
	DefaultMaxBatch = 500
	MaxBatchBytes   = 4 << 20
)

// Limiter charges a tenant's ingest rate for a batch of n callbacks at
// once; over the limit it answers an error that says so (with a
// RetryAfter() int method for the Retry-After header, when it has one).
type Limiter interface {
	TakeIngest(tenantID string, n int) error
}

// BatchResult is one callback's answer in a batch: Accepted, or Err
// (an *apierr.Error) when it was refused.
type BatchResult struct {
	Accepted
	Err *apierr.Error
}

// SubmitBatch takes many callbacks of one tenant at once. Each is checked
// and run through its rule on its own; those accepted are stored in one
// commit and only then answered, so a batch costs one commit instead of
// one each. A refused callback keeps no other out. The error is for the
// batch as a whole (credentials, size, rate, store), when nothing of it
// was stored.
func (s *Service) SubmitBatch(ctx context.Context, p auth.Principal, tenantID string, cbs []Callback) (results []BatchResult, err error) {
	defer func() {
		if err != nil { // the whole batch refused: each callback of it counts
			code := apierr.From(err).Code
			for range cbs {
				s.opts.Metrics.Ingest("refused", code, 0)
			}
		}
	}()
	start := time.Now()
	if err := s.checkBatch(ctx, p, tenantID, len(cbs)); err != nil {
		return nil, err
	}
	if s.opts.Limiter != nil {
		if err := s.opts.Limiter.TakeIngest(p.TenantID, len(cbs)); err != nil {
			return nil, err
		}
	}
	configs, err := s.store.ConfigRefs(ctx, p.TenantID)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	rcs := RouteConfigs(configs)
	results = make([]BatchResult, len(cbs))
	var batch []store.NewMessage
	var at []int // batch[j] is callback at[j]
	for i, cb := range cbs {
		if cb.TenantID == "" {
			cb.TenantID = tenantID
		}
		nm, err := s.prepare(ctx, p, cb, rcs)
		if err != nil {
			results[i].Err = apierr.From(err)
			continue
		}
		batch, at = append(batch, nm), append(at, i)
	}
	if len(batch) > 0 {
		stored, err := s.store.InsertMessages(ctx, batch)
		if err != nil {
			return nil, apierr.Internal(err)
		}
		for j, ins := range stored {
			i := at[j]
			if ins.Err != nil {
				s.log.ErrorContext(ctx, "batch callback not stored", "request_id", reqid.From(ctx),
					"tenant", p.TenantID, "index", i, "error", ins.Err)
				results[i].Err = apierr.Internal(ins.Err)
				continue
			}
			results[i].Accepted = s.accepted(ctx, ins.Message, ins.Deliveries, ins.Existed)
		}
	}
	took := time.Since(start)
	for _, r := range results {
		switch {
		case r.Err != nil:
			s.opts.Metrics.Ingest("refused", r.Err.Code, 0)
		case r.Duplicate:
			s.opts.Metrics.Ingest("duplicate", apierr.OK, took)
		default:
			s.opts.Metrics.Ingest("accepted", apierr.OK, took)
		}
	}
	return results, nil
}

// checkBatch refuses a batch as a whole: another tenant's, empty, or too
// large.
func (s *Service) checkBatch(ctx context.Context, p auth.Principal, tenantID string, n int) error {
	if err := s.checkTenant(ctx, p, tenantID); err != nil {
		return err
	}
	if n == 0 {
		return apierr.New(apierr.ParamError, "the batch is empty: send at least one callback")
	}
	if n > s.opts.MaxBatch {
		return apierr.New(apierr.InvalidParameterValue, "a batch holds at most %d callbacks, not %d", s.opts.MaxBatch, n)
	}
	return nil
}

// retryAfter is an error that says when to try again, in seconds.
type retryAfter interface {
	RetryAfter() int
}

// batchBody is the REST batch: the seed's CooperationParams, each with its
// own idempotency key.
type batchBody struct {
	Callbacks []struct {
		cooperationParams
		IdempotencyKey string `json:"idempotencyKey"`
	} `json:"callbacks"`
}

// batchItem is one callback's answer in the REST batch.
type batchItem struct {
	MessageID   string   `json:"messageId,omitempty"`
	DeliveryIDs []string `json:"deliveryIds,omitempty"`
	Duplicate   bool     `json:"duplicate,omitempty"`
	Code        string   `json:"code"`
	Message     string   `json:"message,omitempty"`
}

// batch serves BatchPath: {"callbacks": [CooperationParams...]}, answered
// with one result per callback in the order sent.
func (h *RESTHandler) batch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.auth.Tenant(ctx, r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body batchBody
	if err := h.decode(w, r, MaxBatchBytes, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	cbs := make([]Callback, len(body.Callbacks))
	for i, item := range body.Callbacks {
		cb, err := item.callback()
		if err != nil {
			h.fail(w, r, apierr.New(apierr.ParamError, "callbacks[%d]: %s", i, apierr.From(err).Message))
			return
		}
		cb.IdempotencyKey = item.IdempotencyKey
		cbs[i] = cb
	}
	results, err := h.svc.SubmitBatch(ctx, p, r.PathValue("tenantId"), cbs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := make([]batchItem, len(results))
	accepted := 0
	for i, res := range results {
		if res.Err != nil {
			items[i] = batchItem{Code: res.Err.Code, Message: res.Err.Message}
			continue
		}
		accepted++
		items[i] = batchItem{MessageID: res.MessageID, DeliveryIDs: nonNil(res.DeliveryIDs), Duplicate: res.Duplicate, Code: apierr.OK}
	}
	h.write(w, r, http.StatusOK, Envelope{
		Code:    apierr.OK,
		Message: "success",
		Result: map[string]any{
			"requestId": reqid.From(ctx),
			"accepted":  accepted,
			"refused":   len(items) - accepted,
			"results":   items,
		},
	})
}

// SubmitCallbacks implements callgatev1connect.CallbackServiceHandler.
func (h *ConnectHandler) SubmitCallbacks(ctx context.Context, req *connect.Request[callgatev1.SubmitCallbacksRequest]) (*connect.Response[callgatev1.SubmitCallbacksResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	tenantID := req.Msg.GetTenantId()
	cbs := make([]Callback, len(req.Msg.GetCallbacks()))
	for i, m := range req.Msg.GetCallbacks() {
		cbs[i] = callbackOf(m)
	}
	results, err := h.svc.SubmitBatch(ctx, p, tenantID, cbs)
	if err != nil {
		ce := apierr.ToConnect(err)
		var ra retryAfter
		if errors.As(err, &ra) {
			ce.Meta().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
		}
		return nil, ce
	}
	out := &callgatev1.SubmitCallbacksResponse{RequestId: requestID(ctx), Results: make([]*callgatev1.SubmitCallbacksResult, len(results))}
	for i, res := range results {
		if res.Err != nil {
			out.Refused++
			out.Results[i] = &callgatev1.SubmitCallbacksResult{ErrorCode: res.Err.Code, ErrorMessage: res.Err.Message}
			continue
		}
		out.Accepted++
		out.Results[i] = &callgatev1.SubmitCallbacksResult{MessageId: res.MessageID, DeliveryIds: res.DeliveryIDs, Duplicate: res.Duplicate}
	}
	return connect.NewResponse(out), nil
}
