package pluginhost

import (
	"context"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// ReceiptSink takes the receipts plugins report on their own, for example
// the delivery receipts an SMSC sends the sms plugin. The host calls it
// from one goroutine per plugin process, one receipt at a time, with a
// context that ends when that process is taken out of service; a receipt
// it cannot place is its own to log.
type ReceiptSink interface {
	PluginReceipt(ctx context.Context, plugin string, r *pluginv1.ParsedReceipt)
}

// subscribe passes the receipts of one plugin process to the sink until
// ctx ends with that process. A stream that fails while the process lives
// is opened again with backoff; one that fails because the process is
// gone hands the process to a restart, after which a new subscription
// starts.
func (p *proc) subscribe(ctx context.Context, client *plugin.Client, rpc *sender.Client) {
	defer p.workers.Done()
	delay := backoffStart
	for {
		err := rpc.Receipts(ctx, func(r *pluginv1.ParsedReceipt) error {
			p.sink.PluginReceipt(ctx, p.spec.Name, r)
			return nil
		})
		switch {
		case ctx.Err() != nil:
			return
		case status.Code(err) == codes.Unimplemented:
			p.log.Debug("plugin reports no receipts of its own")
			return
		case status.Code(err) == codes.Unavailable || client.Exited():
			p.markDead(client, err)
			return
		}
		p.log.Warn("plugin receipt stream ended; subscribing again", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, backoffMax)
	}
}
