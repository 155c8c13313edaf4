package ruleset

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/callgate/callgate/core/route"
)

// abiVersion is the rule ABI these types speak (sdk/rule/ABI.md).
const abiVersion = 1

type routeInput struct {
	ABI        int             `json:"abi"`
	TenantID   string          `json:"tenantId"`
	MessageID  string          `json:"messageId"`
	Rule       string          `json:"rule"`
	Content    string          `json:"content"`
	Properties inputProperties `json:"properties"`
	Configs    []inputConfig   `json:"configs"`
}

type inputProperties struct {
	AppKey string            `json:"appKey,omitempty"`
	Rule   string            `json:"rule"`
	Ext    map[string]string `json:"ext"`
}

type inputConfig struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	HasKey   bool   `json:"hasKey"`
	HasToken bool   `json:"hasToken"`
}

func encodeInput(in route.Input) ([]byte, error) {
	ri := routeInput{
		ABI: abiVersion, TenantID: in.TenantID, MessageID: in.MessageID, Rule: in.Rule, Content: in.Content,
		Properties: inputProperties{AppKey: in.AppKey, Rule: in.Rule, Ext: in.Ext},
		Configs:    make([]inputConfig, 0, len(in.Configs)),
	}
	if ri.Properties.Ext == nil {
		ri.Properties.Ext = map[string]string{}
	}
	for _, c := range in.Configs {
		ri.Configs = append(ri.Configs, inputConfig(c))
	}
	b, err := json.Marshal(ri)
	if err != nil {
		return nil, fmt.Errorf("encode rule input: %w", err)
	}
	return b, nil
}

type decision struct {
	Deliveries []outDelivery `json:"deliveries"`
	Reject     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reject"`
}

type outDelivery struct {
	Channel     string            `json:"channel"`
	ConfigID    string            `json:"configId"`
	Destination string            `json:"destination"`
	Method      string            `json:"method"`
	Headers     map[string]string `json:"headers"`
	Query       map[string]string `json:"query"`
	Body        string            `json:"body"`
	BodyBase64  string            `json:"bodyBase64"`
	Subject     string            `json:"subject"`
	Attachments []struct {
		FileName string `json:"fileName"`
		URL      string `json:"url"`
	} `json:"attachments"`
	RetrySchedule []int64       `json:"retrySchedule"`
	Sign          string        `json:"sign"`
	Fallbacks     []outDelivery `json:"fallbacks"`
}

// decodeDecision turns a rule's answer into a route.Decision, resolving
// config ids against the tenant's configs (a rule may only send to its own
// tenant's configs).
func decodeDecision(raw []byte, configs []route.Config) (route.Decision, error) {
	var d decision
	if err := json.Unmarshal(raw, &d); err != nil {
		return route.Decision{}, fmt.Errorf("the decision is not valid JSON: %w", err)
	}
	if d.Reject != nil {
		if d.Reject.Message == "" {
			d.Reject.Message = "rejected by the rule"
		}
		return route.Decision{Reject: &route.Rejection{Code: d.Reject.Code, Message: d.Reject.Message}}, nil
	}
	urls := make(map[string]string, len(configs))
	for _, c := range configs {
		urls[c.ID] = c.URL
	}
	var out route.Decision
	for i, od := range d.Deliveries {
		rd, err := toDelivery(od, urls, 0)
		if err != nil {
			return route.Decision{}, fmt.Errorf("delivery %d: %w", i, err)
		}
		out.Deliveries = append(out.Deliveries, rd)
	}
	return out, nil
}

func toDelivery(od outDelivery, urls map[string]string, depth int) (route.Delivery, error) {
	rd := route.Delivery{
		Channel: od.Channel, ConfigID: od.ConfigID, Destination: od.Destination,
		Method: strings.ToUpper(od.Method), Headers: od.Headers, Query: od.Query,
		Body: []byte(od.Body), Subject: od.Subject, Sign: od.Sign,
	}
	if od.ConfigID != "" {
		u, ok := urls[od.ConfigID]
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
		rd.Attachments = append(rd.Attachments, route.Attachment{FileName: a.FileName, URL: a.URL})
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
		for j, f := range od.Fallbacks {
			fd, err := toDelivery(f, urls, depth+1)
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
