package sender_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// source is a plugin that learns of receipts on its own.
type source struct {
	basic
	receipts chan *pluginv1.ParsedReceipt
}

func (s *source) Receipts(ctx context.Context, send func(*pluginv1.ParsedReceipt) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.receipts:
			if err := send(r); err != nil {
				return err
			}
		}
	}
}

var _ sender.ReceiptSource = (*source)(nil)

// TestSendStream: deliveries on one stream run concurrently and are
// answered as each finishes, a hanging one last; the gateway can cancel
// one, and a delivery past its deadline is given up.
func TestSendStream(t *testing.T) {
	stream, err := connect(t, &hanger{}).SendStream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pluginv1.SendStreamRequest{Deliveries: []*pluginv1.StreamDelivery{
		{CorrelationId: 1, Delivery: &pluginv1.Delivery{Id: "hung", Destination: "hang"}},
		{CorrelationId: 2, Delivery: &pluginv1.Delivery{Id: "ok"}},
		{CorrelationId: 3, Delivery: &pluginv1.Delivery{Id: "refused", Destination: "bad"}},
		{CorrelationId: 4},
		{CorrelationId: 5, Delivery: &pluginv1.Delivery{Id: "late", Destination: "hang"}, DeadlineMs: 20},
	}}); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]*pluginv1.StreamOutcome{}
	recv := func(want int) {
		t.Helper()
		for len(got) < want {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("Recv after %d answers: %v", len(got), err)
			}
			for _, o := range resp.GetOutcomes() {
				got[o.GetCorrelationId()] = o
			}
		}
	}
	recv(4)
	if _, ok := got[1]; ok {
		t.Fatalf("the hanging delivery was answered: %v", got[1])
	}
	if o := got[2]; o.GetOutcome().GetVendorMessageId() != "v-ok" || o.GetError() != "" {
		t.Errorf("delivery 2: %v", o)
	}
	if o := got[3]; o.GetOutcome() != nil || !strings.Contains(o.GetError(), "cannot handle bad") {
		t.Errorf("delivery 3: %v", o)
	}
	if o := got[4]; o.GetOutcome() != nil || !strings.Contains(o.GetError(), "no delivery") {
		t.Errorf("delivery 4: %v", o)
	}
	if o := got[5]; o.GetOutcome() != nil || !strings.Contains(o.GetError(), "deadline") {
		t.Errorf("delivery 5: %v", o)
	}

	if err := stream.Send(&pluginv1.SendStreamRequest{Cancel: []uint64{1}}); err != nil {
		t.Fatal(err)
	}
	recv(5)
	if o := got[1]; o.GetOutcome() != nil || !strings.Contains(o.GetError(), "canceled") {
		t.Errorf("cancelled delivery 1: %v", o)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after CloseSend = %v, want io.EOF", err)
	}
}

// hanger is basic, except that a delivery to "hang" waits for its context.
type hanger struct{ basic }

func (h *hanger) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	if d.GetDestination() == "hang" {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.basic.Send(ctx, d)
}

// TestSendStream_gateway_closes_with_deliveries_running: deliveries still
// running when the gateway closes its side are answered before the stream
// ends.
func TestSendStream_gateway_closes_with_deliveries_running(t *testing.T) {
	stream, err := connect(t, &basic{}).SendStream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ds []*pluginv1.StreamDelivery
	for i := range 50 {
		ds = append(ds, &pluginv1.StreamDelivery{CorrelationId: uint64(i + 1), Delivery: &pluginv1.Delivery{Id: "d"}})
	}
	if err := stream.Send(&pluginv1.SendStreamRequest{Deliveries: ds}); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(resp.GetOutcomes())
	}
	if n != 50 {
		t.Fatalf("%d answers, want 50", n)
	}
}

func TestReceipts(t *testing.T) {
	t.Run("source", func(t *testing.T) {
		impl := &source{receipts: make(chan *pluginv1.ParsedReceipt, 3)}
		for _, id := range []string{"a", "b", "c"} {
			impl.receipts <- &pluginv1.ParsedReceipt{DeliveryId: id, Status: "delivered"}
		}
		c := connect(t, impl)
		var got []string
		stop := errors.New("enough")
		err := c.Receipts(t.Context(), func(r *pluginv1.ParsedReceipt) error {
			got = append(got, r.GetDeliveryId())
			if len(got) == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || strings.Join(got, ",") != "a,b,c" {
			t.Fatalf("Receipts = %v, got %v", err, got)
		}
	})
	t.Run("not_a_source", func(t *testing.T) {
		err := connect(t, &basic{}).Receipts(t.Context(), func(*pluginv1.ParsedReceipt) error { return nil })
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("Receipts = %v, want Unimplemented", err)
		}
	})
}
