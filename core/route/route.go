// Package route decides where a callback goes. It is the seam between
// ingest and the rules: ingest hands a Router the callback and stores the
// Decision it gets back, whatever made it (core/ruleset runs the tenants'
// WebAssembly rules behind it).
package route

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownRule is returned when no rule answers to the callback's rule
// code.
var ErrUnknownRule = errors.New("unknown rule")

// Input is what a rule sees of a callback.
type Input struct {
	TenantID  string            `json:"tenantId"`
	MessageID string            `json:"messageId"`
	Rule      string            `json:"rule"`
	Content   string            `json:"content"`
	AppKey    string            `json:"appKey,omitempty"`
	Ext       map[string]string `json:"ext,omitempty"`
	Configs   []Config          `json:"configs"`
}

// Config is a tenant's callback config as rules see it: never its secrets.
type Config struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	HasKey   bool   `json:"hasKey"`
	HasToken bool   `json:"hasToken"`
}

// Decision is a rule's answer: deliveries, or a rejection.
type Decision struct {
	Deliveries []Delivery
	Reject     *Rejection
}

// Rejection refuses a callback with a code and message for its sender.
type Rejection struct {
	Code    string
	Message string
}

// Delivery is one destination the callback goes to.
type Delivery struct {
	Channel     string
	ConfigID    string // the callback config it goes to; its URL is the destination
	Destination string
	Method      string
	Headers     map[string]string
	Query       map[string]string
	Body        []byte
	Subject     string
	Attachments []Attachment
	Schedule    []time.Duration // retry delays; nil means the default schedule
	// Sign names a receiver protocol's own signature for the sender to add
	// with the config's token, which rules never see ("tim").
	Sign string
	// Fallbacks are tried in order when this delivery fails for good.
	Fallbacks []Delivery
}

// Attachment is a file for the channel to fetch and attach.
type Attachment struct {
	FileName string
	URL      string
}

// Router decides where callbacks go.
type Router interface {
	Route(ctx context.Context, in Input) (Decision, error)
}
