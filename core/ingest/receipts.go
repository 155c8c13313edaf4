package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
)

// Errors a [ReceiptReader] answers with, which the feedback path tells
// apart; the reader's errors wrap them.
var (
	// ErrUnknownChannel means the tenant has no channel of that id and no
	// plugin has that name, or the channel's plugin is not running here.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrNoReceiptParser means the channel's plugin reads no vendor
	// reports.
	ErrNoReceiptParser = errors.New("plugin parses no receipts")
	// ErrPluginUnavailable means the plugin is down or did not answer in
	// time; the vendor may post again later.
	ErrPluginUnavailable = errors.New("plugin unavailable")
)

// ReportRefusedError means the plugin could not read a report: it is not
// in its vendor's format.
type ReportRefusedError struct {
	// Reason is the plugin's, fit to show the caller.
	Reason string
}

func (e *ReportRefusedError) Error() string { return "plugin refused the report: " + e.Reason }

// ReceiptReader reads the reports vendors post to the feedback path in
// their own formats, with the plugin that sends the channel.
type ReceiptReader interface {
	// ChannelPlugin names the plugin that sends the tenant's channel: the
	// one the tenant's own channel of that id names, else the plugin of
	// that name. It fails with ErrUnknownChannel when there is neither.
	ChannelPlugin(ctx context.Context, tenantID, channelID string) (string, error)
	// ParseReceipt has plugin read rep. It fails with ErrNoReceiptParser,
	// a *ReportRefusedError or ErrPluginUnavailable as the plugin answers,
	// and with ErrUnknownChannel when the plugin is not running here.
	ParseReceipt(ctx context.Context, plugin string, rep Report) ([]ParsedReceipt, error)
}

// Report is what a vendor posted to the feedback path, as the plugin is
// given it.
type Report struct {
	ChannelID string
	// Headers are the request's headers under their canonical names
	// (Content-Type), several values joined with ", ". The caller's
	// credentials and callgate's own X-Callgate-* headers are left out: a
	// plugin is a vendor's code and never sees a tenant's secret.
	Headers map[string]string
	Body    []byte
}

// ParsedReceipt is one receipt a plugin found in a report: about the
// delivery with DeliveryID when set, else about the one its attempt's
// vendor message id VendorID names.
type ParsedReceipt struct {
	DeliveryID string
	VendorID   string
	Status     string
	Detail     string
}

// ReportResult says what a vendor's report recorded.
type ReportResult struct {
	// ReceiptIDs are the receipts recorded, in the report's order.
	ReceiptIDs []string
	// Unmatched counts the receipts about no delivery of the tenant sent
	// by the channel's plugin; they are dropped.
	Unmatched int
}

// Limits of one report.
const (
	// MaxFeedbackBytes bounds the body posted to the feedback path, in
	// callgate's shape or a vendor's.
	MaxFeedbackBytes = 128 << 10
	// maxReportReceipts bounds the receipts one report may record.
	maxReportReceipts = 1000
	// maxDetail bounds a receipt's detail, as for callgate's own shape.
	maxDetail = 64 << 10
	// parseTimeout bounds the plugin's reading of one report.
	parseTimeout = 10 * time.Second
)

