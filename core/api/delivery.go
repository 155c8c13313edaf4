package api

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// DeliveryStore is what DeliveryService needs of the store.
type DeliveryStore interface {
	ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	GetDelivery(ctx context.Context, tenantID, id string) (store.Delivery, error)
	ListAttempts(ctx context.Context, deliveryID string) ([]store.Attempt, error)
	ListReceipts(ctx context.Context, deliveryID string) ([]store.Receipt, error)
	RetryDelivery(ctx context.Context, tenantID, id string, now time.Time) (store.Delivery, error)
	ReplayDeliveries(ctx context.Context, f store.ReplayFilter, now time.Time) ([]string, error)
}

// Notifier hears of deliveries made due again.
type Notifier interface {
	Notify(ds []store.Delivery)
}

// DeliveryService implements callgatev1connect.DeliveryServiceHandler; every
// call sees only the caller's tenant.
type DeliveryService struct {
	store  DeliveryStore
	notify Notifier
}

// NewDeliveryService returns a DeliveryService.
func NewDeliveryService(s DeliveryStore, n Notifier) *DeliveryService {
	return &DeliveryService{store: s, notify: n}
}

var validStatus = map[string]store.Status{
	"pending": store.StatusPending, "inflight": store.StatusInflight, "succeeded": store.StatusSucceeded,
	"failed": store.StatusFailed, "dead": store.StatusDead,
}

// ListDeliveries lists the tenant's deliveries, newest first.
func (s *DeliveryService) ListDeliveries(ctx context.Context, req *connect.Request[callgatev1.ListDeliveriesRequest]) (*connect.Response[callgatev1.ListDeliveriesResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f := store.DeliveryFilter{TenantID: p.TenantID, MessageID: m.GetMessageId(), BeforeID: m.GetPageToken()}
	if m.GetStatus() != "" {
		st, ok := validStatus[m.GetStatus()]
		if !ok {
			return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue, "unknown status %q", m.GetStatus()))
		}
		f.Status = st
	}
	f.Limit = int(m.GetPageSize())
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	ds, err := s.store.ListDeliveries(ctx, f)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.ListDeliveriesResponse{}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryProto(d))
	}
	if len(ds) == f.Limit {
		out.NextPageToken = ds[len(ds)-1].ID
	}
	return connect.NewResponse(out), nil
}

// GetDelivery shows one delivery with every attempt and receipt.
func (s *DeliveryService) GetDelivery(ctx context.Context, req *connect.Request[callgatev1.GetDeliveryRequest]) (*connect.Response[callgatev1.GetDeliveryResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.store.GetDelivery(ctx, p.TenantID, req.Msg.GetId())
	if err != nil {
		return nil, apierr.ToConnect(notFound(err, req.Msg.GetId()))
	}
	attempts, err := s.store.ListAttempts(ctx, d.ID)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	receipts, err := s.store.ListReceipts(ctx, d.ID)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.GetDeliveryResponse{Delivery: deliveryProto(d)}
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, &callgatev1.Attempt{
			Number:     int32(a.Number),
			StartTime:  timestamppb.New(a.StartedAt),
			Outcome:    a.Outcome,
			StatusCode: int32(a.StatusCode),
			LatencyMs:  a.Latency.Milliseconds(),
			Response:   a.Response,
			Error:      a.Error,
		})
	}
	for _, r := range receipts {
		out.Receipts = append(out.Receipts, &callgatev1.Receipt{
			Id: r.ID, ChannelId: r.ChannelID, Status: r.Status, Detail: r.Detail,
			ReceiveTime: timestamppb.New(r.ReceivedAt),
		})
	}
	return connect.NewResponse(out), nil
}

// RetryDelivery sends one delivery again now, whatever its state, unless
// it is in flight.
func (s *DeliveryService) RetryDelivery(ctx context.Context, req *connect.Request[callgatev1.RetryDeliveryRequest]) (*connect.Response[callgatev1.RetryDeliveryResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.store.RetryDelivery(ctx, p.TenantID, req.Msg.GetId(), time.Now())
	if errors.Is(err, store.ErrConflict) {
		return nil, apierr.ToConnect(apierr.New(apierr.ResourceInUse, "delivery %q is in flight", req.Msg.GetId()))
	}
	if err != nil {
		return nil, apierr.ToConnect(notFound(err, req.Msg.GetId()))
	}
	s.notify.Notify([]store.Delivery{d})
	return connect.NewResponse(&callgatev1.RetryDeliveryResponse{Delivery: deliveryProto(d)}), nil
}

// ReplayDeliveries sends a bounded batch of matching deliveries again.
func (s *DeliveryService) ReplayDeliveries(ctx context.Context, req *connect.Request[callgatev1.ReplayDeliveriesRequest]) (*connect.Response[callgatev1.ReplayDeliveriesResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f := store.ReplayFilter{TenantID: p.TenantID, Status: store.StatusDead, Limit: int(m.GetLimit())}
	if m.GetStatus() != "" {
		st, ok := validStatus[m.GetStatus()]
		if !ok || st == store.StatusInflight || st == store.StatusPending {
			return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue,
				"status must be succeeded, failed or dead, not %q", m.GetStatus()))
		}
		f.Status = st
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > 1000:
		f.Limit = 1000
	}
	if m.GetSince() != nil {
		f.Since = m.GetSince().AsTime()
	}
	if m.GetUntil() != nil {
		f.Until = m.GetUntil().AsTime()
	}
	now := time.Now()
	ids, err := s.store.ReplayDeliveries(ctx, f, now)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	ds := make([]store.Delivery, len(ids))
	for i, id := range ids {
		ds[i] = store.Delivery{ID: id, NextAttemptAt: now}
	}
	s.notify.Notify(ds)
	return connect.NewResponse(&callgatev1.ReplayDeliveriesResponse{Count: int32(len(ids))}), nil
}

func notFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apierr.New(apierr.DeliveryNotFound, "no delivery %q", id)
	}
	return apierr.Internal(err)
}

func deliveryProto(d store.Delivery) *callgatev1.Delivery {
	out := &callgatev1.Delivery{
		Id:           d.ID,
		MessageId:    d.MessageID,
		Channel:      d.Channel,
		ConfigId:     d.ConfigID,
		Destination:  d.Destination,
		Status:       string(d.Status),
		AttemptCount: int32(d.Attempts),
		LastError:    d.LastError,
		CreateTime:   timestamppb.New(d.CreatedAt),
		UpdateTime:   timestamppb.New(d.UpdatedAt),
		Rule:         d.Rule,
	}
	if d.Status == store.StatusPending || d.Status == store.StatusFailed {
		out.NextAttemptTime = timestamppb.New(d.NextAttemptAt)
	}
	return out
}

var _ callgatev1connect.DeliveryServiceHandler = (*DeliveryService)(nil)
