package tc3

import (
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
)

// Tencent Cloud's public error codes this endpoint answers with, beside
// the action's own (FailedOperation, InternalError.System,
// InvalidParameter.ParamError, InvalidParameterValue,
// UnauthorizedOperation.NoPermissionFeature), which callgate's stable
// codes already are. An agent key naming an organisation that is not its
// tenant's sub-tenant is answered with callgate's own
// UnauthorizedOperation.ProxyOrganization.
const (
	CodeInvalidAuthorization     = "AuthFailure.InvalidAuthorization"
	CodeSecretIDNotFound         = "AuthFailure.SecretIdNotFound"
	CodeSignatureExpire          = "AuthFailure.SignatureExpire"
	CodeSignatureFailure         = "AuthFailure.SignatureFailure"
	CodeUnauthorizedOperation    = "AuthFailure.UnauthorizedOperation"
	CodeInvalidAction            = "InvalidAction"
	CodeNoSuchVersion            = "NoSuchVersion"
	CodeMissingParameter         = "MissingParameter"
	CodeInvalidParameter         = "InvalidParameter"
	CodeRequestLimitExceeded     = "RequestLimitExceeded"
	CodeRequestSizeLimitExceeded = "RequestSizeLimitExceeded"
	CodeUnsupportedProtocol      = "UnsupportedProtocol"
)

// Error is a refusal in Tencent Cloud's terms.
type Error struct {
	Code    string
	Message string
	cause   error // logged, never shown
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (e *Error) log() string {
	if e.cause != nil {
		return e.Error() + ": " + e.cause.Error()
	}
	return e.Error()
}

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func internal(cause error) *Error {
	return &Error{Code: apierr.InternalError, Message: "internal error, please retry later", cause: cause}
}

// fromConfigService turns ConfigService's error into the TC3 answer by its
// stable code (the Callgate-Error-Code meta header). callgate's vocabulary
// is taken from the same Tencent Cloud API, so most codes pass unchanged.
func fromConfigService(err error) *Error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return internal(err)
	}
	code := ce.Meta().Get(apierr.CodeHeader)
	// apierr.ToConnect puts the code before the message; the message alone
	// is what the caller reads.
	msg := strings.TrimPrefix(ce.Message(), code+": ")
	switch {
	case code == "" || strings.HasPrefix(code, "InternalError"):
		return internal(err)
	case code == apierr.Unauthorized:
		return &Error{Code: CodeUnauthorizedOperation, Message: msg}
	case code == apierr.LimitExceeded:
		return &Error{Code: CodeRequestLimitExceeded, Message: msg}
	case code == apierr.BodyTooLarge:
		return &Error{Code: CodeRequestSizeLimitExceeded, Message: msg}
	}
	return &Error{Code: code, Message: msg}
}
