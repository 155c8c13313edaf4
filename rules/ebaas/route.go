package main

import (
	"strings"

	"github.com/callgate/callgate/sdk/rule"
)

// required are the envelope's text fields a callback must have, in the
// order the envelope lists them.
var required = []string{"event_source", "event_topic", "event_type", "event_status"}

// retrySchedule is the EBaaS platform's: 20 retries at 1 s, 3 s, 7 s, 30 s,
// 60 s, 300 s, then hourly. It is the gateway's default today; the rule
// says it anyway because it is the receivers' contract, not a default.
var retrySchedule = func() []int64 {
	s := []int64{1_000, 3_000, 7_000, 30_000, 60_000, 300_000}
	for len(s) < 20 {
		s = append(s, 3_600_000)
	}
	return s
}()

// route reads the event from the content, a JSON object, and delivers the
// envelope {event_source, event_topic, event_type, event_status, event_key,
// changes} to every callback config. Other members of the content are not
// part of the envelope and are left out. A missing event_key is made as
// source.topic.type.status.
func route(in *rule.Input) (*rule.Decision, error) {
	event, err := rule.Parse(in.Content)
	if err != nil || event.Kind() != rule.KindObject {
		return nil, rule.Reject(rule.CodeInvalidValue,
			"参数content不是JSON对象 (content must be a JSON object holding the event)")
	}
	var fields [4]string
	for i, name := range required {
		if fields[i], err = text(event, name); err != nil {
			return nil, err
		}
	}
	key, err := optionalText(event, "event_key")
	if err != nil {
		return nil, err
	}
	if key == "" {
		key = strings.Join(fields[:], ".")
	}
	changes := event.Get("changes")
	switch changes.Kind() {
	case rule.KindMissing, rule.KindNull:
		return nil, missing("changes")
	case rule.KindArray:
		if changes.Len() == 0 {
			return nil, missing("changes")
		}
	default:
		return nil, rule.Reject(rule.CodeInvalidValue, "参数changes必须是数组 (changes must be an array)")
	}
	if len(in.Configs) == 0 {
		return nil, rule.Reject(rule.CodeNoCallbackConfig,
			"the tenant has no callback config: add one with ModifyCallbackConfig first")
	}

	body := make([]byte, 0, 128+len(in.Content))
	body = append(body, '{')
	for i, name := range required {
		if i > 0 {
			body = append(body, ',')
		}
		body = rule.AppendQuote(body, name)
		body = append(body, ':')
		body = rule.AppendQuote(body, fields[i])
	}
	body = append(body, `,"event_key":`...)
	body = rule.AppendQuote(body, key)
	body = append(body, `,"changes":`...)
	body = changes.AppendJSON(body)
	body = append(body, '}')

	d := &rule.Decision{Deliveries: make([]rule.Delivery, 0, len(in.Configs))}
	for _, c := range in.Configs {
		d.Deliveries = append(d.Deliveries, rule.Delivery{
			Channel:       "http",
			ConfigID:      c.ID,
			Destination:   c.URL,
			Method:        "POST",
			Headers:       map[string]string{"Content-Type": "application/json"},
			Body:          string(body),
			RetrySchedule: retrySchedule,
		})
	}
	return d, nil
}

// text returns the event's member name as text, which must be there:
// missing, null and blank values are the seed's 参数{name}不能为空.
func text(event rule.Value, name string) (string, error) {
	s, err := optionalText(event, name)
	if err == nil && s == "" {
		err = missing(name)
	}
	return s, err
}

// optionalText returns the event's member name as text: a string, or a
// number written as a string would be (event_status is often sent as 1 for
// "1"). Missing, null and blank values are "".
func optionalText(event rule.Value, name string) (string, error) {
	v := event.Get(name)
	var s string
	switch v.Kind() {
	case rule.KindString:
		s, _ = v.Text()
	case rule.KindNumber:
		s, _ = v.Number()
	case rule.KindMissing, rule.KindNull:
	default:
		return "", rule.Reject(rule.CodeInvalidValue, "参数"+name+"必须是字符串 ("+name+" must be a string)")
	}
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return s, nil
}

// missing is the seed's error for a parameter that is not there.
func missing(name string) error {
	return rule.Reject(rule.CodeParamError, "参数"+name+"不能为空 ("+name+" is required)")
}
