package main

import (
	"fmt"
	"strconv"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// tenantsCmd: callgate tenants list | create ID [--name NAME] [--parent ID]
func tenantsCmd(args []string) error {
	f := newCLIFlags("tenants")
	name := f.fs.String("name", "", "the tenant's name")
	parent := f.fs.String("parent", "", "makes a sub-tenant of this tenant, for its agent keys to act for")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	c := callgatev1connect.NewTenantServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	switch {
	case len(pos) == 1 && pos[0] == "list":
		resp, err := c.ListTenants(ctx, connect.NewRequest(&callgatev1.ListTenantsRequest{}))
		if err != nil {
			return cliError(err)
		}
		var rows [][]string
		for _, t := range resp.Msg.Tenants {
			rows = append(rows, []string{t.Id, t.Name, t.ParentId, when(t.CreateTime)})
		}
		return f.show(resp.Msg, []string{"ID", "NAME", "PARENT", "CREATED"}, rows)
	case len(pos) == 2 && pos[0] == "create":
		resp, err := c.CreateTenant(ctx, connect.NewRequest(&callgatev1.CreateTenantRequest{Tenant: &callgatev1.Tenant{Id: pos[1], Name: *name, ParentId: *parent}}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, []string{"ID", "NAME"}, [][]string{{resp.Msg.Tenant.Id, resp.Msg.Tenant.Name}})
	}
	return usageError("tenants list | create ID [--name NAME] [--parent ID]  (admin token)")
}

// keysCmd: callgate keys list TENANT | create TENANT [--agent] | revoke KEY
func keysCmd(args []string) error {
	f := newCLIFlags("keys")
	agent := f.fs.Bool("agent", false, "create: an agent key, which may also act for the tenant's sub-tenants")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	c := callgatev1connect.NewTenantServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	if len(pos) == 2 {
		switch pos[0] {
		case "list":
			resp, err := c.ListAppKeys(ctx, connect.NewRequest(&callgatev1.ListAppKeysRequest{TenantId: pos[1]}))
			if err != nil {
				return cliError(err)
			}
			var rows [][]string
			for _, k := range resp.Msg.AppKeys {
				rows = append(rows, []string{k.AppKey, k.TenantId, when(k.CreateTime), yesNo(k.Agent), yesNo(k.Revoked)})
			}
			return f.show(resp.Msg, []string{"APP KEY", "TENANT", "CREATED", "AGENT", "REVOKED"}, rows)
		case "create":
			resp, err := c.CreateAppKey(ctx, connect.NewRequest(&callgatev1.CreateAppKeyRequest{TenantId: pos[1], Agent: *agent}))
			if err != nil {
				return cliError(err)
			}
			// The secret is shown this once.
			return f.show(resp.Msg, []string{"APP KEY", "SECRET (shown once)"}, [][]string{{resp.Msg.AppKey, resp.Msg.Secret}})
		case "revoke":
			resp, err := c.RevokeAppKey(ctx, connect.NewRequest(&callgatev1.RevokeAppKeyRequest{AppKey: pos[1]}))
			if err != nil {
				return cliError(err)
			}
			return f.show(resp.Msg, nil, nil)
		}
	}
	return usageError("keys list TENANT | create TENANT [--agent] | revoke KEY  (admin token)")
}

// configsCmd: callgate configs list | add URL [--callback-key K] [--callback-token T] | delete URL | enable ID
func configsCmd(args []string) error {
	f := newCLIFlags("configs")
	key := f.fs.String("callback-key", "", "callbackKey: 32 bytes, encrypts bodies")
	token := f.fs.String("callback-token", "", "callbackToken: signs bodies")
	policy := policyFlags(f.fs) // --retry, --rate, --burst: cli_policy.go
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	c := callgatev1connect.NewConfigServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	modify := func(op int32, url string) error {
		resp, err := c.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
			OperateType: op, CallbackInfo: policy.add(&callgatev1.CallbackInfo{CallbackUrl: url, CallbackKey: *key, CallbackToken: *token}),
			Operator: &callgatev1.UserInfo{UserId: "cli"},
		}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, []string{"CONFIG", "REQUEST"}, [][]string{{resp.Msg.ConfigId, resp.Msg.RequestId}})
	}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		resp, err := c.ListCallbackConfigs(ctx, connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{}))
		if err != nil {
			return cliError(err)
		}
		var rows [][]string
		for _, x := range resp.Msg.Configs {
			state := "enabled"
			if x.Disabled {
				state = "disabled: " + x.DisabledReason
			}
			rows = append(rows, []string{x.Id, x.CallbackUrl, yesNo(x.HasCallbackKey), yesNo(x.HasCallbackToken), state})
		}
		return f.show(resp.Msg, []string{"ID", "URL", "KEY", "TOKEN", "STATE"}, rows)
	case len(pos) == 2 && pos[0] == "add":
		return modify(1, pos[1])
	case len(pos) == 2 && pos[0] == "delete":
		return modify(2, pos[1])
	case len(pos) == 2 && pos[0] == "enable":
		resp, err := c.EnableCallbackConfig(ctx, connect.NewRequest(&callgatev1.EnableCallbackConfigRequest{Id: pos[1]}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, nil, nil)
	}
	return usageError("configs list | add URL [--callback-key K] [--callback-token T] [--retry 1s,5s|none] [--rate N [--burst B]] | delete URL | enable ID | policy ID ...")
}

