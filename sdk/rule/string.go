package rule

import (
	"unicode/utf16"
	"unicode/utf8"
)

// plain holds the bytes that stand for themselves in a JSON string: ASCII
// from space up, except '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// text converts what stringBytes returned, read from start (the offset of
// the opening quote), into a string.
func (s *scanner) text(start int, b []byte) string {
	if !s.escaped && s.src != "" {
		return s.src[start+1 : start+1+len(b)]
	}
	return string(b)
}

// stringBytes reads a string starting at s.pos, which must be '"', and
// returns it unescaped. Invalid UTF-8 becomes U+FFFD, byte by byte, as
// encoding/json does. The result aliases the input when the string needs
// no change, and the scanner's scratch otherwise.
func (s *scanner) stringBytes() ([]byte, error) {
	s.escaped = false
	s.pos++ // the opening quote
	start := s.pos
	d := s.data
	for i := start; i < len(d); {
		for i < len(d) && plain[d[i]] {
			i++
		}
		if i >= len(d) {
			break
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return d[start:i], nil
		case c == '\\':
			return s.unescape(start, i)
		case c < 0x20:
			s.pos = i
			return nil, s.unexpected("in string literal")
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return s.unescape(start, i)
			}
			i += size
		}
	}
	s.pos = len(d)
	return nil, s.unexpected("")
}

// unescape finishes reading a string whose first i-start bytes need no
// change, into the scanner's scratch buffer.
func (s *scanner) unescape(start, i int) ([]byte, error) {
	s.escaped = true
	d := s.data
	if n := stringEnd(d, i) - start; cap(s.buf) < n {
		// One buffer the size of the raw string: unescaping only
		// shrinks it, unless invalid UTF-8 grows into U+FFFD.
		s.buf = make([]byte, 0, n)
	}
	b := append(s.buf[:0], d[start:i]...)
	for i < len(d) {
		j := i
		for j < len(d) && plain[d[j]] {
			j++
		}
		b = append(b, d[i:j]...)
		if i = j; i >= len(d) {
			break
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			s.buf = b
			return b, nil
		case c == '\\':
			i++
			if i >= len(d) {
				s.pos = i
				return nil, s.unexpected("")
			}
			switch e := d[i]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, err := s.hex4(i + 1)
				if err != nil {
					return nil, err
				}
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
				b = utf8.AppendRune(b, r)
			default:
				s.pos = i
				return nil, s.unexpected("in string escape code")
			}
			i++
		case c < 0x20:
			s.pos = i
			return nil, s.unexpected("in string literal")
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, d[i:i+size]...)
			}
			i += size
		}
	}
	s.pos = len(d)
	return nil, s.unexpected("")
}

// keyStart returns the offset of the opening quote of the member name that
// nextMember read from offset at: past whitespace and a comma.
func (s *scanner) keyStart(at int) int {
	for s.data[at] != '"' {
		at++
	}
	return at
}

// stringEnd returns the offset of the quote that closes the string around
// offset i, or len(d) when there is none.
func stringEnd(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case '"':
			return i
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return len(d)
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
