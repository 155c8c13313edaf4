package ingest

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// ConnectHandler serves CallbackService and FeedbackService. It expects the
// auth package's tenant interceptor in front of it.
type ConnectHandler struct {
	svc *Service
}

// NewConnectHandler returns the Connect services over svc.
func NewConnectHandler(svc *Service) *ConnectHandler { return &ConnectHandler{svc: svc} }

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apierr.ToConnect(apierr.New(apierr.Unauthorized, "missing credentials"))
	}
	return p, nil
}

// SubmitCallback implements callgatev1connect.CallbackServiceHandler.
func (h *ConnectHandler) SubmitCallback(ctx context.Context, req *connect.Request[callgatev1.SubmitCallbackRequest]) (*connect.Response[callgatev1.SubmitCallbackResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	cb := callbackOf(req.Msg)
	if cb.IdempotencyKey == "" {
		cb.IdempotencyKey = req.Header().Get("Idempotency-Key")
	}
	acc, err := h.svc.Submit(ctx, p, cb)
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	return connect.NewResponse(&callgatev1.SubmitCallbackResponse{
		MessageId:   acc.MessageID,
		RequestId:   acc.RequestID,
		DeliveryIds: acc.DeliveryIDs,
	}), nil
}

// callbackOf is the callback a Connect request describes.
func callbackOf(m *callgatev1.SubmitCallbackRequest) Callback {
	return Callback{
		TenantID:       m.GetTenantId(),
		Content:        m.GetContent(),
		AppKey:         m.GetProperties().GetAppKey(),
		Rule:           m.GetProperties().GetRule(),
		Ext:            m.GetProperties().GetExt(),
		IdempotencyKey: m.GetIdempotencyKey(),
	}
}

// SubmitFeedback implements callgatev1connect.FeedbackServiceHandler.
func (h *ConnectHandler) SubmitFeedback(ctx context.Context, req *connect.Request[callgatev1.SubmitFeedbackRequest]) (*connect.Response[callgatev1.SubmitFeedbackResponse], error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if len(m.GetReport()) > 0 {
		if m.GetDeliveryId() != "" || m.GetStatus() != "" {
			return nil, apierr.ToConnect(apierr.New(apierr.ParamError, "give either a report or deliveryId and status, not both"))
		}
		if len(m.GetReport()) > MaxFeedbackBytes {
			return nil, apierr.ToConnect(apierr.New(apierr.BodyTooLarge, "the report is larger than %d bytes", MaxFeedbackBytes))
		}
		headers := http.Header{}
		for k, v := range m.GetReportHeaders() {
			headers.Set(k, v)
		}
		res, err := h.svc.SubmitReport(ctx, p, Report{ChannelID: m.GetChannelId(), Headers: reportHeaders(headers), Body: m.GetReport()})
		if err != nil {
			return nil, apierr.ToConnect(err)
		}
		out := &callgatev1.SubmitFeedbackResponse{ReceiptIds: res.ReceiptIDs, Unmatched: int32(res.Unmatched), RequestId: requestID(ctx)}
		if len(res.ReceiptIDs) == 1 {
			out.ReceiptId = res.ReceiptIDs[0]
		}
		return connect.NewResponse(out), nil
	}
	rc, err := h.svc.SubmitFeedback(ctx, p, Feedback{
		ChannelID: m.GetChannelId(), DeliveryID: m.GetDeliveryId(), Status: m.GetStatus(), Detail: m.GetDetail(),
	})
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	return connect.NewResponse(&callgatev1.SubmitFeedbackResponse{ReceiptId: rc.ID, RequestId: requestID(ctx)}), nil
}

var (
	_ callgatev1connect.CallbackServiceHandler = (*ConnectHandler)(nil)
	_ callgatev1connect.FeedbackServiceHandler = (*ConnectHandler)(nil)
)

func requestID(ctx context.Context) string { return reqid.From(ctx) }
