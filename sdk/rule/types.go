package rule

// ABIVersion is the version of the rule ABI this package implements. It is
// the number in the export and import names (callgate_v1_route) and the
// "abi" field of every input.
const ABIVersion = 1

// Input is what the gateway hands a rule's route function for one
// callback: the callback as the client sent it and the tenant's callback
// configs, never with their keys or tokens.
type Input struct {
	ABI        int        // the ABI version of the input, 1
	TenantID   string     // the tenant the callback belongs to
	MessageID  string     // the gateway's id of the callback, the same on every retry of the submission
	Rule       string     // the rule code that selected this rule
	Content    string     // the callback's content, exactly as the client sent it
	Properties Properties // the callback's properties
	Configs    []Config   // the tenant's callback configs, in the order they were added
}

// Properties are the properties a client sends with a callback.
type Properties struct {
	AppKey string
	Rule   string
	// Ext holds the free-form parameters: "destination" (an e-mail address
	// or phone number), "subject", "attachment" (a URL) and any other key a
	// rule documents. It is nil when the client sent none.
	Ext map[string]string
}

// Config is one of the tenant's callback configs as a rule sees it: the
// URL, and whether a key (encryption) and a token (signature) are set.
type Config struct {
	ID       string
	URL      string
	HasKey   bool
	HasToken bool
}

// Decision is a route function's answer: the deliveries to make, or a
// rejection the client gets as the answer to its submission. When Reject is
// set the deliveries are ignored.
type Decision struct {
	Deliveries []Delivery
	Reject     *Rejection
}

// Rejection refuses a callback. Code is one of the gateway's stable error
// codes, such as [CodeParamError]; Message is shown to the client.
type Rejection struct {
	Code    string
	Message string
}

// Delivery is one message the gateway sends for a callback.
//
// Channel is required, and so is ConfigID or Destination: with ConfigID the
// destination defaults to the config's URL and the config's key and token
// encrypt and sign what is sent.
type Delivery struct {
	Channel     string            // the sender channel: "http", "email", "sms", or a plugin's name
	ConfigID    string            // the callback config it goes to
	Destination string            // a URL, e-mail address or phone number, as the channel wants
	Method      string            // the HTTP method, for http
	Headers     map[string]string // extra headers, for http
	Query       map[string]string // query parameters added to the destination URL, for http
	Body        string            // the body, as text
	BodyBase64  string            // a binary body in standard base64; used instead of Body when set
	Subject     string            // the subject, for e-mail
	Attachments []Attachment      // files the channel fetches and attaches, for e-mail
	// RetrySchedule is the delay before each retry, in milliseconds. Empty
	// means the endpoint's own: its callback config's retry policy, else its
	// tenant's, else the gateway's default (1 s, 3 s, 7 s, 30 s, 60 s, 300 s,
	// then hourly, 20 retries in all).
	RetrySchedule []int64
	// Sign asks the sender for a protocol's own signature made with the
	// config's token, which the rule never sees: "tim" adds Tencent IM's
	// Sign and RequestTime query parameters.
	Sign string
	// Fallbacks are tried in order when this delivery fails permanently.
	Fallbacks []Delivery
}

// Attachment is a file for the channel to fetch from URL and attach as
// FileName.
type Attachment struct {
	FileName string
	URL      string
}

// Answer is a receiver's answer to a delivery, handed to a classify
// function to judge.
type Answer struct {
	ABI        int               // the ABI version of the input, 1
	Channel    string            // the channel that made the delivery
	StatusCode int               // the HTTP status code, for http
	Headers    map[string]string // the answer's headers that the sender keeps
	Body       string            // the answer's body, as text
}

// Verdict is a classify function's judgement of an [Answer].
type Verdict struct {
	Verdict string // Success, Retry or Permanent
	Reason  string // why, for the delivery's attempt log; may be empty
}

// The verdicts a classify function may give.
const (
	Success   = "success"   // the receiver took the delivery: it is done
	Retry     = "retry"     // try again on the retry schedule
	Permanent = "permanent" // never retry: the delivery fails, and its fallbacks are tried
)
