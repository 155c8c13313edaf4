package rule

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Strings are where a rule's JSON spends its bytes: the callback's content,
// usually a JSON document itself, is one long escaped string in the input
// and again in the decision. In WebAssembly built by Go every loop
// iteration and every branch taken goes through the function's dispatch
// loop (and the gateway's metering counts each), so the loops below look
// at eight bytes at a time: they find the next byte that needs attention
// with word arithmetic, and copy plain text a word at a time.

const (
	lsb = 0x0101010101010101 // the low bit of each byte of a word
	msb = 0x8080808080808080 // the high bit of each byte of a word
)

// stopMask returns, for eight bytes of a JSON string read as a
// little-endian word, the high bit of each byte that is '"', '\\' or a
// control character. Only the lowest bit set is exact (a borrow can set
// bits above it), which is all the loops below use.
func stopMask(x uint64) uint64 {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x | (q-lsb)&^q | (b-lsb)&^b) & msb
}

// plainMask is stopMask with the bytes that are not ASCII set too: its
// lowest bit set marks the first byte that is not plain (see [plain]).
func plainMask(x uint64) uint64 {
	return stopMask(x) | x&msb
}

// plainEnd returns the offset of the first byte of d at or after i that is
// not plain, or len(d).
func plainEnd(d []byte, i int) int {
	for ; i+8 <= len(d); i += 8 {
		if m := plainMask(load(d, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(d) && plain[d[i]]; i++ {
	}
	return i
}

// stopEnd returns the offset of the first byte of d at or after i that is
// '"', '\\' or a control character, or len(d): it goes through non-ASCII
// bytes, for a scan that only validates.
func stopEnd(d []byte, i int) int {
	for ; i+8 <= len(d); i += 8 {
		if m := stopMask(load(d, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(d) && (d[i] >= 0x20 && d[i] != '"' && d[i] != '\\'); i++ {
	}
	return i
}

// copyPlain copies the plain bytes of d from i on into b from n on and
// returns the offsets after them in d and b. b must have room for them and
// eight bytes more: words are stored whole, past what is plain.
func copyPlain(b []byte, n int, d []byte, i int) (int, int) {
	for ; i+8 <= len(d); i, n = i+8, n+8 {
		x := load(d, i)
		store(b, n, x)
		if m := plainMask(x); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			return i + k, n + k
		}
	}
	for ; i < len(d) && plain[d[i]]; i, n = i+1, n+1 {
		b[n] = d[i]
	}
	return i, n
}

// plain holds the bytes that stand for themselves in a JSON string: ASCII
// from space up, except '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// quoted reads the string at s.pos, which must be '"', and returns its text.
// Invalid UTF-8 becomes U+FFFD, byte by byte, as encoding/json does. A
// string that needs no unescaping is a substring of the input; any other
// is unescaped into the scanner's arena. It sets s.canonical to whether
// [AppendQuote] writes the text back as the very bytes it was read from.
func (s *scanner) quoted() (string, error) {
	d := s.data
	start := s.pos + 1
	for i := start; i+8 <= len(d); i += 8 {
		if m := plainMask(load(d, i)); m != 0 {
			e := i + bits.TrailingZeros64(m)>>3
			if d[e] == '"' {
				s.pos = e + 1
				s.canonical = true
				return s.src[start:e], nil
			}
			return s.quotedSlow(start, e)
		}
	}
	return s.quotedSlow(start, plainEnd(d, start))
}

// quotedSlow finishes quoted from offset i, the first byte that is not plain
// ASCII: text that needs no change goes on as a substring of the input
// until an escape or invalid UTF-8 calls for a copy.
func (s *scanner) quotedSlow(start, i int) (string, error) {
	d := s.data
	canonical := true
	for {
		if i >= len(d) {
			s.pos = len(d)
			return "", s.unexpected("")
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			s.canonical = canonical
			return s.src[start:i], nil
		case c == '\\':
			return s.unescape(start, i, canonical)
		case c < 0x20:
			s.pos = i
			return "", s.unexpected("in string literal")
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return s.unescape(start, i, false)
			}
			if r == '\u2028' || r == '\u2029' {
				canonical = false // AppendQuote escapes them
			}
			i += size
		}
		i = plainEnd(d, i)
	}
}

// unescapes maps the byte after a backslash to the byte it stands for, for
// the escapes of one byte; 0 for the others.
var unescapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// arenaRoom is the room an arena keeps past what a string may need, for
// the words copyPlain stores whole.
const arenaRoom = 8

// unescape finishes reading a string whose bytes from start to i need no
// change, into the arena. The arena only grows: the strings made from it
// earlier are never written again.
func (s *scanner) unescape(start, i int, canonical bool) (string, error) {
	d := s.data
	// Unescaping only shrinks what is left of the input, unless invalid
	// UTF-8 grows into U+FFFD: then the arena is grown again.
	s.arena = roomFor(s.arena, len(d)-start)
	b := s.arena[:cap(s.arena)]
	base := len(s.arena)
	n := base + copy(b[base:], d[start:i])
	for {
		// The plain text up to the next escape, a word at a time; this
		// loop is copyPlain's, inline, as escapes come every few bytes
		// in a JSON content.
		for {
			if i+8 > len(d) {
				i, n = copyPlain(b, n, d, i)
				break
			}
			x := load(d, i)
			store(b, n, x)
			if m := plainMask(x); m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				i, n = i+k, n+k
				break
			}
			i, n = i+8, n+8
		}
		if i >= len(d) {
			s.pos = i
			return "", s.unexpected("")
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			s.arena = b[:n]
			s.canonical = canonical
			return unsafe.String(unsafe.SliceData(b[base:]), n-base), nil
		case c == '\\':
			i++
			if i >= len(d) {
				s.pos = i
				return "", s.unexpected("")
			}
			if e := unescapes[d[i]]; e != 0 {
				b[n] = e
				n++
				i++
				canonical = canonical && d[i-1] != '/' // AppendQuote writes '/' as it is
				continue
			}
			switch d[i] {
			case 'u':
				r, err := s.hex4(i + 1)
				if err != nil {
					return "", err
				}
				canonical = canonical && canonicalU(d[i+1:i+5], r)
				i += 4
				if utf16.IsSurrogate(r) {
					// A high surrogate followed by an escaped low one
					// is one character; anything else is U+FFFD and
					// the next escape is read on its own.
					r2 := rune(-1)
					if i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'u' {
						if v, err := s.hex4(i + 3); err == nil {
							r2 = v
						}
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				n += utf8.EncodeRune(b[n:], r)
				i++
				continue
			default:
				s.pos = i
				return "", s.unexpected("in string escape code")
			}
		case c < 0x20:
			s.pos = i
			return "", s.unexpected("in string literal")
		default:
			r, size := utf8.DecodeRune(d[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				// One byte becomes three: the string so far moves to a
				// new arena when the rest may not fit.
				if need := len(d) - i + 2 + arenaRoom; cap(b)-n < need {
					nb := make([]byte, n-base+need)
					n, base, b = copy(nb, b[base:n]), 0, nb
				}
				n += copy(b[n:], "\uFFFD")
				canonical = false
			case r == '\u2028' || r == '\u2029':
				n += copy(b[n:], d[i:i+size])
				canonical = false
			default:
				n += copy(b[n:], d[i:i+size])
			}
			i += size
		}
	}
}

// roomFor returns a, or a new arena when a has not room for n more bytes
// and arenaRoom. The bytes of a are not copied: the strings made from it
// keep it alive.
func roomFor(a []byte, n int) []byte {
	if cap(a)-len(a) < n+arenaRoom {
		return make([]byte, 0, max(n+arenaRoom, 64))
	}
	return a
}

// canonicalU reports whether hex, the four digits of a \u escape of r, is
// how AppendQuote writes r: only the control characters without a short
// escape, U+2028 and U+2029 are written so, in lower case.
func canonicalU(hex []byte, r rune) bool {
	switch {
	case r == '\b' || r == '\f' || r == '\n' || r == '\r' || r == '\t':
		return false
	case r < 0x20 || r == '\u2028' || r == '\u2029':
		return hex[3] < 'A' || hex[3] > 'F'
	}
	return false
}

// skipString checks the string at s.pos, which must be '"', without
// unescaping it.
func (s *scanner) skipString() error {
	d := s.data
	i := s.pos + 1
	for {
		i = stopEnd(d, i)
		if i >= len(d) {
			s.pos = len(d)
			return s.unexpected("")
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return nil
		case c == '\\':
			i++
			if i >= len(d) {
				s.pos = i
				return s.unexpected("")
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, err := s.hex4(i + 1); err != nil {
					return err
				}
				i += 4
			default:
				s.pos = i
				return s.unexpected("in string escape code")
			}
			i++
		default:
			s.pos = i
			return s.unexpected("in string literal")
		}
	}
}

// hex4 reads the four hex digits of a \u escape starting at at.
func (s *scanner) hex4(at int) (rune, error) {
	var r rune
	for j := at; j < at+4; j++ {
		if j >= len(s.data) {
			s.pos = j
			return 0, s.unexpected("")
		}
		c := s.data[j]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			s.pos = j
			return 0, s.unexpected(`in \u hexadecimal character escape`)
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}
