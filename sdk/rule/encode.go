package rule

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// AppendQuote appends s to dst as a JSON string and returns the extended
// buffer. It escapes exactly as encoding/json does with HTML escaping off:
// '"', '\\' and control characters, U+2028 and U+2029; each byte of invalid
// UTF-8 becomes U+FFFD.
func AppendQuote(dst []byte, s string) []byte {
	// Room for s, its quotes and a word, which copyPlainString may store
	// past what is plain; an escape makes room again for what is left.
	b := slices.Grow(dst, len(s)+2+arenaRoom)
	n := len(b)
	b = b[:cap(b)]
	b[n] = '"'
	n++
	// The common case first, inline: plain ASCII, a word at a time.
	i := 0
	for ; i+8 <= len(s); i, n = i+8, n+8 {
		x := load64(s, i)
		store(b, n, x)
		if m := plainMask(x); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			i, n = i+k, n+k
			break
		}
	}
	for {
		i, n = copyPlainString(b, n, s, i)
		if i >= len(s) {
			break
		}
		if need := len(s) - i + 6 + 1 + arenaRoom; cap(b)-n < need {
			b = slices.Grow(b[:n], need)
			b = b[:cap(b)]
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b[n] = '\\'
			switch c {
			case '"', '\\':
				b[n+1] = c
			case '\b':
				b[n+1] = 'b'
			case '\f':
				b[n+1] = 'f'
			case '\n':
				b[n+1] = 'n'
			case '\r':
				b[n+1] = 'r'
			case '\t':
				b[n+1] = 't'
			default:
				n += copy(b[n:], `\u00`)
				b[n], b[n+1] = hexDigits[c>>4], hexDigits[c&0xf]
			}
			n += 2
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += copy(b[n:], `\ufffd`)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript; escaped for any
			// receiver that evaluates what it gets.
			n += copy(b[n:], `\u202`)
			b[n] = hexDigits[r&0xf]
			n++
		default:
			n += copy(b[n:], s[i:i+size])
		}
		i += size
	}
	b[n] = '"'
	return b[:n+1]
}

// copyPlainString copies the plain bytes of s from i on into b from n on,
// eight at a time, and returns the offsets after them in s and b. b must
// have room for them and eight bytes more.
func copyPlainString(b []byte, n int, s string, i int) (int, int) {
	for ; i+8 <= len(s); i, n = i+8, n+8 {
		x := load64(s, i)
		store(b, n, x)
		if m := plainMask(x); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			return i + k, n + k
		}
	}
	k := len(s) - i
	if k == 0 {
		return i, n
	}
	// The last one to seven bytes, as one word padded with spaces: the
	// last eight bytes of s shifted down, or a copy when s is shorter.
	var x uint64
	if len(s) >= 8 {
		x = load64(s, len(s)-8) >> (64 - 8*k)
	} else {
		var w [8]byte
		copy(w[:], s[i:])
		x = binary.LittleEndian.Uint64(w[:])
	}
	x |= lsb * ' ' << (8 * k)
	store(b, n, x)
	if m := plainMask(x); m != 0 {
		k = bits.TrailingZeros64(m) >> 3
	}
	return i + k, n + k
}

// load64 returns the eight bytes of s from i on as a little-endian word,
// with one load where the compiler can (WebAssembly, amd64, arm64).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// AppendDecision appends the decision's JSON, as the ABI gives it, to dst
// and returns the extended buffer. A decision with a rejection is only the
// rejection; a nil decision has no deliveries. Empty optional fields are
// left out and map keys are sorted, so equal decisions encode equally.
func AppendDecision(dst []byte, d *Decision) []byte {
	var e encoder
	return e.appendDecision(dst, d)
}

// encoder remembers what it wrote last of what a decision commonly
// repeats, so that the repeat is copied instead of encoded again: a rule
// sends one body, with one set of headers, to many configs.
type encoder struct {
	body     string // the last body written, or the input's content
	bodyJSON []byte // its JSON
	headers  mapJSON
	query    mapJSON
}

// mapJSON is a map written last, by identity, and its JSON.
type mapJSON struct {
	m    unsafe.Pointer
	json []byte
}

func (e *encoder) appendDecision(dst []byte, d *Decision) []byte {
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
		dst = e.appendDeliveries(dst, d.Deliveries)
	}
	return append(dst, '}')
}

func (e *encoder) appendBody(dst []byte, body string) []byte {
	if body == "" {
		return dst
	}
	dst = append(dst, `,"body":`...)
	if len(body) == len(e.body) && (unsafe.StringData(body) == unsafe.StringData(e.body) || body == e.body) {
		return append(dst, e.bodyJSON...)
	}
	start := len(dst)
	dst = AppendQuote(dst, body)
	e.body, e.bodyJSON = body, dst[start:len(dst):len(dst)]
	return dst
}

// appendMap appends name and the map's JSON, unless the map is empty; the
// JSON of the map c last saw is copied.
func (c *mapJSON) appendMap(dst []byte, name string, m map[string]string) []byte {
	if len(m) == 0 {
		return dst
	}
	dst = append(dst, name...)
	// A map value is a pointer: the same pointer is the same map, which
	// nothing changes while a decision is written.
	id := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if id == c.m {
		return append(dst, c.json...)
	}
	start := len(dst)
	dst = appendStringMap(dst, m)
	c.m, c.json = id, dst[start:len(dst):len(dst)]
	return dst
}

func (e *encoder) appendDeliveries(dst []byte, ds []Delivery) []byte {
	dst = append(dst, '[')
	for i := range ds {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = e.appendDelivery(dst, &ds[i])
	}
	return append(dst, ']')
}

func (e *encoder) appendDelivery(dst []byte, d *Delivery) []byte {
	dst = append(dst, `{"channel":`...)
	dst = AppendQuote(dst, d.Channel)
	dst = appendField(dst, `,"configId":`, d.ConfigID)
	dst = appendField(dst, `,"destination":`, d.Destination)
	dst = appendField(dst, `,"method":`, d.Method)
	dst = e.headers.appendMap(dst, `,"headers":`, d.Headers)
	dst = e.query.appendMap(dst, `,"query":`, d.Query)
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
	if len(m) == 1 {
		for k, v := range m {
			dst = append(dst, '{')
			dst = AppendQuote(dst, k)
			dst = append(dst, ':')
			dst = AppendQuote(dst, v)
		}
		return append(dst, '}')
	}
	return appendSortedMap(dst, m)
}

// appendSortedMap writes a map's members sorted by key.
func appendSortedMap(dst []byte, m map[string]string) []byte {
	var room [8]string
	keys := room[:0]
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
