package rule

import (
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendQuote appends s to dst as a JSON string and returns the extended
// buffer. It escapes exactly as encoding/json does with HTML escaping off:
// '"', '\\' and control characters, U+2028 and U+2029; each byte of invalid
// UTF-8 becomes U+FFFD.
func AppendQuote(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript; escaped for any
			// receiver that evaluates what it gets.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendDecision appends the decision's JSON, as the ABI gives it, to dst
// and returns the extended buffer. A decision with a rejection is only the
// rejection; a nil decision has no deliveries. Empty optional fields are
// left out and map keys are sorted, so equal decisions encode equally.
func AppendDecision(dst []byte, d *Decision) []byte {
	if d != nil && d.Reject != nil {
		dst = append(dst, `{"reject":{"code":`...)
		dst = AppendQuote(dst, d.Reject.Code)
		dst = append(dst, `,"message":`...)
		dst = AppendQuote(dst, d.Reject.Message)
		return append(dst, "}}"...)
	}
	dst = append(dst, `{"deliveries":`...)
	if d == nil {
		dst = append(dst, "[]"...)
	} else {
		var e bodyCache
		dst = e.appendDeliveries(dst, d.Deliveries)
	}
	return append(dst, '}')
}

// bodyCache remembers where the last body was written, because a rule
// commonly sends one body to many configs: the same string is then copied
// instead of escaped again.
type bodyCache struct {
	body       string
	start, end int // the quoted body in dst
}

func (e *bodyCache) appendBody(dst []byte, body string) []byte {
	if body == "" {
		return dst
	}
	dst = append(dst, `,"body":`...)
	if e.end > 0 && body == e.body {
		return append(dst, dst[e.start:e.end]...)
	}
	start := len(dst)
	dst = AppendQuote(dst, body)
	*e = bodyCache{body: body, start: start, end: len(dst)}
	return dst
}

func (e *bodyCache) appendDeliveries(dst []byte, ds []Delivery) []byte {
	dst = append(dst, '[')
	for i := range ds {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = e.appendDelivery(dst, &ds[i])
	}
	return append(dst, ']')
}

func (e *bodyCache) appendDelivery(dst []byte, d *Delivery) []byte {
	dst = append(dst, `{"channel":`...)
	dst = AppendQuote(dst, d.Channel)
	dst = appendField(dst, `,"configId":`, d.ConfigID)
	dst = appendField(dst, `,"destination":`, d.Destination)
	dst = appendField(dst, `,"method":`, d.Method)
	if len(d.Headers) > 0 {
		dst = appendStringMap(append(dst, `,"headers":`...), d.Headers)
	}
	if len(d.Query) > 0 {
		dst = appendStringMap(append(dst, `,"query":`...), d.Query)
	}
	dst = e.appendBody(dst, d.Body)
	dst = appendField(dst, `,"bodyBase64":`, d.BodyBase64)
	dst = appendField(dst, `,"subject":`, d.Subject)
	if len(d.Attachments) > 0 {
		dst = append(dst, `,"attachments":[`...)
		for i, a := range d.Attachments {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			dst = appendField(dst, `"fileName":`, a.FileName)
			if a.FileName != "" && a.URL != "" {
				dst = append(dst, ',')
			}
			dst = appendField(dst, `"url":`, a.URL)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if len(d.RetrySchedule) > 0 {
		dst = append(dst, `,"retrySchedule":[`...)
		for i, ms := range d.RetrySchedule {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, ms, 10)
		}
		dst = append(dst, ']')
	}
	dst = appendField(dst, `,"sign":`, d.Sign)
	if len(d.Fallbacks) > 0 {
		dst = e.appendDeliveries(append(dst, `,"fallbacks":`...), d.Fallbacks)
	}
	return append(dst, '}')
}

// appendField appends name and the quoted value, unless the value is empty.
func appendField(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	return AppendQuote(append(dst, name...), value)
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendQuote(dst, k)
		dst = append(dst, ':')
		dst = AppendQuote(dst, m[k])
	}
	return append(dst, '}')
}

// AppendVerdict appends the verdict's JSON to dst and returns the extended
// buffer.
func AppendVerdict(dst []byte, v Verdict) []byte {
	dst = append(dst, `{"verdict":`...)
	dst = AppendQuote(dst, v.Verdict)
	dst = append(dst, `,"reason":`...)
	dst = AppendQuote(dst, v.Reason)
	return append(dst, '}')
}

// Validate reports what the gateway would refuse in the decision: a
// rejection without a code, a delivery (or fallback) without a channel or
// without both a config id and a destination, a negative retry delay, or an
// attachment without a URL. The SDK
// validates every decision a route function returns, so that a rule's
// mistake is found in its own unit tests.
func (d *Decision) Validate() error {
	if d == nil {
		return nil
	}
	if d.Reject != nil {
		if d.Reject.Code == "" {
			return errors.New("reject: code is required")
		}
		return nil
	}
	return validateDeliveries("deliveries", d.Deliveries)
}

func validateDeliveries(path string, ds []Delivery) error {
	for i := range ds {
		// The path is only made when there is an error to report.
		at := func() string { return path + "[" + strconv.Itoa(i) + "]" }
		d := &ds[i]
		if d.Channel == "" {
			return errors.New(at() + ": channel is required")
		}
		if d.ConfigID == "" && d.Destination == "" {
			return errors.New(at() + ": configId or destination is required")
		}
		for _, ms := range d.RetrySchedule {
			if ms < 0 {
				return errors.New(at() + ": retrySchedule has a negative delay")
			}
		}
		for j, a := range d.Attachments {
			if a.URL == "" {
				return errors.New(at() + ".attachments[" + strconv.Itoa(j) + "]: url is required")
			}
		}
		if len(d.Fallbacks) > 0 {
			if err := validateDeliveries(at()+".fallbacks", d.Fallbacks); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate reports a verdict that is not [Success], [Retry] or [Permanent].
func (v Verdict) Validate() error {
	switch v.Verdict {
	case Success, Retry, Permanent:
		return nil
	}
	return errors.New("verdict " + strconv.Quote(v.Verdict) + " is not success, retry or permanent")
}
