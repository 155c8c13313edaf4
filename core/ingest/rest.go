package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
)

// Authenticator checks a tenant's credentials.
type Authenticator interface {
	Tenant(ctx context.Context, h http.Header) (auth.Principal, error)
}

// Paths of the seed's REST API.
const (
	CallbacksPath = "POST /{tenantId}/message/v1/callbacks"
	BatchPath     = "POST /{tenantId}/message/v1/callbacks/batch"
	FeedbackPath  = "POST /message/v1/feedback/{channelId}"
)

// Envelope is the seed's Response: every REST answer, success or not.
type Envelope struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Result    any    `json:"result"`
	RequestID string `json:"requestId"`
}

// cooperationParams is the seed's CooperationParams. Content is taken raw
// so that a JSON object given instead of a string is kept as its text.
type cooperationParams struct {
	Content    json.RawMessage `json:"content"`
	Properties *struct {
		AppKey string                     `json:"appKey"`
		Rule   string                     `json:"rule"`
		Ext    map[string]json.RawMessage `json:"ext"`
	} `json:"properties"`
}

// callback is the callback params describe.
func (params cooperationParams) callback() (Callback, error) {
	var cb Callback
	var err error
	if cb.Content, err = rawText(params.Content); err != nil {
		return Callback{}, apierr.New(apierr.ParamError, "content: %v", err)
	}
	if params.Properties != nil {
		cb.AppKey, cb.Rule = params.Properties.AppKey, params.Properties.Rule
		if len(params.Properties.Ext) > 0 {
			cb.Ext = make(map[string]string, len(params.Properties.Ext))
			for k, v := range params.Properties.Ext {
				if cb.Ext[k], err = rawText(v); err != nil {
					return Callback{}, apierr.New(apierr.ParamError, "properties.ext.%s: %v", k, err)
				}
			}
		}
	}
	return cb, nil
}

// RESTHandler serves the seed's REST paths.
type RESTHandler struct {
	svc  *Service
	auth Authenticator
	log  *slog.Logger
}

// NewRESTHandler returns the seed API over svc.
func NewRESTHandler(svc *Service, a Authenticator, log *slog.Logger) *RESTHandler {
	return &RESTHandler{svc: svc, auth: a, log: log}
}

// Register adds the seed's paths to mux.
func (h *RESTHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc(CallbacksPath, h.callbacks)
	mux.HandleFunc(BatchPath, h.batch)
	mux.HandleFunc(FeedbackPath, h.feedback)
}

func (h *RESTHandler) callbacks(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.auth.Tenant(ctx, r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var params cooperationParams
	if err := h.decode(w, r, h.svc.opts.MaxContent*2+64<<10, &params); err != nil {
		h.fail(w, r, err)
		return
	}
	cb, err := params.callback()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cb.TenantID, cb.IdempotencyKey = r.PathValue("tenantId"), r.Header.Get("Idempotency-Key")
	acc, err := h.svc.Submit(ctx, p, cb)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, Envelope{
		Code:    apierr.OK,
		Message: "success",
		Result: map[string]any{
			"messageId":   acc.MessageID,
			"requestId":   acc.RequestID,
			"deliveryIds": nonNil(acc.DeliveryIDs),
			"duplicate":   acc.Duplicate,
		},
	})
}

// feedback records a receipt posted in callgate's own shape
// {"deliveryId", "status", "detail"}, or, for any other body, has the
// plugin that sends the channel read it as its vendor's report.
func (h *RESTHandler) feedback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.auth.Tenant(ctx, r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.svc.opts.Receipts == nil {
		var body feedbackBody
		if err := h.decode(w, r, MaxFeedbackBytes, &body); err != nil {
			h.fail(w, r, err)
			return
		}
		h.ownFeedback(w, r, p, body)
		return
	}
	raw, err := readBody(w, r, MaxFeedbackBytes)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		h.fail(w, r, apierr.New(apierr.ParamError, "the body is empty: send a JSON object"))
		return
	}
	if isOwnFeedback(raw) {
		var body feedbackBody
		if err := checkContentType(r); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := unmarshal(raw, &body); err != nil {
			h.fail(w, r, err)
			return
		}
		h.ownFeedback(w, r, p, body)
		return
	}
	h.report(w, r, p, raw)
}

