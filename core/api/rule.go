package api

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/ruleset"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// RuleStore is what RuleService needs of the store.
type RuleStore interface {
	PutRule(ctx context.Context, r store.RuleVersion, inactive bool) (store.RuleVersion, error)
	RuleVersions(ctx context.Context, tenantID, code string) ([]store.RuleVersion, error)
	ActiveRules(ctx context.Context, tenantID string) ([]store.RuleVersion, error)
	ActivateRule(ctx context.Context, tenantID, code string, version int) (store.RuleVersion, error)
	DeleteRule(ctx context.Context, tenantID, code string) error
	ConfigRefs(ctx context.Context, tenantID string) ([]store.ConfigRef, error)
	AuditLog
}

// Rules is what RuleService needs of the rule set.
type Rules interface {
	Check(ctx context.Context, code string, wasm []byte, sample route.Input) (bool, error)
	Test(ctx context.Context, in route.Input) (ruleset.TestResult, error)
	Invalidate(tenantID, code string)
	Builtins() map[string]string
	BuiltinClassifies(ctx context.Context, code string) bool
}

// MaxRuleBytes bounds an uploaded module.
const MaxRuleBytes = 16 << 20

// ruleCode is what a rule code may look like.
var ruleCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// RuleService implements callgatev1connect.RuleServiceHandler.
type RuleService struct {
	store RuleStore
	rules Rules
	log   *slog.Logger
}

// NewRuleService returns a RuleService.
func NewRuleService(s RuleStore, r Rules, log *slog.Logger) *RuleService {
	return &RuleService{store: s, rules: r, log: log}
}

