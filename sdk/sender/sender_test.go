package sender_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// basic implements only the required methods, so the adapter's fallbacks
// are what answers the optional ones.
type basic struct {
	sendErr error
	nilOut  bool
	block   bool
}

func (b *basic) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{Name: "basic", Version: "0.1.0", ChannelKinds: []string{"test"}}, nil
}

func (b *basic) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	switch {
	case b.block:
		<-ctx.Done()
		return nil, ctx.Err()
	case b.nilOut:
		return nil, nil
	case b.sendErr != nil:
		return nil, b.sendErr
	case d.GetDestination() == "bad":
		return nil, errors.New("cannot handle bad")
	}
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, VendorMessageId: "v-" + d.GetId()}, nil
}

// full adds every optional interface.
type full struct {
	basic
	healthErr error
}

func (f *full) SendBatch(_ context.Context, ds []*pluginv1.Delivery) ([]*pluginv1.Outcome, error) {
	outs := make([]*pluginv1.Outcome, len(ds))
	for i, d := range ds {
		outs[i] = &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, VendorMessageId: "batch-" + d.GetId()}
	}
	return outs, nil
}

func (f *full) ParseReceipt(_ context.Context, req *pluginv1.ParseReceiptRequest) ([]*pluginv1.ParsedReceipt, error) {
	return []*pluginv1.ParsedReceipt{{DeliveryId: req.GetChannelId(), Status: string(req.GetBody())}}, nil
}

func (f *full) Health(context.Context) error { return f.healthErr }

var (
	_ sender.Sender        = (*basic)(nil)
	_ sender.BatchSender   = (*full)(nil)
	_ sender.ReceiptParser = (*full)(nil)
	_ sender.HealthChecker = (*full)(nil)
)

// connect serves impl in process over go-plugin's gRPC transport and
// returns the gateway-side client.
func connect(t *testing.T, impl sender.Sender) *sender.Client {
	t.Helper()
	// Closing the client also stops the server, through go-plugin's
	// controller; stopping it here as well would race with that.
	client, _ := plugin.TestPluginGRPCConn(t, false, sender.PluginMap(impl))
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(sender.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := raw.(*sender.Client)
	if !ok {
		t.Fatalf("dispensed %T, want *sender.Client", raw)
	}
	return c
}

func TestClient_required_only(t *testing.T) {
	ctx := t.Context()
	c := connect(t, &basic{})

	desc, err := c.Describe(ctx)
	if err != nil || desc.GetName() != "basic" || desc.GetChannelKinds()[0] != "test" {
		t.Fatalf("Describe = %v, %v", desc, err)
	}
	out, err := c.Send(ctx, &pluginv1.Delivery{Id: "d1"})
	if err != nil || out.GetVendorMessageId() != "v-d1" {
		t.Fatalf("Send = %v, %v", out, err)
	}

	t.Run("send_batch_falls_back_to_send", func(t *testing.T) {
		outs, err := c.SendBatch(ctx, []*pluginv1.Delivery{{Id: "a"}, {Id: "b", Destination: "bad"}, {Id: "c"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			kind pluginv1.OutcomeKind
			vid  string
		}{
			{pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, "v-a"},
			{pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, ""},
			{pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, "v-c"},
		}
		for i, w := range want {
			if outs[i].GetKind() != w.kind || outs[i].GetVendorMessageId() != w.vid {
				t.Errorf("outcome %d = %v, want %v %q", i, outs[i], w.kind, w.vid)
			}
		}
		if outs[1].GetError() == "" {
			t.Error("failed delivery's outcome has no error text")
		}
	})
	t.Run("parse_receipt_unimplemented", func(t *testing.T) {
		_, err := c.ParseReceipt(ctx, &pluginv1.ParseReceiptRequest{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("ParseReceipt = %v, want Unimplemented", err)
		}
	})
	t.Run("health_ok", func(t *testing.T) {
		if err := c.Health(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClient_optional_interfaces(t *testing.T) {
	ctx := t.Context()
	impl := &full{}
	c := connect(t, impl)

	outs, err := c.SendBatch(ctx, []*pluginv1.Delivery{{Id: "a"}, {Id: "b"}})
	if err != nil || len(outs) != 2 || outs[1].GetVendorMessageId() != "batch-b" {
		t.Fatalf("SendBatch = %v, %v", outs, err)
	}
	receipts, err := c.ParseReceipt(ctx, &pluginv1.ParseReceiptRequest{ChannelId: "ch", Body: []byte("DELIVRD")})
	if err != nil || len(receipts) != 1 || receipts[0].GetStatus() != "DELIVRD" {
		t.Fatalf("ParseReceipt = %v, %v", receipts, err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	impl.healthErr = errors.New("vendor down")
	if err := c.Health(ctx); !errors.Is(err, sender.ErrUnhealthy) {
		t.Fatalf("Health = %v, want ErrUnhealthy", err)
	}
}

func TestClient_errors(t *testing.T) {
	tests := []struct {
		name     string
		impl     *basic
		timeout  time.Duration
		wantCode codes.Code
	}{
		{name: "plain_error_is_internal", impl: &basic{sendErr: errors.New("boom")}, wantCode: codes.Internal},
		{name: "status_code_kept", impl: &basic{sendErr: status.Error(codes.InvalidArgument, "no")}, wantCode: codes.InvalidArgument},
		// Unavailable would make the gateway restart a healthy plugin.
		{name: "unavailable_is_not_passed_on", impl: &basic{sendErr: fmt.Errorf("upstream: %w", status.Error(codes.Unavailable, "down"))}, wantCode: codes.Internal},
		{name: "no_outcome", impl: &basic{nilOut: true}, wantCode: codes.Internal},
		{name: "deadline", impl: &basic{block: true}, timeout: 50 * time.Millisecond, wantCode: codes.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			out, err := connect(t, tt.impl).Send(ctx, &pluginv1.Delivery{Id: "x"})
			if status.Code(err) != tt.wantCode {
				t.Fatalf("Send = %v, %v; want code %v", out, err, tt.wantCode)
			}
		})
	}
}

func TestGRPCPlugin_without_impl(t *testing.T) {
	p := &sender.GRPCPlugin{}
	if err := p.GRPCServer(nil, nil); err == nil {
		t.Fatal("serving without an implementation succeeded")
	}
}
