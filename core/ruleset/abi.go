package ruleset

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/sdk/rule"
)

// abiVersion is the rule ABI these types speak (sdk/rule/ABI.md).
const abiVersion = rule.ABIVersion

// encodeInput writes a callback as a rule's route input, as the Go SDK's
// AppendInput writes it: the layout the SDK reads on its fast path, and
// text escaped as the SDK's encoder escapes it, so that a rule sending the
// content as its body copies it instead of escaping it again.
func encodeInput(in route.Input) ([]byte, error) {
	ri := rule.Input{ABI: abiVersion, TenantID: in.TenantID, MessageID: in.MessageID, Rule: in.Rule, Content: in.Content,
		Properties: rule.Properties{AppKey: in.AppKey, Rule: in.Rule, Ext: in.Ext}}
	var room [8]rule.Config
	ri.Configs = room[:0]
	size := 160 + len(in.TenantID) + len(in.MessageID) + 2*len(in.Rule) + len(in.Content) + len(in.AppKey)
	for k, v := range in.Ext {
		size += 6 + len(k) + len(v)
	}
	for _, c := range in.Configs {
		ri.Configs = append(ri.Configs, rule.Config(c))
		size += 56 + len(c.ID) + len(c.URL)
	}
	// Room for the text and a little escaping; append grows it for more.
	return rule.AppendInput(make([]byte, 0, size+size/8), &ri), nil
}

// decodeDecision turns a rule's answer into a route.Decision, resolving
// config ids against the tenant's configs (a rule may only send to its own
// tenant's configs). The SDK reads the JSON as encoding/json did when the
// gateway read decisions with it.
func decodeDecision(raw []byte, configs []route.Config) (route.Decision, error) {
	d, err := rule.DecodeDecision(raw)
	if err != nil {
		return route.Decision{}, fmt.Errorf("the decision is not valid JSON: %w", err)
	}
	if d.Reject != nil {
		msg := d.Reject.Message
		if msg == "" {
			msg = "rejected by the rule"
		}
		return route.Decision{Reject: &route.Rejection{Code: d.Reject.Code, Message: msg}}, nil
	}
	var out route.Decision
	if len(d.Deliveries) > 0 {
		out.Deliveries = make([]route.Delivery, 0, len(d.Deliveries))
	}
	for i := range d.Deliveries {
		rd, err := toDelivery(&d.Deliveries[i], configs, 0)
		if err != nil {
			return route.Decision{}, fmt.Errorf("delivery %d: %w", i, err)
		}
		out.Deliveries = append(out.Deliveries, rd)
	}
	return out, nil
}

// configURL returns the URL of the tenant's config id; the last config with
// the id wins, should there be two.
func configURL(configs []route.Config, id string) (string, bool) {
	for i := len(configs) - 1; i >= 0; i-- {
		if configs[i].ID == id {
			return configs[i].URL, true
		}
	}
	return "", false
}

func toDelivery(od *rule.Delivery, configs []route.Config, depth int) (route.Delivery, error) {
	rd := route.Delivery{
		Channel: od.Channel, ConfigID: od.ConfigID, Destination: od.Destination,
		Method: strings.ToUpper(od.Method), Headers: od.Headers, Query: od.Query,
		Body: []byte(od.Body), Subject: od.Subject, Sign: od.Sign,
	}
	if od.ConfigID != "" {
		u, ok := configURL(configs, od.ConfigID)
		if !ok {
			return route.Delivery{}, fmt.Errorf("config %q is not one of the tenant's", od.ConfigID)
		}
		if rd.Destination == "" {
			rd.Destination = u
		}
	}
	if od.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(od.BodyBase64)
		if err != nil {
			return route.Delivery{}, fmt.Errorf("bodyBase64: %w", err)
		}
		rd.Body = b
	}
	for _, a := range od.Attachments {
		rd.Attachments = append(rd.Attachments, route.Attachment(a))
	}
	if od.RetrySchedule != nil {
		if len(od.RetrySchedule) > 50 {
			return route.Delivery{}, fmt.Errorf("retrySchedule has %d entries, at most 50", len(od.RetrySchedule))
		}
		rd.Schedule = make([]time.Duration, 0, len(od.RetrySchedule))
		for _, ms := range od.RetrySchedule {
			if ms < 0 || ms > int64(7*24*time.Hour/time.Millisecond) {
				return route.Delivery{}, fmt.Errorf("retrySchedule delay %d ms is out of range", ms)
			}
			rd.Schedule = append(rd.Schedule, time.Duration(ms)*time.Millisecond)
		}
	}
	if len(od.Fallbacks) > 0 {
		if depth > 0 {
			return route.Delivery{}, fmt.Errorf("a fallback cannot have fallbacks of its own")
		}
		if len(od.Fallbacks) > 5 {
			return route.Delivery{}, fmt.Errorf("%d fallbacks, at most 5", len(od.Fallbacks))
		}
		for j := range od.Fallbacks {
			fd, err := toDelivery(&od.Fallbacks[j], configs, depth+1)
			if err != nil {
				return route.Delivery{}, fmt.Errorf("fallback %d: %w", j, err)
			}
			rd.Fallbacks = append(rd.Fallbacks, fd)
		}
	}
	return rd, nil
}

type classifyInput struct {
	ABI        int               `json:"abi"`
	Channel    string            `json:"channel"`
	StatusCode int32             `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

type verdict struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}
