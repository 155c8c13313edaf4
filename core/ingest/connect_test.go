package ingest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/reqid"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// connectClients serves CallbackService and FeedbackService behind the
// tenant interceptor, over loopback with HTTP/1.1 and cleartext HTTP/2,
// and returns clients for each protocol a caller may speak.
func (e *env) connectClients(t *testing.T) map[string]clients {
	t.Helper()
	mux := http.NewServeMux()
	h := ingest.NewConnectHandler(e.svc)
	mux.Handle(callgatev1connect.NewCallbackServiceHandler(h, connect.WithInterceptors(e.auth.TenantInterceptor())))
	mux.Handle(callgatev1connect.NewFeedbackServiceHandler(h, connect.WithInterceptors(e.auth.TenantInterceptor())))
	srv := httptest.NewUnstartedServer(reqid.Middleware(mux))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)

	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(h2c.CloseIdleConnections)
	h2cClient := &http.Client{Transport: h2c}
	out := map[string]clients{}
	for name, c := range map[string]struct {
		http *http.Client
		opts []connect.ClientOption
	}{
		"connect":      {srv.Client(), nil},
		"connect_json": {srv.Client(), []connect.ClientOption{connect.WithProtoJSON()}},
		"grpc":         {h2cClient, []connect.ClientOption{connect.WithGRPC()}},
		"grpc_web":     {srv.Client(), []connect.ClientOption{connect.WithGRPCWeb()}},
	} {
		out[name] = clients{
			callbacks: callgatev1connect.NewCallbackServiceClient(c.http, srv.URL, c.opts...),
			feedback:  callgatev1connect.NewFeedbackServiceClient(c.http, srv.URL, c.opts...),
		}
	}
	return out
}

type clients struct {
	callbacks callgatev1connect.CallbackServiceClient
	feedback  callgatev1connect.FeedbackServiceClient
}

func submitRequest(secret string, msg *callgatev1.SubmitCallbackRequest) *connect.Request[callgatev1.SubmitCallbackRequest] {
	req := connect.NewRequest(msg)
	if secret != "" {
		req.Header().Set("Authorization", "Bearer "+secret)
	}
	return req
}

// checkConnectError checks a refusal's Connect code, its stable code in
// the Callgate-Error-Code header and at the start of its message.
func checkConnectError(t *testing.T, err error, wantCode connect.Code, wantStable string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a *connect.Error", err)
	}
	if ce.Code() != wantCode {
		t.Errorf("code = %v, want %v (%v)", ce.Code(), wantCode, err)
	}
	if got := ce.Meta().Get(apierr.CodeHeader); got != wantStable {
		t.Errorf("%s = %q, want %q", apierr.CodeHeader, got, wantStable)
	}
	if !strings.HasPrefix(ce.Message(), wantStable+": ") {
		t.Errorf("message %q does not start with %q", ce.Message(), wantStable)
	}
}