func checkCode(code string) error {
	if !ruleCode.MatchString(code) {
		return apierr.New(apierr.InvalidParameterValue,
			"code must be 1 to 64 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	return nil
}

// input builds what a rule sees of a callback for this tenant.
func (s *RuleService) input(ctx context.Context, p auth.Principal, code string, cb *callgatev1.TestCallback) (route.Input, error) {
	refs, err := s.store.ConfigRefs(ctx, p.TenantID)
	if err != nil {
		return route.Input{}, apierr.Internal(err)
	}
	return route.Input{
		TenantID: p.TenantID, MessageID: store.NewID("msg"), Rule: code, AppKey: p.AppKey,
		Content: cb.GetContent(), Ext: cb.GetProperties().GetExt(), Configs: ingest.RouteConfigs(refs),
	}, nil
}

// PutRule accepts a new version after compiling it and running it once.
func (s *RuleService) PutRule(ctx context.Context, req *connect.Request[callgatev1.PutRuleRequest]) (*connect.Response[callgatev1.PutRuleResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := checkCode(m.GetCode()); err != nil {
		return nil, apierr.ToConnect(err)
	}
	if len(m.GetWasm()) == 0 {
		return nil, apierr.ToConnect(apierr.New(apierr.ParamError, "wasm is required"))
	}
	if len(m.GetWasm()) > MaxRuleBytes {
		return nil, apierr.ToConnect(apierr.New(apierr.BodyTooLarge, "the module is larger than %d bytes", MaxRuleBytes))
	}
	sample, err := s.input(ctx, p, m.GetCode(), &callgatev1.TestCallback{Content: "{}"})
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	classifies, err := s.rules.Check(ctx, m.GetCode(), m.GetWasm(), sample)
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	rv, err := s.store.PutRule(ctx, store.RuleVersion{
		TenantID: p.TenantID, Code: m.GetCode(), Wasm: m.GetWasm(), Classifies: classifies,
	}, m.GetInactive())
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.rules.Invalidate(p.TenantID, rv.Code)
	s.log.InfoContext(ctx, "rule uploaded", "request_id", reqid.From(ctx), "tenant", p.TenantID,
		"rule", rv.Code, "version", rv.Version, "sha256", rv.SHA256, "active", rv.Active)
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditRulePut, rv.Code, RuleAuditDetail(rv)))
	return connect.NewResponse(&callgatev1.PutRuleResponse{Rule: ruleProto(rv), RequestId: reqid.From(ctx)}), nil
}

// ListRules lists the tenant's active rules and the built-in ones.
func (s *RuleService) ListRules(ctx context.Context, _ *connect.Request[callgatev1.ListRulesRequest]) (*connect.Response[callgatev1.ListRulesResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.ActiveRules(ctx, p.TenantID)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.ListRulesResponse{}
	own := map[string]bool{}
	for _, r := range rs {
		own[r.Code] = true
		out.Rules = append(out.Rules, ruleProto(r))
	}
	for _, code := range sortedKeys(s.rules.Builtins()) {
		out.Rules = append(out.Rules, s.builtinProto(ctx, code, !own[code]))
	}
	return connect.NewResponse(out), nil
}

func (s *RuleService) builtinProto(ctx context.Context, code string, active bool) *callgatev1.Rule {
	return &callgatev1.Rule{Code: code, Builtin: true, Active: active, Sha256: s.rules.Builtins()[code],
		Classifies: s.rules.BuiltinClassifies(ctx, code)}
}

// GetRule lists every version of one rule.
func (s *RuleService) GetRule(ctx context.Context, req *connect.Request[callgatev1.GetRuleRequest]) (*connect.Response[callgatev1.GetRuleResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := s.store.RuleVersions(ctx, p.TenantID, req.Msg.GetCode())
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.GetRuleResponse{}
	active := false
	for _, v := range vs {
		active = active || v.Active
		out.Versions = append(out.Versions, ruleProto(v))
	}
	if _, ok := s.rules.Builtins()[req.Msg.GetCode()]; ok {
		out.Versions = append(out.Versions, s.builtinProto(ctx, req.Msg.GetCode(), !active))
	}
	if len(out.Versions) == 0 {
		return nil, apierr.ToConnect(apierr.New(apierr.RuleNotFound, "no rule %q", req.Msg.GetCode()))
	}
	return connect.NewResponse(out), nil
}

// ActivateRule makes another version active (a rollback or a roll-forward).
func (s *RuleService) ActivateRule(ctx context.Context, req *connect.Request[callgatev1.ActivateRuleRequest]) (*connect.Response[callgatev1.ActivateRuleResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rv, err := s.store.ActivateRule(ctx, p.TenantID, req.Msg.GetCode(), int(req.Msg.GetVersion()))
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.RuleNotFound, "no rule %q version %d", req.Msg.GetCode(), req.Msg.GetVersion()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.rules.Invalidate(p.TenantID, rv.Code)
	s.log.InfoContext(ctx, "rule version activated", "request_id", reqid.From(ctx), "tenant", p.TenantID,
		"rule", rv.Code, "version", rv.Version)
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditRuleActivate, rv.Code, RuleAuditDetail(rv)))
	return connect.NewResponse(&callgatev1.ActivateRuleResponse{Rule: ruleProto(rv)}), nil
}

// DeleteRule removes every version of the tenant's rule; a built-in rule of
// the same code applies again.
func (s *RuleService) DeleteRule(ctx context.Context, req *connect.Request[callgatev1.DeleteRuleRequest]) (*connect.Response[callgatev1.DeleteRuleResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	err = s.store.DeleteRule(ctx, p.TenantID, req.Msg.GetCode())
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.RuleNotFound, "the tenant has no rule %q", req.Msg.GetCode()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.rules.Invalidate(p.TenantID, req.Msg.GetCode())
	s.log.InfoContext(ctx, "rule deleted", "request_id", reqid.From(ctx), "tenant", p.TenantID, "rule", req.Msg.GetCode())
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditRuleDelete, req.Msg.GetCode(), nil))
	return connect.NewResponse(&callgatev1.DeleteRuleResponse{}), nil
}

// TestRule runs a rule on a sample callback: the decision, the logs and the
// time taken; nothing is stored or delivered.
func (s *RuleService) TestRule(ctx context.Context, req *connect.Request[callgatev1.TestRuleRequest]) (*connect.Response[callgatev1.TestRuleResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	code := req.Msg.GetCode()
	if code == "" {
		code = req.Msg.GetCallback().GetProperties().GetRule()
	}
	if code == "" {
		code = "http"
	}
	in, err := s.input(ctx, p, code, req.Msg.GetCallback())
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	res, err := s.rules.Test(ctx, in)
	if errors.Is(err, route.ErrUnknownRule) {
		return nil, apierr.ToConnect(apierr.New(apierr.RuleNotFound, "no rule %q for this tenant", code))
	}
	out := &callgatev1.TestRuleResponse{DurationUs: res.Duration.Microseconds(), Version: int32(res.Version)}
	for _, l := range res.Logs {
		out.Logs = append(out.Logs, &callgatev1.RuleLog{Level: l.Level.String(), Text: l.Text})
	}
	if err != nil {
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code == apierr.InternalError {
			return nil, apierr.ToConnect(err)
		}
		out.Error = ae.Code + ": " + ae.Message
	}
	if len(res.Decision) > 0 {
		st := &structpb.Struct{}
		if jerr := st.UnmarshalJSON(res.Decision); jerr == nil {
			out.Decision = st
		} else if out.Error == "" {
			out.Error = ruleset.RuleError + ": the decision is not a JSON object"
		}
	}
	return connect.NewResponse(out), nil
}

func ruleProto(r store.RuleVersion) *callgatev1.Rule {
	return &callgatev1.Rule{Code: r.Code, Version: int32(r.Version), Sha256: r.SHA256, Active: r.Active,
		Classifies: r.Classifies, SizeBytes: int64(r.Size), CreateTime: timestamppb.New(r.CreatedAt)}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var _ callgatev1connect.RuleServiceHandler = (*RuleService)(nil)
