package apierr_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
)

// TestCodes maps every stable code to its HTTP status and Connect code.
func TestCodes(t *testing.T) {
	tests := []struct {
		code        string
		wantStatus  int
		wantConnect connect.Code
	}{
		{apierr.ParamError, http.StatusBadRequest, connect.CodeInvalidArgument},
		{apierr.InvalidParameterValue, http.StatusBadRequest, connect.CodeInvalidArgument},
		{apierr.UnsupportedContentType, http.StatusUnsupportedMediaType, connect.CodeInvalidArgument},
		{apierr.FailedOperation, http.StatusBadRequest, connect.CodeFailedPrecondition},
		{apierr.NoCallbackConfig, http.StatusBadRequest, connect.CodeFailedPrecondition},
		{apierr.RuleRejected, http.StatusBadRequest, connect.CodeFailedPrecondition},
		{apierr.Unauthorized, http.StatusUnauthorized, connect.CodeUnauthenticated},
		{apierr.Forbidden, http.StatusForbidden, connect.CodePermissionDenied},
		{apierr.TenantNotFound, http.StatusNotFound, connect.CodeNotFound},
		{apierr.RuleNotFound, http.StatusNotFound, connect.CodeNotFound},
		{apierr.DeliveryNotFound, http.StatusNotFound, connect.CodeNotFound},
		{apierr.ResourceNotFound, http.StatusNotFound, connect.CodeNotFound},
		{apierr.ResourceInUse, http.StatusConflict, connect.CodeAlreadyExists},
		{apierr.BodyTooLarge, http.StatusRequestEntityTooLarge, connect.CodeResourceExhausted},
		{apierr.LimitExceeded, http.StatusTooManyRequests, connect.CodeResourceExhausted},
		{apierr.InternalError, http.StatusInternalServerError, connect.CodeInternal},
		{apierr.ServiceUnavailable, http.StatusServiceUnavailable, connect.CodeUnavailable},
		{apierr.ReceiptFormat, http.StatusBadRequest, connect.CodeInvalidArgument},
		{apierr.ChannelNotFound, http.StatusNotFound, connect.CodeNotFound},
		// Codes made by suffixing a family keep the family's mapping.
		{apierr.ResourceNotFound + ".AppKey", http.StatusNotFound, connect.CodeNotFound},
		{"UnauthorizedOperation.Other", http.StatusForbidden, connect.CodePermissionDenied},
		{"LimitExceeded.Rate", http.StatusTooManyRequests, connect.CodeResourceExhausted},
		{"FailedOperation.Other", http.StatusBadRequest, connect.CodeFailedPrecondition},
		{"InternalError.Other", http.StatusInternalServerError, connect.CodeInternal},
		{"InvalidParameter.Other", http.StatusBadRequest, connect.CodeInvalidArgument},
		{"FailedOperationX", http.StatusBadRequest, connect.CodeInvalidArgument},
		{"SomethingElse", http.StatusBadRequest, connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.code, ".", "_"), func(t *testing.T) {
			e := apierr.New(tt.code, "what %s", "happened")
			if e.Code != tt.code || e.Message != "what happened" {
				t.Errorf("New = %+v", e)
			}
			if e.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d", e.Status, tt.wantStatus)
			}
			if got := e.ConnectCode(); got != tt.wantConnect {
				t.Errorf("Connect code = %v, want %v", got, tt.wantConnect)
			}
			if got, want := e.Error(), tt.code+": what happened"; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			if e.Unwrap() != nil {
				t.Errorf("Unwrap() = %v, want nil", e.Unwrap())
			}
			ce := apierr.ToConnect(e)
			if ce.Code() != tt.wantConnect || ce.Meta().Get(apierr.CodeHeader) != tt.code || ce.Message() != tt.code+": what happened" {
				t.Errorf("ToConnect = %v (%s %q)", ce, apierr.CodeHeader, ce.Meta().Get(apierr.CodeHeader))
			}
		})
	}
}

func TestOKStatus(t *testing.T) {
	if got := apierr.New(apierr.OK, "success").Status; got != http.StatusOK {
		t.Errorf("status of %s = %d, want 200", apierr.OK, got)
	}
}

// TestInternal: the caller sees a generic message; the cause stays for
// logs and errors.Is.
func TestInternal(t *testing.T) {
	cause := fmt.Errorf("query tenants: %w", errors.New("database is locked at /var/lib/callgate"))
	e := apierr.Internal(cause)
	if e.Code != apierr.InternalError || e.Status != http.StatusInternalServerError {
		t.Errorf("Internal = %s %d", e.Code, e.Status)
	}
	if strings.Contains(e.Message, "database") || e.Message == "" {
		t.Errorf("Message %q shows the cause or nothing", e.Message)
	}
	if !strings.Contains(e.Error(), "database is locked at /var/lib/callgate") || !strings.HasPrefix(e.Error(), apierr.InternalError+": ") {
		t.Errorf("Error() = %q, want the code, the message and the cause", e.Error())
	}
	if e.Unwrap() != cause || !errors.Is(e, cause) {
		t.Errorf("Unwrap() = %v, want the cause", e.Unwrap())
	}
	ce := apierr.ToConnect(e)
	if strings.Contains(ce.Error(), "database") || ce.Code() != connect.CodeInternal {
		t.Errorf("ToConnect shows the cause or the wrong code: %v", ce)
	}
	if errors.Is(ce, cause) {
		t.Error("the Connect error unwraps to the internal cause")
	}
}

func TestFrom(t *testing.T) {
	known := apierr.New(apierr.RuleNotFound, "no rule %q", "x")
	plain := errors.New("disk full")
	tests := []struct {
		name      string
		err       error
		wantSame  bool // From returns known itself
		wantCode  string
		wantCause error
	}{
		{name: "api_error", err: known, wantSame: true, wantCode: apierr.RuleNotFound},
		{name: "wrapped_api_error", err: fmt.Errorf("submit: %w", known), wantSame: true, wantCode: apierr.RuleNotFound},
		{name: "joined_api_error", err: errors.Join(plain, known), wantSame: true, wantCode: apierr.RuleNotFound},
		{name: "plain_error_is_internal", err: plain, wantCode: apierr.InternalError, wantCause: plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apierr.From(tt.err)
			if (e == known) != tt.wantSame || e.Code != tt.wantCode {
				t.Errorf("From = %+v", e)
			}
			if tt.wantCause != nil && !errors.Is(e, tt.wantCause) {
				t.Errorf("From lost the cause: %v", e)
			}
			if got := apierr.ToConnect(tt.err).Meta().Get(apierr.CodeHeader); got != tt.wantCode {
				t.Errorf("ToConnect header = %q, want %q", got, tt.wantCode)
			}
		})
	}
}