func TestConnectSubmitCallback(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		secret     string
		header     map[string]string
		msg        *callgatev1.SubmitCallbackRequest
		wantCode   connect.Code // 0: accepted
		wantStable string
	}{
		{name: "accepted", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: "hello"}},
		{name: "accepted_naming_own_tenant_and_key", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{
			TenantId: "t1", Content: "hello", Properties: &callgatev1.CallbackProperties{AppKey: "k1", Rule: "http"}}},
		{name: "missing_credentials", msg: &callgatev1.SubmitCallbackRequest{Content: "x"},
			wantCode: connect.CodeUnauthenticated, wantStable: apierr.Unauthorized},
		{name: "wrong_secret", secret: "nope", msg: &callgatev1.SubmitCallbackRequest{Content: "x"},
			wantCode: connect.CodeUnauthenticated, wantStable: apierr.Unauthorized},
		{name: "revoked_key", secret: secretRevoked, msg: &callgatev1.SubmitCallbackRequest{Content: "x"},
			wantCode: connect.CodeUnauthenticated, wantStable: apierr.Unauthorized},
		{name: "another_tenant", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{TenantId: "t2", Content: "x"},
			wantCode: connect.CodePermissionDenied, wantStable: apierr.Forbidden},
		{name: "unknown_tenant_looks_like_another", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{TenantId: "t9", Content: "x"},
			wantCode: connect.CodePermissionDenied, wantStable: apierr.Forbidden},
		{name: "another_app_key", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: "x",
			Properties: &callgatev1.CallbackProperties{AppKey: "k2"}}, wantCode: connect.CodePermissionDenied, wantStable: apierr.Forbidden},
		{name: "unknown_rule", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: "x",
			Properties: &callgatev1.CallbackProperties{Rule: "nope"}}, wantCode: connect.CodeNotFound, wantStable: apierr.RuleNotFound},
		{name: "no_callback_config", secret: secretTwo, msg: &callgatev1.SubmitCallbackRequest{Content: "x"},
			wantCode: connect.CodeFailedPrecondition, wantStable: apierr.NoCallbackConfig},
		{name: "rule_rejects", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: "x",
			Properties: &callgatev1.CallbackProperties{Rule: "custom", Ext: map[string]string{"case": "reject"}}},
			wantCode: connect.CodeFailedPrecondition, wantStable: apierr.RuleRejected},
		{name: "rule_fails_internally", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: "x",
			Properties: &callgatev1.CallbackProperties{Rule: "custom", Ext: map[string]string{"case": "fail"}}},
			wantCode: connect.CodeInternal, wantStable: apierr.InternalError},
		{name: "content_too_large", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: strings.Repeat("x", 1025)},
			wantCode: connect.CodeResourceExhausted, wantStable: apierr.BodyTooLarge},
		{name: "idempotency_key_too_long", secret: secretOne, msg: &callgatev1.SubmitCallbackRequest{Content: "x",
			IdempotencyKey: strings.Repeat("k", 256)}, wantCode: connect.CodeInvalidArgument, wantStable: apierr.InvalidParameterValue},
	}
	for protocol, c := range e.connectClients(t) {
		t.Run(protocol, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := len(e.notifier.notified())
					resp, err := c.callbacks.SubmitCallback(t.Context(), submitRequest(tt.secret, tt.msg))
					if tt.wantCode != 0 {
						checkConnectError(t, err, tt.wantCode, tt.wantStable)
						if err != nil && strings.Contains(err.Error(), "secret detail") {
							t.Errorf("the error shows an internal cause: %v", err)
						}
						if len(e.notifier.notified()) != before {
							t.Error("a refused callback was notified")
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					m := resp.Msg
					if !strings.HasPrefix(m.GetMessageId(), "msg_") || !strings.HasPrefix(m.GetRequestId(), "req_") ||
						len(m.GetDeliveryIds()) != 1 {
						t.Errorf("response = %v", m)
					}
					stored, err := e.store.GetMessage(t.Context(), "t1", m.GetMessageId())
					if err != nil || stored.Content != tt.msg.GetContent() || stored.RequestID != m.GetRequestId() {
						t.Errorf("stored message %+v, %v", stored, err)
					}
					if got := len(e.notifier.notified()); got != before+1 {
						t.Errorf("notified %d times, want once", got-before)
					}
				})
			}
		})
	}
}

// TestConnectIdempotency: the key may come in the message or in the
// Idempotency-Key header; a resubmission answers the first answer's ids
// and is not notified again.
func TestConnectIdempotency(t *testing.T) {
	e := newEnv(t)
	c := e.connectClients(t)["connect"]
	submit := func(t *testing.T, key, header string) *callgatev1.SubmitCallbackResponse {
		t.Helper()
		req := submitRequest(secretOne, &callgatev1.SubmitCallbackRequest{Content: "x", IdempotencyKey: key})
		if header != "" {
			req.Header().Set("Idempotency-Key", header)
		}
		resp, err := c.callbacks.SubmitCallback(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Msg
	}
	tests := []struct {
		name                    string
		firstKey, firstHeader   string
		secondKey, secondHeader string
		wantSame                bool
	}{
		{name: "key_in_message", firstKey: "a", secondKey: "a", wantSame: true},
		{name: "key_in_header", firstHeader: "b", secondHeader: "b", wantSame: true},
		{name: "header_then_message", firstHeader: "c", secondKey: "c", wantSame: true},
		{name: "message_wins_over_header", firstKey: "d", secondKey: "e", secondHeader: "d", wantSame: false},
		{name: "different_keys", firstKey: "f", secondKey: "g", wantSame: false},
		{name: "no_key", wantSame: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.notifier.notified())
			first := submit(t, tt.firstKey, tt.firstHeader)
			second := submit(t, tt.secondKey, tt.secondHeader)
			same := first.GetMessageId() == second.GetMessageId() && slices.Equal(first.GetDeliveryIds(), second.GetDeliveryIds())
			if same != tt.wantSame {
				t.Errorf("first %v, second %v: same = %v, want %v", first, second, same, tt.wantSame)
			}
			wantNotified := 2
			if tt.wantSame {
				wantNotified = 1
			}
			if got := len(e.notifier.notified()) - before; got != wantNotified {
				t.Errorf("notified %d times, want %d", got, wantNotified)
			}
		})
	}
}

