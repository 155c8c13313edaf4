package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// The verbs that set delivery policies: `configs policy` and `tenants
// update` here, and the policy flags of `configs add` (policyFlags, which
// configsCmd registers). Every other verb of configs and tenants is
// configsCmd's and tenantsCmd's, untouched.

const (
	configsPolicyUsage = "configs policy ID [--retry 1s,5s|none|inherit] [--rate N|0] [--burst B]  (only what is given changes)"
	tenantsPolicyUsage = "tenants update ID [--name NAME] [--ingest-rate R] [--ingest-burst B] [--manage-rate R] [--manage-burst B]" +
		" [--rule-time-ms MS] [--rule-memory-mib MIB] [--rule-output-kib KIB] [--retry 1s,5s|none|inherit]  (admin token)"
)

// addPolicy holds the policy flags of `configs add`.
type addPolicy struct {
	retry *callgatev1.RetryPolicy
	rate  *float64
	burst *int
}

// policyFlags registers --retry, --rate and --burst on fs, for `configs
// add URL --retry 1s,5s,30s --rate 10`.
func policyFlags(fs *flag.FlagSet) *addPolicy {
	p := &addPolicy{
		rate:  fs.Float64("rate", 0, "add: at most this many sends per second to the URL (0: no limit)"),
		burst: fs.Int("burst", 0, "add: sends at once within the rate (default 1)"),
	}
	fs.Func("retry", "add: retry delays, like 1s,5s,30s, or none (default: the tenant's schedule)", func(s string) error {
		var err error
		p.retry, err = parseRetry(s)
		return err
	})
	return p
}

// add puts the flags' policy on a config to add.
func (p *addPolicy) add(info *callgatev1.CallbackInfo) *callgatev1.CallbackInfo {
	info.Retry = p.retry
	if *p.rate != 0 {
		info.Rate = &callgatev1.RateLimit{PerSecond: *p.rate, Burst: int32(*p.burst)}
	}
	return info
}

// configsPolicyCmd: callgate configs policy ID [--retry ...] [--rate N] [--burst B]; other verbs are configsCmd's.
func configsPolicyCmd(args []string) error {
	if verbOf(args) != "policy" {
		return configsCmd(args)
	}
	f := newCLIFlags("configs")
	retry := f.fs.String("retry", "", "retry delays, like 1s,5s,30s; none: no retries; inherit: the tenant's schedule")
	rate := f.fs.Float64("rate", 0, "at most this many sends per second to the URL; 0: no limit")
	burst := f.fs.Int("burst", 0, "sends at once within the rate (default 1)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError(configsPolicyUsage)
	}
	given := givenFlags(f.fs)
	c := callgatev1connect.NewConfigServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	// SetCallbackConfigPolicy replaces the policy: start from the
	// config's, so that only what was given changes.
	list, err := c.ListCallbackConfigs(ctx, connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{}))
	if err != nil {
		return cliError(err)
	}
	var cur *callgatev1.CallbackConfig
	for _, x := range list.Msg.Configs {
		if x.Id == pos[1] {
			cur = x
		}
	}
	if cur == nil {
		return fmt.Errorf("no callback config %q (callgate configs list shows them)", pos[1])
	}
	req := &callgatev1.SetCallbackConfigPolicyRequest{Id: cur.Id, Retry: cur.Retry, Rate: cur.Rate}
	if given["retry"] {
		if req.Retry, err = parseRetry(*retry); err != nil {
			return err
		}
	}
	if given["rate"] || given["burst"] {
		r := &callgatev1.RateLimit{}
		if cur.GetRate() != nil {
			r = proto.Clone(cur.GetRate()).(*callgatev1.RateLimit)
		}
		if given["rate"] {
			r.PerSecond = *rate
		}
		if given["burst"] {
			r.Burst = int32(*burst)
		}
		req.Rate = r
		if r.PerSecond == 0 {
			req.Rate = nil // no limit
		}
	}
	resp, err := c.SetCallbackConfigPolicy(ctx, connect.NewRequest(req))
	if err != nil {
		return cliError(err)
	}
	x := resp.Msg.Config
	return f.show(resp.Msg, []string{"ID", "URL", "RETRY", "RATE"},
		[][]string{{x.Id, x.CallbackUrl, showRetry(x.Retry, "the tenant's"), showRate(x.Rate)}})
}

// verbOf is the first positional argument, the verb, skipping the common
// flags (and their values) that may come before it.
func verbOf(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return a
		}
		switch strings.TrimLeft(a, "-") {
		case "addr", "token", "o":
			i++ // its value
		}
	}
	return ""
}

