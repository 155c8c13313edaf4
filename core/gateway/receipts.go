package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/pluginhost"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// feedbackReceipts lets ingest read the reports vendors post to the
// feedback path: the channel resolver the dispatcher uses says which
// plugin sends the tenant's channel, and that plugin's process reads the
// report.
type feedbackReceipts struct {
	channels *channelResolver
	host     *pluginhost.Host
}

// ChannelPlugin implements ingest.ReceiptReader.
func (f feedbackReceipts) ChannelPlugin(ctx context.Context, tenantID, channelID string) (string, error) {
	plugin, _, err := f.channels.Resolve(ctx, tenantID, channelID)
	if errors.Is(err, dispatch.ErrUnknownChannel) {
		return "", fmt.Errorf("%w: %w", ingest.ErrUnknownChannel, err)
	}
	return plugin, err
}

// ParseReceipt implements ingest.ReceiptReader.
func (f feedbackReceipts) ParseReceipt(ctx context.Context, plugin string, rep ingest.Report) ([]ingest.ParsedReceipt, error) {
	prs, err := f.host.ParseReceipt(ctx, plugin, &pluginv1.ParseReceiptRequest{
		ChannelId: rep.ChannelID, Headers: rep.Headers, Body: rep.Body,
	})
	if err != nil {
		return nil, parseError(err)
	}
	out := make([]ingest.ParsedReceipt, 0, len(prs))
	for _, pr := range prs {
		if pr == nil {
			continue
		}
		out = append(out, ingest.ParsedReceipt{
			DeliveryID: pr.GetDeliveryId(), VendorID: pr.GetVendorMessageId(), Status: pr.GetStatus(), Detail: pr.GetDetail(),
		})
	}
	return out, nil
}

// parseError turns the plugin host's and the plugin's errors into the
// ones ingest tells apart.
func parseError(err error) error {
	switch {
	case errors.Is(err, pluginhost.ErrUnknownPlugin):
		return fmt.Errorf("%w: %w", ingest.ErrUnknownChannel, err)
	case errors.Is(err, pluginhost.ErrPluginUnavailable), errors.Is(err, pluginhost.ErrClosed):
		return fmt.Errorf("%w: %w", ingest.ErrPluginUnavailable, err)
	}
	// The status itself, not status.FromError's, whose message would be
	// the whole wrapped error text.
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return err
	}
	st := se.GRPCStatus()
	switch st.Code() {
	case codes.Unimplemented:
		return fmt.Errorf("%w: %w", ingest.ErrNoReceiptParser, err)
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		// sdk/sender prefixes what the plugin said with the call's name.
		return &ingest.ReportRefusedError{Reason: strings.TrimPrefix(st.Message(), "parse receipt: ")}
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return fmt.Errorf("%w: %w", ingest.ErrPluginUnavailable, err)
	}
	return err
}

var _ ingest.ReceiptReader = feedbackReceipts{}