func TestConnectSubmitFeedback(t *testing.T) {
	e := newEnv(t)
	cs := e.connectClients(t)
	sub, err := cs["connect"].callbacks.SubmitCallback(t.Context(), submitRequest(secretOne, &callgatev1.SubmitCallbackRequest{Content: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	dlv := sub.Msg.GetDeliveryIds()[0]
	tests := []struct {
		name       string
		secret     string
		msg        *callgatev1.SubmitFeedbackRequest
		wantCode   connect.Code
		wantStable string
	}{
		{name: "recorded", secret: secretOne, msg: &callgatev1.SubmitFeedbackRequest{ChannelId: "http", DeliveryId: dlv, Status: "delivered"}},
		{name: "missing_credentials", msg: &callgatev1.SubmitFeedbackRequest{ChannelId: "http", DeliveryId: dlv, Status: "delivered"},
			wantCode: connect.CodeUnauthenticated, wantStable: apierr.Unauthorized},
		{name: "missing_status", secret: secretOne, msg: &callgatev1.SubmitFeedbackRequest{ChannelId: "http", DeliveryId: dlv},
			wantCode: connect.CodeInvalidArgument, wantStable: apierr.ParamError},
		{name: "unknown_delivery", secret: secretOne, msg: &callgatev1.SubmitFeedbackRequest{ChannelId: "http", DeliveryId: "dlv_x", Status: "failed"},
			wantCode: connect.CodeNotFound, wantStable: apierr.DeliveryNotFound},
		{name: "another_tenant", secret: secretTwo, msg: &callgatev1.SubmitFeedbackRequest{ChannelId: "http", DeliveryId: dlv, Status: "failed"},
			wantCode: connect.CodeNotFound, wantStable: apierr.DeliveryNotFound},
	}
	for protocol, c := range cs {
		t.Run(protocol, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req := connect.NewRequest(tt.msg)
					if tt.secret != "" {
						req.Header().Set("Authorization", "Bearer "+tt.secret)
					}
					resp, err := c.feedback.SubmitFeedback(t.Context(), req)
					if tt.wantCode != 0 {
						checkConnectError(t, err, tt.wantCode, tt.wantStable)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if !strings.HasPrefix(resp.Msg.GetReceiptId(), "rcp_") || !strings.HasPrefix(resp.Msg.GetRequestId(), "req_") {
						t.Errorf("response = %v", resp.Msg)
					}
				})
			}
		})
	}
}

// TestConnectHandlerWithoutInterceptor: without the tenant interceptor in
// front, every call is refused as unauthenticated.
func TestConnectHandlerWithoutInterceptor(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	h := ingest.NewConnectHandler(e.svc)
	mux.Handle(callgatev1connect.NewCallbackServiceHandler(h))
	mux.Handle(callgatev1connect.NewFeedbackServiceHandler(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, err := callgatev1connect.NewCallbackServiceClient(srv.Client(), srv.URL).SubmitCallback(t.Context(),
		submitRequest(secretOne, &callgatev1.SubmitCallbackRequest{Content: "x"}))
	checkConnectError(t, err, connect.CodeUnauthenticated, apierr.Unauthorized)
	_, err = callgatev1connect.NewFeedbackServiceClient(srv.Client(), srv.URL).SubmitFeedback(t.Context(),
		connect.NewRequest(&callgatev1.SubmitFeedbackRequest{DeliveryId: "dlv_x", Status: "ok"}))
	checkConnectError(t, err, connect.CodeUnauthenticated, apierr.Unauthorized)
}