// report has a vendor's report read and recorded, and answers with the
// receipts recorded.
func (h *RESTHandler) report(w http.ResponseWriter, r *http.Request, p auth.Principal, body []byte) {
	ctx := r.Context()
	res, err := h.svc.SubmitReport(ctx, p, Report{
		ChannelID: r.PathValue("channelId"), Headers: reportHeaders(r.Header), Body: body,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	result := map[string]any{
		"receiptIds": nonNil(res.ReceiptIDs),
		"unmatched":  res.Unmatched,
		"requestId":  reqid.From(ctx),
	}
	if len(res.ReceiptIDs) == 1 {
		// Clients written for callgate's own shape read receiptId.
		result["receiptId"] = res.ReceiptIDs[0]
	}
	h.write(w, r, http.StatusOK, Envelope{Code: apierr.OK, Message: "success", Result: result})
}

// feedbackBody is callgate's own receipt shape.
type feedbackBody struct {
	DeliveryID string `json:"deliveryId"`
	Status     string `json:"status"`
	Detail     string `json:"detail"`
}

func (h *RESTHandler) ownFeedback(w http.ResponseWriter, r *http.Request, p auth.Principal, body feedbackBody) {
	ctx := r.Context()
	rc, err := h.svc.SubmitFeedback(ctx, p, Feedback{
		ChannelID: r.PathValue("channelId"), DeliveryID: body.DeliveryID, Status: body.Status, Detail: body.Detail,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, r, http.StatusOK, Envelope{
		Code:    apierr.OK,
		Message: "success",
		Result:  map[string]any{"receiptId": rc.ID, "requestId": reqid.From(ctx)},
	})
}

// isOwnFeedback tells callgate's own receipt shape from a vendor's report:
// a JSON object with a deliveryId member, whatever its value.
func isOwnFeedback(body []byte) bool {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return false
	}
	_, ok := members["deliveryId"]
	return ok
}

// reportHeaders are the headers a plugin is given with a vendor's report:
// all but the caller's credentials and callgate's own.
func reportHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		switch k = http.CanonicalHeaderKey(k); {
		case k == "Authorization", k == "Proxy-Authorization", k == "Cookie",
			strings.HasPrefix(k, "X-Callgate-"):
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// decode reads a JSON body of at most limit bytes into v.
func (h *RESTHandler) decode(w http.ResponseWriter, r *http.Request, limit int, v any) error {
	if err := checkContentType(r); err != nil {
		return err
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apierr.New(apierr.ParamError, "the body is empty: send a JSON object")
	}
	return unmarshal(body, v)
}

// checkContentType refuses a body that says it is not JSON.
func checkContentType(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return apierr.New(apierr.UnsupportedContentType, "send the body as application/json, not %q", ct)
		}
	}
	return nil
}

// readBody reads a body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, apierr.New(apierr.BodyTooLarge, "the body is larger than %d bytes", limit)
	}
	if err != nil {
		return nil, apierr.New(apierr.ParamError, "read body: %v", err)
	}
	return body, nil
}

func unmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return apierr.New(apierr.ParamError, "the body is not valid JSON: %v", err)
	}
	return nil
}

// rawText turns a JSON value into the text to keep: a string's contents,
// or any other value's JSON text.
func rawText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad string: %w", err)
		}
		return s, nil
	}
	return string(raw), nil
}

func (h *RESTHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apierr.From(err)
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "request refused", "request_id", reqid.From(r.Context()),
		"path", r.URL.Path, "code", e.Code, "status", e.Status, "error", err.Error())
	if e.Code == apierr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callgate"`)
	}
	var ra retryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
	}
	h.write(w, r, e.Status, Envelope{Code: e.Code, Message: e.Message, Result: map[string]any{"requestId": reqid.From(r.Context())}})
}

func (h *RESTHandler) write(w http.ResponseWriter, r *http.Request, status int, env Envelope) {
	env.RequestID = reqid.From(r.Context())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		h.log.DebugContext(r.Context(), "write answer", "error", err)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