// tenantsPolicyCmd: callgate tenants update ID [--ingest-rate R] ... [--retry ...]; other verbs are tenantsCmd's.
func tenantsPolicyCmd(args []string) error {
	if verbOf(args) != "update" {
		return tenantsCmd(args)
	}
	f := newCLIFlags("tenants")
	name := f.fs.String("name", "", "the tenant's name (update: kept when not given)")
	ingestRate := f.fs.Float64("ingest-rate", 0, "callbacks per second; 0: the gateway's; negative: no limit")
	ingestBurst := f.fs.Int("ingest-burst", 0, "callbacks at once within the rate")
	manageRate := f.fs.Float64("manage-rate", 0, "management calls per second; 0: the gateway's; negative: no limit")
	manageBurst := f.fs.Int("manage-burst", 0, "management calls at once within the rate")
	ruleTime := f.fs.Int("rule-time-ms", 0, "time limit of one rule call, at most 1000 ms; 0: the gateway's")
	ruleMemory := f.fs.Int("rule-memory-mib", 0, "memory limit of the tenant's own rules, at most 256 MiB; 0: the gateway's")
	ruleOutput := f.fs.Int("rule-output-kib", 0, "longest output of one rule call, at most 16384 KiB; 0: the gateway's")
	retry := f.fs.String("retry", "", "retry delays of the tenant's deliveries, like 1s,5s,30s; none: no retries; inherit: the gateway's")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError(tenantsPolicyUsage)
	}
	given := givenFlags(f.fs)
	c := callgatev1connect.NewTenantServiceClient(f.http(), f.base(), f.opts()...)
	ctx, cancel := cliContext()
	defer cancel()
	// UpdateTenant replaces the limits and schedule: start from what the
	// tenant has, so that only what was given changes.
	list, err := c.ListTenants(ctx, connect.NewRequest(&callgatev1.ListTenantsRequest{}))
	if err != nil {
		return cliError(err)
	}
	var t *callgatev1.Tenant
	for _, x := range list.Msg.Tenants {
		if x.Id == pos[1] {
			t = x
		}
	}
	if t == nil {
		return fmt.Errorf("no tenant %q (callgate tenants list shows them)", pos[1])
	}
	l := proto.Clone(t.GetLimits()).(*callgatev1.TenantLimits)
	if l == nil {
		l = &callgatev1.TenantLimits{}
	}
	for flagName, apply := range map[string]func(){
		"ingest-rate":     func() { l.IngestRate = *ingestRate },
		"ingest-burst":    func() { l.IngestBurst = int32(*ingestBurst) },
		"manage-rate":     func() { l.ManageRate = *manageRate },
		"manage-burst":    func() { l.ManageBurst = int32(*manageBurst) },
		"rule-time-ms":    func() { l.RuleTimeMs = int32(*ruleTime) },
		"rule-memory-mib": func() { l.RuleMemoryMib = int32(*ruleMemory) },
		"rule-output-kib": func() { l.RuleOutputKib = int32(*ruleOutput) },
	} {
		if given[flagName] {
			apply()
		}
	}
	update := &callgatev1.Tenant{Id: t.Id, Name: *name, Limits: l, Retry: t.Retry}
	if given["retry"] {
		if update.Retry, err = parseRetry(*retry); err != nil {
			return err
		}
	}
	resp, err := c.UpdateTenant(ctx, connect.NewRequest(&callgatev1.UpdateTenantRequest{Tenant: update}))
	if err != nil {
		return cliError(err)
	}
	u := resp.Msg.Tenant
	lim := u.GetLimits()
	return f.show(resp.Msg, []string{"ID", "NAME", "INGEST", "MANAGE", "RULE TIME", "RETRY"}, [][]string{{
		u.Id, u.Name,
		fmt.Sprintf("%g/s burst %d", lim.GetIngestRate(), lim.GetIngestBurst()),
		fmt.Sprintf("%g/s burst %d", lim.GetManageRate(), lim.GetManageBurst()),
		fmt.Sprintf("%d ms", lim.GetRuleTimeMs()),
		showRetry(u.Retry, "the gateway's"),
	}})
}

// givenFlags names the flags set on the command line.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// parseRetry reads a schedule: Go durations separated by commas ("1s,5s,
// 30s"), "none" for no retries, "inherit" for none of its own. The
// gateway checks the bounds.
func parseRetry(s string) (*callgatev1.RetryPolicy, error) {
	switch s = strings.TrimSpace(s); s {
	case "inherit":
		return nil, nil
	case "none":
		return &callgatev1.RetryPolicy{ScheduleMs: []int32{}}, nil
	}
	p := &callgatev1.RetryPolicy{}
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("--retry: %q is not a duration like 500ms, 5s or 1h (or none, or inherit)", part)
		}
		if d < 0 || d > 7*24*time.Hour {
			return nil, fmt.Errorf("--retry: %v is out of range (100ms to 7 days)", d)
		}
		p.ScheduleMs = append(p.ScheduleMs, int32(d.Milliseconds()))
	}
	return p, nil
}

func showRetry(p *callgatev1.RetryPolicy, inherited string) string {
	switch {
	case p == nil:
		return inherited
	case len(p.ScheduleMs) == 0:
		return "none"
	}
	parts := make([]string, len(p.ScheduleMs))
	for i, ms := range p.ScheduleMs {
		parts[i] = (time.Duration(ms) * time.Millisecond).String()
	}
	return strings.Join(parts, ",")
}

func showRate(r *callgatev1.RateLimit) string {
	if r == nil {
		return "no limit"
	}
	return fmt.Sprintf("%g/s burst %d", r.PerSecond, max(r.Burst, 1))
}
