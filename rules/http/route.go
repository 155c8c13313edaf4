package main

import "github.com/callgate/callgate/sdk/rule"

// Content types of the body: JSON when the content is a JSON object or
// array, text otherwise.
const (
	contentJSON = "application/json"
	contentText = "text/plain; charset=utf-8"
)

// route sends the content, unchanged, to every callback config. A content
// that is a JSON object or array goes as application/json, anything else
// as text: a bare JSON scalar such as 42 is more likely text than a
// document.
func route(in *rule.Input) (*rule.Decision, error) {
	if len(in.Configs) == 0 {
		return nil, rule.Reject(rule.CodeNoCallbackConfig,
			"the tenant has no callback config: add one with ModifyCallbackConfig first")
	}
	contentType := contentText
	if isJSONDocument(in.Content) {
		contentType = contentJSON
	}
	d := &rule.Decision{Deliveries: make([]rule.Delivery, 0, len(in.Configs))}
	for _, c := range in.Configs {
		d.Deliveries = append(d.Deliveries, rule.Delivery{
			Channel:     "http",
			ConfigID:    c.ID,
			Destination: c.URL,
			Method:      "POST",
			Headers:     map[string]string{"Content-Type": contentType},
			Body:        in.Content,
		})
	}
	return d, nil
}

// isJSONDocument reports whether s is a valid JSON object or array.
func isJSONDocument(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return rule.Valid(s)
		}
		return false
	}
	return false
}
