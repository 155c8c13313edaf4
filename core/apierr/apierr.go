// Package apierr is callgate's stable error vocabulary, taken from the seed
// APIs, and its mapping onto HTTP statuses and Connect codes. Errors become
// an *Error once, at the edge of a service; the transports then render it
// in their own form.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// Codes clients can rely on. New codes may be added; these never change
// meaning.
const (
	OK                     = "OK"
	ParamError             = "InvalidParameter.ParamError"
	InvalidParameterValue  = "InvalidParameterValue"
	FailedOperation        = "FailedOperation"
	NoCallbackConfig       = "FailedOperation.NoCallbackConfig"
	RuleRejected           = "FailedOperation.RuleRejected"
	Unauthorized           = "UnauthorizedOperation"
	Forbidden              = "UnauthorizedOperation.Forbidden"
	TenantNotFound         = "ResourceNotFound.Tenant"
	RuleNotFound           = "ResourceNotFound.Rule"
	DeliveryNotFound       = "ResourceNotFound.Delivery"
	ResourceNotFound       = "ResourceNotFound"
	ResourceInUse          = "ResourceInUse"
	BodyTooLarge           = "LimitExceeded.BodyTooLarge"
	LimitExceeded          = "LimitExceeded"
	InternalError          = "InternalError.System"
	ServiceUnavailable     = "InternalError.Unavailable"
	UnsupportedContentType = "InvalidParameter.ContentType"
)

// Refusals of the feedback path when a vendor posts a report in its own
// format rather than callgate's {"deliveryId", "status", "detail"}.
const (
	// ReceiptFormat: the plugin that sends the channel reads no vendor
	// reports, or could not read this one (HTTP 400).
	ReceiptFormat = "InvalidParameter.ReceiptFormat"
	// ChannelNotFound: the tenant has no channel of that id and no plugin
	// has that name (HTTP 404).
	ChannelNotFound = "ResourceNotFound.Channel"
)

// Refusals of an app key acting for another organisation (the seed's
// Agent.ProxyOrganizationId, or the X-Callgate-Proxy-Organization header).
// Both are HTTP 403 and Connect PermissionDenied.
const (
	// NoPermissionFeature: the app key is not an agent key, so it acts for
	// its own tenant only (the seed's code for a feature the caller lacks).
	NoPermissionFeature = "UnauthorizedOperation.NoPermissionFeature"
	// ProxyOrganization: the organisation named is not a sub-tenant of the
	// agent key's tenant, or does not exist; the two are not told apart.
	ProxyOrganization = "UnauthorizedOperation.ProxyOrganization"
)

// Error is an error with a stable code and a message fit to show the caller.
type Error struct {
	Code    string
	Message string
	Status  int // HTTP status
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Code + ": " + e.Message + ": " + e.cause.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap gives the internal cause, which is logged but never shown.
func (e *Error) Unwrap() error { return e.cause }

// New makes an error with the HTTP status that goes with code.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: statusOf(code)}
}

// Internal wraps an unexpected failure: the caller sees a generic message
// and the cause goes to the log.
func Internal(cause error) *Error {
	return &Error{Code: InternalError, Message: "internal error, please retry later", Status: http.StatusInternalServerError, cause: cause}
}

// From returns err as an *Error, treating anything else as internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

func statusOf(code string) int {
	switch {
	case code == OK:
		return http.StatusOK
	case code == Unauthorized:
		return http.StatusUnauthorized
	case strings.HasPrefix(code, "UnauthorizedOperation"):
		return http.StatusForbidden
	case strings.HasPrefix(code, "ResourceNotFound"):
		return http.StatusNotFound
	case code == BodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case strings.HasPrefix(code, "LimitExceeded"):
		return http.StatusTooManyRequests
	case code == ResourceInUse:
		return http.StatusConflict
	case code == UnsupportedContentType:
		return http.StatusUnsupportedMediaType
	case code == ServiceUnavailable:
		return http.StatusServiceUnavailable
	case strings.HasPrefix(code, "InternalError"):
		return http.StatusInternalServerError
	default: // InvalidParameter..., InvalidParameterValue, FailedOperation...
		return http.StatusBadRequest
	}
}

// ConnectCode is the Connect code for the error's HTTP status.
func (e *Error) ConnectCode() connect.Code {
	switch e.Status {
	case http.StatusUnauthorized:
		return connect.CodeUnauthenticated
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusNotFound:
		return connect.CodeNotFound
	case http.StatusConflict:
		return connect.CodeAlreadyExists
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return connect.CodeResourceExhausted
	case http.StatusServiceUnavailable:
		return connect.CodeUnavailable
	case http.StatusInternalServerError:
		return connect.CodeInternal
	}
	if e.Code == FailedOperation || strings.HasPrefix(e.Code, "FailedOperation.") {
		return connect.CodeFailedPrecondition
	}
	return connect.CodeInvalidArgument
}

// CodeHeader carries the stable code on Connect and gRPC errors, so
// clients of every protocol can switch on the same vocabulary.
const CodeHeader = "Callgate-Error-Code"

// ToConnect renders err for a Connect handler: the stable code in
// CodeHeader and in the message, the cause kept out.
func ToConnect(err error) *connect.Error {
	e := From(err)
	ce := connect.NewError(e.ConnectCode(), errors.New(e.Code+": "+e.Message))
	ce.Meta().Set(CodeHeader, e.Code)
	return ce
}
