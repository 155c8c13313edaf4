// Package tc3 serves callback-configuration management in the form of
// Tencent Cloud API 3.0: the action ModifyApplicationCallbackInfo of the
// e-sign service (ess, version 2020-11-11), signed with TC3-HMAC-SHA256,
// so that a client of Tencent Cloud's own API switches to callgate by
// changing only its endpoint.
//
// The SecretId is the tenant's app key and the SecretKey its secret; an
// agent app key acts for one of its tenant's sub-tenants when the body's
// Agent.ProxyOrganizationId names it. The action is applied by the same
// code as ConfigService.ModifyCallbackConfig, and answered the way Tencent
// Cloud answers: HTTP 200 with {"Response": {"RequestId": ...}}, or with
// {"Response": {"Error": {"Code", "Message"}, "RequestId"}} and one of
// Tencent Cloud's public error codes.
//
// The signature is checked as Tencent Cloud's "签名方法 v3" (signature v3)
// describes it; its Go SDK (tencentcloud-sdk-go/tencentcloud/common) is
// the client the tests use.
package tc3

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// What is served.
const (
	Service = "ess"
	Action  = "ModifyApplicationCallbackInfo"
	Version = "2020-11-11"
)

// Headers of Tencent Cloud API 3.0 requests.
const (
	ActionHeader    = "X-TC-Action"
	VersionHeader   = "X-TC-Version"
	TimestampHeader = "X-TC-Timestamp"
	// ContentSHA256Header set to UNSIGNED-PAYLOAD leaves the body out of
	// the signature; that is refused here.
	ContentSHA256Header = "X-TC-Content-SHA256"
)

// MaxSkew is how far a request's timestamp may be from the server's clock.
const MaxSkew = 5 * time.Minute

// MaxBody bounds a request body.
const MaxBody = 1 << 20

// KeyStore finds an app key's tenant and secret.
type KeyStore interface {
	// AppKeySecret returns a live app key and its secret, or
	// store.ErrNotFound.
	AppKeySecret(ctx context.Context, key string) (store.AppKey, string, error)
}

// ConfigModifier applies the action; *api.ConfigService is one.
type ConfigModifier interface {
	ModifyCallbackConfig(ctx context.Context, req *connect.Request[callgatev1.ModifyCallbackConfigRequest]) (*connect.Response[callgatev1.ModifyCallbackConfigResponse], error)
}

// Limiter keeps a tenant's call rate in check; *limits.Limiter is one.
type Limiter interface {
	Allow(tenantID string) (retryAfter time.Duration, ok bool)
}

// Options configure a Handler. Keys and Configs are required.
type Options struct {
	Keys    KeyStore
	Configs ConfigModifier
	// Limiter is asked once a call is authenticated; nil means no limit.
	Limiter Limiter
	// Log gets a line for each call refused; nil discards them.
	Log *slog.Logger
	// Now is the clock signatures are checked against; nil is time.Now.
	Now func() time.Time
}

