package main

import "github.com/callgate/callgate/sdk/rule"

// Content types of the body: JSON when the content is a JSON object or
// array, text otherwise.
const (
	contentJSON = "application/json"
	contentText = "text/plain; charset=utf-8"
)

// The headers of each content type. Every delivery shares them, and
// nothing writes to them: a map is costly to make in WebAssembly, and the
// SDK writes a map that repeats in a decision once.
var (
	headersJSON = map[string]string{"Content-Type": contentJSON}
	headersText = map[string]string{"Content-Type": contentText}
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
	headers := headersText
	if isJSONDocument(in.Content) {
		headers = headersJSON
	}
	d := &rule.Decision{Deliveries: make([]rule.Delivery, len(in.Configs))}
	for i := range in.Configs {
		// Field by field, in place: WebAssembly built by Go would build a
		// composite literal of a Delivery aside, then copy it (as it
		// copies each Config of a range over values), with slow calls for
		// structs of their size.
		c, dl := &in.Configs[i], &d.Deliveries[i]
		dl.Channel = "http"
		dl.ConfigID = c.ID
		dl.Destination = c.URL
		dl.Method = "POST"
		dl.Headers = headers
		dl.Body = in.Content
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
