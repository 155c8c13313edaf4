package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

const auditUsage = "audit [--tenant ID] [--limit N] [--before TIME] [--page-token T] [-o json]"

// auditCmd: callgate audit [--tenant ID] [--limit N] [--before TIME] [--page-token T]
//
// With the admin token it reads TenantService.ListAuditEvents (every
// tenant's changes, or one tenant's with --tenant); with an app secret,
// which the admin API refuses, it reads the tenant's own log through
// ConfigService.ListAuditEvents.
func auditCmd(args []string) error {
	f := newCLIFlags("audit")
	tenant := f.fs.String("tenant", "", "only this tenant's changes (a tenant's own secret reads only its own)")
	limit := f.fs.Int("limit", 50, "at most this many, newest first (at most 500)")
	before := f.fs.String("before", "", "only changes before this time (RFC 3339, e.g. 2026-11-26T09:00:00Z)")
	page := f.fs.String("page-token", "", "the next page, as the previous answer gave it")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError(auditUsage)
	}
	req := &callgatev1.ListAuditEventsRequest{TenantId: *tenant, PageSize: int32(*limit), PageToken: *page}
	if *before != "" {
		t, err := time.Parse(time.RFC3339, *before)
		if err != nil {
			return fmt.Errorf("--before: %w", err)
		}
		req.Before = timestamppb.New(t)
	}
	ctx, cancel := cliContext()
	defer cancel()
	admin := callgatev1connect.NewTenantServiceClient(f.http(), f.base(), f.opts()...)
	resp, err := admin.ListAuditEvents(ctx, connect.NewRequest(req))
	if connect.CodeOf(err) == connect.CodeUnauthenticated {
		// Not the admin token: perhaps an app secret, reading its own log.
		own := callgatev1connect.NewConfigServiceClient(f.http(), f.base(), f.opts()...)
		resp, err = own.ListAuditEvents(ctx, connect.NewRequest(req))
	}
	if err != nil {
		return cliError(err)
	}
	var rows [][]string
	for _, ev := range resp.Msg.Events {
		detail := ""
		if ev.Detail != nil {
			// encoding/json sorts the keys and spaces nothing: one line a row.
			b, err := json.Marshal(ev.Detail.AsMap())
			if err != nil {
				return err
			}
			detail = string(b)
		}
		rows = append(rows, []string{when(ev.Time), ev.TenantId, ev.Actor, ev.Action, ev.Target, ev.RequestId, detail})
	}
	if err := f.show(resp.Msg, []string{"TIME", "TENANT", "ACTOR", "ACTION", "TARGET", "REQUEST", "DETAIL"}, rows); err != nil {
		return err
	}
	if *f.output != "json" && resp.Msg.NextPageToken != "" {
		fmt.Fprintf(os.Stderr, "more: --page-token %s\n", resp.Msg.NextPageToken)
	}
	return nil
}
