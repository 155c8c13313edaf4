package rule

// Error codes a rule commonly rejects a callback with. They come from the
// gateway's stable vocabulary (the seed APIs' codes); the gateway answers
// the client with HTTP 400 for each of them.
const (
	// CodeParamError: a required parameter is missing or malformed, such as
	// an e-mail rule's ext.subject.
	CodeParamError = "InvalidParameter.ParamError"
	// CodeInvalidValue: a parameter is present but its value is not
	// acceptable, such as a phone number that is not one.
	CodeInvalidValue = "InvalidParameterValue"
	// CodeNoCallbackConfig: the rule delivers to the tenant's callback
	// configs and the tenant has none.
	CodeNoCallbackConfig = "FailedOperation.NoCallbackConfig"
	// CodeRuleError: the rule failed. The SDK rejects with it when a route
	// function returns an error that is not a [*RejectError], panics, or
	// answers a decision that does not [Decision.Validate].
	CodeRuleError = "FailedOperation.RuleError"
)

// RejectError is an error that rejects the callback with its own code and
// message when a route function returns it. Make one with [Reject].
type RejectError struct {
	Code    string
	Message string
}

// Reject returns an error that, returned from a route function, rejects the
// callback with code and message: the client gets them as its answer.
//
//	if in.Properties.Ext["subject"] == "" {
//		return nil, rule.Reject(rule.CodeParamError, "参数subject不能为空 (subject is required)")
//	}
func Reject(code, message string) error {
	return &RejectError{Code: code, Message: message}
}

// Error implements error.
func (e *RejectError) Error() string {
	return e.Code + ": " + e.Message
}

// Rejection returns the decision's rejection for the error.
func (e *RejectError) Rejection() *Rejection {
	return &Rejection{Code: e.Code, Message: e.Message}
}