// channelsCmd: callgate channels list | put ID --plugin P [--set k=v]... | delete ID
func channelsCmd(args []string) error {
	f := newCLIFlags("channels")
	plugin := f.fs.String("plugin", "", "the plugin that sends for this channel")
	settings := keyValues{}
	f.fs.Var(settings, "set", "a setting, key=value (repeat)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	c := callgatev1connect.NewChannelServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	switch {
	case len(pos) == 1 && pos[0] == "list":
		resp, err := c.ListChannels(ctx, connect.NewRequest(&callgatev1.ListChannelsRequest{}))
		if err != nil {
			return cliError(err)
		}
		var rows [][]string
		for _, ch := range resp.Msg.Channels {
			rows = append(rows, []string{ch.Id, ch.Plugin, ch.PluginVersion, yesNo(ch.Healthy), yesNo(ch.Builtin), fmt.Sprint(ch.Settings)})
		}
		return f.show(resp.Msg, []string{"ID", "PLUGIN", "VERSION", "HEALTHY", "DEFAULT", "SETTINGS"}, rows)
	case len(pos) == 2 && pos[0] == "put":
		resp, err := c.PutChannel(ctx, connect.NewRequest(&callgatev1.PutChannelRequest{Channel: &callgatev1.Channel{
			Id: pos[1], Plugin: *plugin, Settings: settings}}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, []string{"ID", "PLUGIN", "SETTINGS"}, [][]string{{resp.Msg.Channel.Id, resp.Msg.Channel.Plugin, fmt.Sprint(resp.Msg.Channel.Settings)}})
	case len(pos) == 2 && pos[0] == "delete":
		resp, err := c.DeleteChannel(ctx, connect.NewRequest(&callgatev1.DeleteChannelRequest{Id: pos[1]}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, nil, nil)
	}
	return usageError("channels list | put ID --plugin P [--set k=v]... | delete ID")
}

// deliveriesCmd: callgate deliveries list [--status S] | get ID | retry ID | replay [--status dead] [--limit N]
func deliveriesCmd(args []string) error {
	f := newCLIFlags("deliveries")
	status := f.fs.String("status", "", "only deliveries in this status (list), or which to replay (default dead)")
	limit := f.fs.Int("limit", 50, "at most this many")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	c := callgatev1connect.NewDeliveryServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	row := func(d *callgatev1.Delivery) []string {
		return []string{d.Id, d.Status, d.Channel, d.Destination, strconv.Itoa(int(d.AttemptCount)), when(d.NextAttemptTime), d.LastError}
	}
	header := []string{"ID", "STATUS", "CHANNEL", "DESTINATION", "ATTEMPTS", "NEXT", "LAST ERROR"}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		resp, err := c.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{Status: *status, PageSize: int32(*limit)}))
		if err != nil {
			return cliError(err)
		}
		var rows [][]string
		for _, d := range resp.Msg.Deliveries {
			rows = append(rows, row(d))
		}
		return f.show(resp.Msg, header, rows)
	case len(pos) == 2 && pos[0] == "get":
		resp, err := c.GetDelivery(ctx, connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: pos[1]}))
		if err != nil {
			return cliError(err)
		}
		rows := [][]string{row(resp.Msg.Delivery)}
		for _, a := range resp.Msg.Attempts {
			rows = append(rows, []string{fmt.Sprintf("  attempt %d", a.Number), a.Outcome, strconv.Itoa(int(a.StatusCode)),
				fmt.Sprintf("%d ms", a.LatencyMs), "", when(a.StartTime), a.Error})
		}
		for _, r := range resp.Msg.Receipts {
			rows = append(rows, []string{"  receipt " + r.Id, r.Status, r.ChannelId, r.Detail, "", when(r.ReceiveTime), ""})
		}
		return f.show(resp.Msg, header, rows)
	case len(pos) == 2 && pos[0] == "retry":
		resp, err := c.RetryDelivery(ctx, connect.NewRequest(&callgatev1.RetryDeliveryRequest{Id: pos[1]}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, header, [][]string{row(resp.Msg.Delivery)})
	case len(pos) == 1 && pos[0] == "replay":
		resp, err := c.ReplayDeliveries(ctx, connect.NewRequest(&callgatev1.ReplayDeliveriesRequest{Status: *status, Limit: int32(*limit)}))
		if err != nil {
			return cliError(err)
		}
		return f.show(resp.Msg, []string{"REPLAYED"}, [][]string{{strconv.Itoa(int(resp.Msg.Count))}})
	}
	return usageError("deliveries list [--status S] | get ID | retry ID | replay [--status dead] [--limit N]")
}

// sendCmd: callgate send --content TEXT [--rule R] [--ext k=v]... [--idempotency-key K]
func sendCmd(args []string) error {
	f := newCLIFlags("send")
	content := f.fs.String("content", "", "the callback's content")
	rule := f.fs.String("rule", "http", "the rule code")
	idem := f.fs.String("idempotency-key", "", "makes a resubmission answer the first answer")
	ext := keyValues{}
	f.fs.Var(ext, "ext", "an ext property, key=value (repeat)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError("send --content TEXT [--rule R] [--ext k=v]... [--idempotency-key K]")
	}
	c := callgatev1connect.NewCallbackServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	resp, err := c.SubmitCallback(ctx, connect.NewRequest(&callgatev1.SubmitCallbackRequest{
		Content: *content, Properties: &callgatev1.CallbackProperties{Rule: *rule, Ext: ext}, IdempotencyKey: *idem,
	}))
	if err != nil {
		return cliError(err)
	}
	var rows [][]string
	for _, id := range resp.Msg.DeliveryIds {
		rows = append(rows, []string{resp.Msg.MessageId, id, resp.Msg.RequestId})
	}
	return f.show(resp.Msg, []string{"MESSAGE", "DELIVERY", "REQUEST"}, rows)
}