// SubmitReport has the plugin that sends the tenant's channel read a
// vendor's report, and records each receipt in it against the tenant's
// delivery it is about. A report none of whose receipts is about a
// delivery of the tenant records nothing and fails with
// ResourceNotFound.Delivery; one with no receipt at all records nothing
// and succeeds. Errors are *apierr.Error.
func (s *Service) SubmitReport(ctx context.Context, p auth.Principal, rep Report) (ReportResult, error) {
	rr := s.opts.Receipts
	switch {
	case rr == nil:
		return ReportResult{}, apierr.New(apierr.ReceiptFormat,
			`this gateway reads no vendor reports: post {"deliveryId", "status", "detail"}`)
	case len(rep.Body) > MaxFeedbackBytes:
		return ReportResult{}, apierr.New(apierr.BodyTooLarge, "the body is larger than %d bytes", MaxFeedbackBytes)
	}
	plugin, err := rr.ChannelPlugin(ctx, p.TenantID, rep.ChannelID)
	if errors.Is(err, ErrUnknownChannel) {
		return ReportResult{}, apierr.New(apierr.ChannelNotFound, "no channel %q", rep.ChannelID)
	}
	if err != nil {
		return ReportResult{}, apierr.Internal(fmt.Errorf("find the plugin of channel %q: %w", rep.ChannelID, err))
	}
	receipts, err := s.parse(ctx, rr, plugin, rep)
	if err != nil {
		return ReportResult{}, err
	}
	if len(receipts) > maxReportReceipts {
		return ReportResult{}, apierr.New(apierr.BodyTooLarge, "the report holds %d receipts, more than the %d one post may",
			len(receipts), maxReportReceipts)
	}
	var res ReportResult
	for _, pr := range receipts {
		// Each receipt is its own transaction: a store failure halfway
		// keeps the ones before, and the vendor's retry adds them again,
		// as a resubmitted receipt in callgate's shape would.
		rc, err := s.store.AddVendorReceipt(ctx, store.VendorReceipt{
			Plugin: plugin, TenantID: p.TenantID, DeliveryID: pr.DeliveryID, VendorID: pr.VendorID,
			Status: pr.Status, Detail: clip(pr.Detail, maxDetail),
		})
		if errors.Is(err, store.ErrNotFound) {
			res.Unmatched++
			continue
		}
		if err != nil {
			return ReportResult{}, apierr.Internal(err)
		}
		res.ReceiptIDs = append(res.ReceiptIDs, rc.ID)
	}
	s.log.InfoContext(ctx, "vendor report recorded", "request_id", reqid.From(ctx), "tenant", p.TenantID,
		"channel", rep.ChannelID, "plugin", plugin, "recorded", len(res.ReceiptIDs), "unmatched", res.Unmatched)
	if len(receipts) > 0 && len(res.ReceiptIDs) == 0 {
		return ReportResult{}, apierr.New(apierr.DeliveryNotFound,
			"none of the %d receipts in the report is about a delivery of this tenant sent by plugin %q", len(receipts), plugin)
	}
	return res, nil
}

// parse has the plugin read the report, within parseTimeout.
func (s *Service) parse(ctx context.Context, rr ReceiptReader, plugin string, rep Report) ([]ParsedReceipt, error) {
	ctx, cancel := context.WithTimeout(ctx, parseTimeout)
	defer cancel()
	receipts, err := rr.ParseReceipt(ctx, plugin, rep)
	var refused *ReportRefusedError
	switch {
	case err == nil:
		return receipts, nil
	case errors.Is(err, ErrUnknownChannel):
		return nil, apierr.New(apierr.ChannelNotFound, "channel %q names plugin %q, which this gateway does not run", rep.ChannelID, plugin)
	case errors.Is(err, ErrNoReceiptParser):
		return nil, apierr.New(apierr.ReceiptFormat,
			`channel %q is sent by plugin %q, which reads no vendor reports: post {"deliveryId", "status", "detail"}`,
			rep.ChannelID, plugin)
	case errors.As(err, &refused):
		return nil, apierr.New(apierr.ReceiptFormat, "plugin %q could not read the report: %s", plugin, clip(refused.Reason, 500))
	case errors.Is(err, ErrPluginUnavailable):
		e := apierr.New(apierr.ServiceUnavailable, "plugin %q is not available, post the report again later", plugin)
		s.log.WarnContext(ctx, "vendor report not read", "request_id", reqid.From(ctx), "plugin", plugin, "error", err)
		return nil, e
	default:
		return nil, apierr.Internal(fmt.Errorf("plugin %q parse report: %w", plugin, err))
	}
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
