package sender

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// ErrUnhealthy is returned by [Client.Health] when the plugin answers
// but says it cannot send.
var ErrUnhealthy = errors.New("plugin unhealthy")

// Client is the gateway's side of a plugin. Errors keep their gRPC status,
// so callers can tell a plugin that is gone (codes.Unavailable) from one
// that refused a call. It is safe for concurrent use.
type Client struct {
	rpc pluginv1.SenderClient
}

// NewClient returns a Client speaking over cc.
func NewClient(cc grpc.ClientConnInterface) *Client {
	return &Client{rpc: pluginv1.NewSenderClient(cc)}
}

// Describe asks the plugin what it is.
func (c *Client) Describe(ctx context.Context) (*pluginv1.DescribeResponse, error) {
	resp, err := c.rpc.Describe(ctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	return resp, nil
}

// Send makes one delivery attempt.
func (c *Client) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	resp, err := c.rpc.Send(ctx, &pluginv1.SendRequest{Delivery: d})
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	if resp.GetOutcome() == nil {
		return nil, errors.New("send: plugin returned no outcome")
	}
	return resp.GetOutcome(), nil
}

// SendBatch makes one attempt for each delivery and returns the outcomes
// in the same order.
func (c *Client) SendBatch(ctx context.Context, ds []*pluginv1.Delivery) ([]*pluginv1.Outcome, error) {
	resp, err := c.rpc.SendBatch(ctx, &pluginv1.SendBatchRequest{Deliveries: ds})
	if err != nil {
		return nil, fmt.Errorf("send batch: %w", err)
	}
	outs := resp.GetOutcomes()
	if len(outs) != len(ds) {
		return nil, fmt.Errorf("send batch: plugin returned %d outcomes for %d deliveries", len(outs), len(ds))
	}
	for i, out := range outs {
		if out == nil {
			return nil, fmt.Errorf("send batch: plugin returned no outcome for delivery %d", i)
		}
	}
	return outs, nil
}

// ParseReceipt asks the plugin to read a vendor's report. A plugin that
// does not parse receipts answers with codes.Unimplemented.
func (c *Client) ParseReceipt(ctx context.Context, req *pluginv1.ParseReceiptRequest) ([]*pluginv1.ParsedReceipt, error) {
	resp, err := c.rpc.ParseReceipt(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("parse receipt: %w", err)
	}
	return resp.GetReceipts(), nil
}

// Receipts subscribes to the receipts the plugin learns on its own and
// calls fn with each, until ctx ends, fn fails or the stream does. A
// plugin that is no [ReceiptSource] answers with codes.Unimplemented.
func (c *Client) Receipts(ctx context.Context, fn func(*pluginv1.ParsedReceipt) error) error {
	stream, err := c.rpc.Receipts(ctx, &pluginv1.ReceiptsRequest{})
	if err != nil {
		return fmt.Errorf("receipts: %w", err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("receipts: %w", err)
		}
		for _, r := range resp.GetReceipts() {
			if err := fn(r); err != nil {
				return fmt.Errorf("receipts: %w", err)
			}
		}
	}
}

// SendStream opens a stream of deliveries to the plugin, for a caller that
// multiplexes many deliveries over it (the gateway's plugin host does). A
// plugin built before the stream existed fails the stream's first Recv
// with codes.Unimplemented; such a plugin is sent to with [Client.Send].
func (c *Client) SendStream(ctx context.Context) (grpc.BidiStreamingClient[pluginv1.SendStreamRequest, pluginv1.SendStreamResponse], error) {
	stream, err := c.rpc.SendStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("send stream: %w", err)
	}
	return stream, nil
}

// Health returns nil when the plugin answers that it can send, an error
// wrapping [ErrUnhealthy] when it answers that it cannot, and the RPC
// error when it does not answer.
func (c *Client) Health(ctx context.Context) error {
	resp, err := c.rpc.Health(ctx, &pluginv1.HealthRequest{})
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	if !resp.GetOk() {
		return fmt.Errorf("%w: %s", ErrUnhealthy, resp.GetDetail())
	}
	return nil
}

var (
	_ Sender        = (*Client)(nil)
	_ BatchSender   = (*Client)(nil)
	_ ReceiptParser = (*Client)(nil)
	_ ReceiptSource = (*Client)(nil)
	_ HealthChecker = (*Client)(nil)
)
