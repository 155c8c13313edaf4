package sender

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// GRPCPlugin binds a [Sender] to go-plugin. Plugins set Impl; the gateway
// leaves it nil and gets a [*Client] when it dispenses the plugin.
type GRPCPlugin struct {
	// go-plugin requires the net/rpc methods; callgate speaks gRPC only.
	plugin.NetRPCUnsupportedPlugin
	Impl Sender
}

// GRPCServer registers the plugin's implementation.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("sender: no implementation to serve")
	}
	pluginv1.RegisterSenderServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns a [*Client] for the gateway side.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return NewClient(cc), nil
}

// server adapts a Sender to the generated gRPC service, filling in for the
// optional interfaces the implementation lacks.
type server struct {
	pluginv1.UnimplementedSenderServer
	impl Sender
}

func (s *server) Describe(ctx context.Context, _ *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	resp, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, rpcError("describe", err)
	}
	if resp == nil {
		return nil, status.Error(codes.Internal, "describe: plugin returned no description")
	}
	return resp, nil
}

func (s *server) Send(ctx context.Context, req *pluginv1.SendRequest) (*pluginv1.SendResponse, error) {
	if req.GetDelivery() == nil {
		return nil, status.Error(codes.InvalidArgument, "send: no delivery")
	}
	out, err := s.send(ctx, req.GetDelivery())
	if err != nil {
		return nil, rpcError("send", err)
	}
	return &pluginv1.SendResponse{Outcome: out}, nil
}

func (s *server) send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	out, err := s.impl.Send(ctx, d)
	if err == nil && out == nil {
		err = errors.New("plugin returned no outcome")
	}
	return out, err
}

func (s *server) SendBatch(ctx context.Context, req *pluginv1.SendBatchRequest) (*pluginv1.SendBatchResponse, error) {
	ds := req.GetDeliveries()
	for i, d := range ds {
		if d == nil {
			return nil, status.Errorf(codes.InvalidArgument, "send batch: delivery %d is empty", i)
		}
	}
	if b, ok := s.impl.(BatchSender); ok {
		outs, err := b.SendBatch(ctx, ds)
		if err != nil {
			return nil, rpcError("send batch", err)
		}
		if len(outs) != len(ds) {
			return nil, status.Errorf(codes.Internal, "send batch: plugin returned %d outcomes for %d deliveries", len(outs), len(ds))
		}
		return &pluginv1.SendBatchResponse{Outcomes: outs}, nil
	}
	outs := make([]*pluginv1.Outcome, len(ds))
	for i, d := range ds {
		if err := ctx.Err(); err != nil {
			return nil, rpcError("send batch", err)
		}
		out, err := s.send(ctx, d)
		if err != nil {
			// One bad delivery must not cost the others their answers;
			// the gateway retries it like any failed attempt.
			out = &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, Error: err.Error()}
		}
		outs[i] = out
	}
	return &pluginv1.SendBatchResponse{Outcomes: outs}, nil
}

func (s *server) ParseReceipt(ctx context.Context, req *pluginv1.ParseReceiptRequest) (*pluginv1.ParseReceiptResponse, error) {
	p, ok := s.impl.(ReceiptParser)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "parse receipt: this plugin does not parse receipts")
	}
	receipts, err := p.ParseReceipt(ctx, req)
	if err != nil {
		return nil, rpcError("parse receipt", err)
	}
	return &pluginv1.ParseReceiptResponse{Receipts: receipts}, nil
}

func (s *server) Health(ctx context.Context, _ *pluginv1.HealthRequest) (*pluginv1.HealthResponse, error) {
	h, ok := s.impl.(HealthChecker)
	if !ok {
		return &pluginv1.HealthResponse{Ok: true}, nil
	}
	// An unhealthy plugin still answers; an RPC error is kept for a
	// plugin that cannot answer at all.
	if err := h.Health(ctx); err != nil {
		return &pluginv1.HealthResponse{Ok: false, Detail: err.Error()}, nil
	}
	return &pluginv1.HealthResponse{Ok: true}, nil
}

// rpcError gives an implementation's error a gRPC code. Unavailable is
// not passed on: the gateway takes it to mean the plugin process is gone
// and restarts it, which a vendor's own upstream being down must not do.
func rpcError(op string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Errorf(codes.Canceled, "%s: %v", op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.DeadlineExceeded, "%s: %v", op, err)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unavailable && st.Code() != codes.Unknown {
		return status.Errorf(st.Code(), "%s: %s", op, st.Message())
	}
	return status.Error(codes.Internal, fmt.Sprintf("%s: %v", op, err))
}