// Handler serves POST / in the form of Tencent Cloud API 3.0.
type Handler struct {
	keys    KeyStore
	configs ConfigModifier
	limiter Limiter
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Handler.
func New(opts Options) *Handler {
	h := &Handler{keys: opts.Keys, configs: opts.Configs, limiter: opts.Limiter, log: opts.Log, now: opts.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// ServeHTTP authenticates the call, limits its rate, checks the action and
// version, and applies it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := reqid.From(r.Context())
	ctx := reqid.With(r.Context(), rid)
	if err := h.serve(ctx, w, r); err != nil {
		level := slog.LevelInfo
		if strings.HasPrefix(err.Code, "InternalError") {
			level = slog.LevelError
		}
		h.log.Log(ctx, level, "tc3 call refused", "request_id", rid, "action", r.Header.Get(ActionHeader),
			"code", err.Code, "error", err.log())
		write(w, response{Error: &errorBody{Code: err.Code, Message: err.Message}, RequestID: rid})
		return
	}
	write(w, response{RequestID: rid})
}

func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) *Error {
	if r.Method != http.MethodPost {
		return newError(CodeUnsupportedProtocol, "only POST with a JSON body is served here")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return newError(CodeRequestSizeLimitExceeded, "the request body is larger than %d bytes", MaxBody)
	}
	if err != nil {
		return newError(CodeInvalidParameter, "read the request body: %v", err)
	}
	p, aerr := h.authenticate(ctx, r, body)
	if aerr != nil {
		return aerr
	}
	if h.limiter != nil {
		if wait, ok := h.limiter.Allow(p.TenantID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			return newError(CodeRequestLimitExceeded,
				"your requests exceed the frequency limit of this action; retry in %v", wait.Round(time.Millisecond))
		}
	}
	switch action := r.Header.Get(ActionHeader); action {
	case Action:
	case "":
		return newError(CodeMissingParameter, "the parameter `%s` is missing", ActionHeader)
	default:
		return newError(CodeInvalidAction, "the requested action %s does not exist in service `%s`", quote(action), Service)
	}
	switch version := r.Header.Get(VersionHeader); version {
	case Version:
	case "":
		return newError(CodeMissingParameter, "the parameter `%s` is missing", VersionHeader)
	default:
		return newError(CodeNoSuchVersion, "the specified api version=%s does not exist in service=`%s`; use %s",
			quote(version), Service, Version)
	}
	req, perr := decode(body)
	if perr != nil {
		return perr
	}
	if _, err := h.configs.ModifyCallbackConfig(auth.WithPrincipal(ctx, p), connect.NewRequest(req)); err != nil {
		return fromConfigService(err)
	}
	h.log.InfoContext(ctx, "tc3 call applied", "request_id", reqid.From(ctx), "action", Action,
		"tenant", p.TenantID, "app_key", p.AppKey, "agent_for", req.GetAgent().GetProxyOrganizationId(),
		"operate_type", req.GetOperateType())
	return nil
}

// authenticate checks the signature and returns who signed.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, body []byte) (auth.Principal, *Error) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return auth.Principal{}, newError(CodeInvalidAuthorization, "the Authorization header is missing")
	}
	a, err := parseAuthorization(v)
	if err != nil {
		return auth.Principal{}, newError(CodeInvalidAuthorization, "%v", err)
	}
	if a.Service != Service {
		return auth.Principal{}, newError(CodeInvalidAuthorization,
			"the credential scope names service %s; this endpoint serves `%s`", quote(a.Service), Service)
	}
	ts := r.Header.Get(TimestampHeader)
	if ts == "" {
		return auth.Principal{}, newError(CodeMissingParameter, "the parameter `%s` is missing", TimestampHeader)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 {
		return auth.Principal{}, newError(CodeInvalidParameter, "`%s` must be a Unix time in seconds", TimestampHeader)
	}
	signedAt := time.Unix(sec, 0)
	if skew := h.now().Sub(signedAt); skew > MaxSkew || skew < -MaxSkew {
		return auth.Principal{}, newError(CodeSignatureExpire,
			"signature expired: the timestamp and the server time may differ by at most 5 minutes (the server time is %d)", h.now().Unix())
	}
	if strings.EqualFold(strings.TrimSpace(r.Header.Get(ContentSHA256Header)), "UNSIGNED-PAYLOAD") {
		return auth.Principal{}, newError(CodeSignatureFailure, "unsigned payloads are not accepted: sign the request body")
	}
	if a.Date != signedAt.UTC().Format(time.DateOnly) {
		return auth.Principal{}, newError(CodeSignatureFailure,
			"the credential's date must be the UTC date of `%s`", TimestampHeader)
	}
	k, secret, err := h.keys.AppKeySecret(ctx, a.SecretID)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, newError(CodeSecretIDNotFound, "the SecretId is not found; check that it is correct and not revoked")
	}
	if err != nil {
		return auth.Principal{}, internal(err)
	}
	if !hmacEqual(expectedSignature(secret, a, ts, r, body), a.Signature) {
		return auth.Principal{}, newError(CodeSignatureFailure,
			"the provided credentials could not be validated; check that your signature is correct")
	}
	return auth.Principal{TenantID: k.TenantID, AppKey: k.Key, KeyTenantID: k.TenantID, Agent: k.Agent}, nil
}

// request is the action's body.
type request struct {
	Operator *struct {
		UserID string `json:"UserId"`
	} `json:"Operator"`
	OperateType  int32 `json:"OperateType"`
	CallbackInfo *struct {
		CallbackURL   string `json:"CallbackUrl"`
		CallbackKey   string `json:"CallbackKey"`
		CallbackToken string `json:"CallbackToken"`
	} `json:"CallbackInfo"`
	Agent *struct {
		ProxyOrganizationID string `json:"ProxyOrganizationId"`
	} `json:"Agent"`
}

func decode(body []byte) (*callgatev1.ModifyCallbackConfigRequest, *Error) {
	var in request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, newError(apierr.ParamError, "the body is not valid JSON for %s: %v", Action, err)
	}
	out := &callgatev1.ModifyCallbackConfigRequest{OperateType: in.OperateType}
	if in.Operator != nil {
		out.Operator = &callgatev1.UserInfo{UserId: in.Operator.UserID}
	}
	if c := in.CallbackInfo; c != nil {
		out.CallbackInfo = &callgatev1.CallbackInfo{CallbackUrl: c.CallbackURL, CallbackKey: c.CallbackKey, CallbackToken: c.CallbackToken}
	}
	if in.Agent != nil {
		out.Agent = &callgatev1.Agent{ProxyOrganizationId: in.Agent.ProxyOrganizationID}
	}
	return out, nil
}

// response is Tencent Cloud's answer envelope.
type response struct {
	Error     *errorBody `json:"Error,omitempty"`
	RequestID string     `json:"RequestId"`
}

type errorBody struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// write answers 200, as Tencent Cloud does for errors too: its SDKs read
// the error from the body and take any other status for a transport error.
func write(w http.ResponseWriter, resp response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Response response `json:"Response"`
	}{resp})
}
