package rule

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// The gateway writes every route input the same way, with AppendInput:
// its members in the ABI's order, compact, every one present. The decoder
// reads that layout on a fast path that compares the known parts eight
// bytes at a time and reads only the values, instead of one token at a
// time; any other layout, from another host or a later minor version, is
// decoded by the general decoder, to the same Input.

// AppendInput appends the route input's JSON, as the gateway sends it, to
// dst and returns the extended buffer: every member of the ABI, in the
// ABI's order, with "abi" set to [ABIVersion] whatever in.ABI says. A nil
// Ext is written as an empty object and nil Configs as an empty array.
// Rule tests can use it to make the input [RouteFunc.ServeJSON] reads.
func AppendInput(dst []byte, in *Input) []byte {
	dst = append(dst, `{"abi":`...)
	dst = strconv.AppendInt(dst, ABIVersion, 10)
	dst = AppendQuote(append(dst, `,"tenantId":`...), in.TenantID)
	dst = AppendQuote(append(dst, `,"messageId":`...), in.MessageID)
	dst = AppendQuote(append(dst, `,"rule":`...), in.Rule)
	dst = AppendQuote(append(dst, `,"content":`...), in.Content)
	dst = AppendQuote(append(dst, `,"properties":{"appKey":`...), in.Properties.AppKey)
	dst = AppendQuote(append(dst, `,"rule":`...), in.Properties.Rule)
	dst = appendStringMap(append(dst, `,"ext":`...), in.Properties.Ext)
	dst = append(dst, `},"configs":[`...)
	for i, c := range in.Configs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendQuote(append(dst, `{"id":`...), c.ID)
		dst = AppendQuote(append(dst, `,"url":`...), c.URL)
		dst = strconv.AppendBool(append(dst, `,"hasKey":`...), c.HasKey)
		dst = strconv.AppendBool(append(dst, `,"hasToken":`...), c.HasToken)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// canonicalInput decodes an input in the layout AppendInput writes, into
// in, with configs as room for its configs; like input, it returns the
// content's JSON when AppendQuote writes the content so. It returns false
// as soon as the text is laid out otherwise (which includes every error):
// the input must then be decoded again from the start.
func (s *scanner) canonicalInput(in *Input, configs []Config) (contentJSON string, ok bool) {
	in.ABI = ABIVersion
	if !s.lit(&litABI) || !s.litStr(&litTenantID, &in.TenantID) || !s.litStr(&litMessageID, &in.MessageID) ||
		!s.litStr(&litRule, &in.Rule) || !s.lit(&litContent) {
		return "", false
	}
	at := s.pos
	if !s.litStr(nil, &in.Content) {
		return "", false
	}
	if s.canonical {
		contentJSON = s.src[at:s.pos]
	}
	if !s.lit(&litProperties) || !s.litStr(&litAppKey, &in.Properties.AppKey) || !s.litStr(&litRule, &in.Properties.Rule) {
		return "", false
	}
	ext := make(map[string]string)
	in.Properties.Ext = ext
	if !s.lit(&litNoExt) {
		if !s.lit(&litExt) {
			return "", false
		}
		for n := 0; !s.lit(&litClose); n++ {
			var k, v string
			if n > 0 && !s.lit(&litComma) || !s.litStr(nil, &k) || !s.litStr(&litColon, &v) {
				return "", false
			}
			ext[k] = v
		}
	}
	if !s.lit(&litConfigs) {
		return "", false
	}
	if !s.lit(&litNoConfigs) {
		for n := 0; ; n++ {
			// The room in configs is zero: reslicing it, rather than
			// appending a zero Config, spares clearing it again.
			if n < cap(configs) {
				configs = configs[:n+1]
			} else {
				configs = append(configs, Config{})
			}
			c := &configs[n]
			next := &litFirstConfig
			if n > 0 {
				next = &litNextConfig
			}
			if !s.litStr(next, &c.ID) || !s.litStr(&litURL, &c.URL) ||
				!s.lit(&litHasKey) || !s.fastBool(&c.HasKey) || !s.lit(&litHasToken) || !s.fastBool(&c.HasToken) {
				return "", false
			}
			if s.lit(&litEnd) {
				break
			}
		}
	}
	in.Configs = configs
	return contentJSON, s.end() == nil
}

// A literal is a piece of the canonical layout, up to 16 bytes long, as
// words to compare: its first eight bytes (fewer, masked, when it is
// shorter) and its last eight.
type literal struct {
	text       string
	head, mask uint64
	tail       uint64
	off        int // where tail starts: len(text)-8, or 0 when shorter
}

func newLiteral(text string) literal {
	var w [16]byte
	copy(w[:], text)
	l := literal{text: text, head: binary.LittleEndian.Uint64(w[:]), mask: ^uint64(0)}
	if len(text) < 8 {
		l.mask = 1<<(8*len(text)) - 1
		l.tail = l.head
	} else {
		l.off = len(text) - 8
		l.tail = binary.LittleEndian.Uint64(w[l.off:])
	}
	return l
}

// The literals of the canonical layout, in order.
var (
	litABI         = newLiteral(`{"abi":1,`)
	litTenantID    = newLiteral(`"tenantId":`)
	litMessageID   = newLiteral(`,"messageId":`)
	litRule        = newLiteral(`,"rule":`)
	litContent     = newLiteral(`,"content":`)
	litProperties  = newLiteral(`,"properties":{`)
	litAppKey      = newLiteral(`"appKey":`)
	litNoExt       = newLiteral(`,"ext":{}`)
	litExt         = newLiteral(`,"ext":{`)
	litComma       = newLiteral(`,`)
	litColon       = newLiteral(`:`)
	litClose       = newLiteral(`}`)
	litConfigs     = newLiteral(`},"configs":[`)
	litNoConfigs   = newLiteral(`]}`)
	litFirstConfig = newLiteral(`{"id":`)
	litNextConfig  = newLiteral(`},{"id":`)
	litURL         = newLiteral(`,"url":`)
	litHasKey      = newLiteral(`,"hasKey":`)
	litHasToken    = newLiteral(`,"hasToken":`)
	litTrue        = newLiteral(`true`)
	litFalse       = newLiteral(`false`)
	litEnd         = newLiteral(`}]}`) // the last config's end, and the input's
)

// lit consumes l if it comes next.
func (s *scanner) lit(l *literal) bool {
	d, p := s.data, s.pos
	if p+l.off+8 > len(d) {
		// Near the end: byte by byte.
		if len(d)-p < len(l.text) || string(d[p:p+len(l.text)]) != l.text {
			return false
		}
	} else if load(d, p)&l.mask != l.head || load(d, p+l.off)&l.mask != l.tail {
		return false
	}
	s.pos = p + len(l.text)
	return true
}

// litStr consumes l, unless l is nil, and then reads a string (not null)
// into *dst: plain ASCII on a fast path, a word at a time, anything else as
// quoted does. It is lit and a string in one call, which is what the
// canonical layout is made of.
func (s *scanner) litStr(l *literal, dst *string) bool {
	d, p := s.data, s.pos
	if l != nil {
		if p+l.off+8 > len(d) {
			return s.lit(l) && s.litStr(nil, dst)
		}
		if load(d, p)&l.mask != l.head || load(d, p+l.off)&l.mask != l.tail {
			return false
		}
		p += len(l.text)
		s.pos = p
	}
	if p >= len(d) || d[p] != '"' {
		return false
	}
	for i := p + 1; i+8 <= len(d); i += 8 {
		if m := plainMask(load(d, i)); m != 0 {
			if e := i + bits.TrailingZeros64(m)>>3; d[e] == '"' {
				s.pos = e + 1
				s.canonical = true
				*dst = s.src[p+1 : e]
				return true
			}
			break
		}
	}
	v, err := s.quoted()
	*dst = v
	return err == nil
}

// fastBool reads true or false into *dst.
func (s *scanner) fastBool(dst *bool) bool {
	*dst = s.lit(&litTrue)
	return *dst || s.lit(&litFalse)
}
