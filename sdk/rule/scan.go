package rule

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unsafe"
)

// maxDepth is how deeply arrays and objects may nest, the same limit as
// encoding/json's, so that both accept the same documents.
const maxDepth = 10000

// DecodeError reports JSON that is malformed, or that does not have the
// shape the ABI gives a field.
type DecodeError struct {
	Offset int    // the byte offset in the input where the problem was found
	Field  string // the field being decoded, such as "configs[1].hasKey"; empty when not in a known field
	Msg    string // what is wrong
}

// Error implements error.
func (e *DecodeError) Error() string {
	s := "json: "
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// inField prefixes the field path of a *DecodeError with name. It is only
// called on the error path, so paths cost nothing when decoding succeeds.
func inField(err error, name string) error {
	if e, ok := err.(*DecodeError); ok && name != "" {
		if e.Field == "" {
			e.Field = name
		} else if e.Field[0] == '[' {
			e.Field = name + e.Field
		} else {
			e.Field = name + "." + e.Field
		}
	}
	return err
}

// scanner reads JSON from data, one token at a time. Every method that
// reads a value validates it fully, so that a document is accepted exactly
// when it is valid JSON (RFC 8259), as encoding/json decides.
//
// The scanner is written for WebAssembly, where every call and every
// bounds check costs: the common path of each token is a few comparisons,
// and whatever is unusual (whitespace, escapes, errors) goes to code of
// its own.
type scanner struct {
	data  []byte
	pos   int
	depth int
	// src is data as an immutable string: a string that needs no
	// unescaping is a substring of it, without a copy.
	src string
	// arena is where strings with escapes are unescaped to. It only grows:
	// the strings made from it are never written again.
	arena []byte
	// canonical tells whether the last string read is written back by
	// AppendQuote as the very bytes it was read from.
	canonical bool

	// items and members are stacks where Parse collects an array's or an
	// object's contents, which it then moves to the slabs: each array or
	// object gets a slice of the right size, many to an allocation.
	items, itemSlab     []Value
	members, memberSlab []Member
}

// newScanner returns a scanner over text, whose strings share its memory.
func newScanner(text string) scanner {
	return scanner{data: viewBytes(text), src: text}
}

// ownText returns data as a string, copied once, with room after it for
// the strings the scanner unescapes: one allocation for a whole document.
// Unescaping never makes a string longer, except invalid UTF-8.
func ownText(data []byte) (text string, arena []byte) {
	b := make([]byte, len(data), 2*len(data)+arenaRoom)
	copy(b, data)
	return unsafe.String(unsafe.SliceData(b), len(b)), b[len(b):]
}

// viewBytes views a string's bytes without copying them. The scanner only
// reads its input.
func viewBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func (s *scanner) errorf(at int, msg string) error {
	return &DecodeError{Offset: at, Msg: msg}
}

// unexpected reports the byte at s.pos (or the end of the input) as not
// what was wanted, in encoding/json's words.
func (s *scanner) unexpected(context string) error {
	if s.pos >= len(s.data) {
		return s.errorf(s.pos, "unexpected end of JSON input")
	}
	return s.errorf(s.pos, "invalid character "+quoteChar(s.data[s.pos])+" "+context)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	case c < 0x20:
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
}

// peek skips whitespace and returns the next byte, or 0 at the end.
// Compact JSON, as the gateway sends, has no whitespace to skip.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return s.data[s.pos]
	}
	return s.peekSpace()
}

func (s *scanner) peekSpace() byte {
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// end checks that only whitespace is left.
func (s *scanner) end() error {
	s.peek()
	if s.pos < len(s.data) {
		return s.unexpected("after top-level value")
	}
	return nil
}

// null consumes a null literal if one comes next.
func (s *scanner) null() (bool, error) {
	if s.peek() != 'n' {
		return false, nil
	}
	return true, s.literal("null", lastNull)
}

// The literals' last four bytes, read as little-endian words.
const (
	lastTrue  = 't' | 'r'<<8 | 'u'<<16 | 'e'<<24
	lastFalse = 'a' | 'l'<<8 | 's'<<16 | 'e'<<24
	lastNull  = 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24
)

// literal consumes word, whose first byte is at s.pos and whose last four
// bytes read as a little-endian word are last.
func (s *scanner) literal(word string, last uint32) error {
	if end := s.pos + len(word); end <= len(s.data) && binary.LittleEndian.Uint32(s.data[end-4:]) == last {
		s.pos = end
		return nil
	}
	return s.badLiteral(word)
}

// badLiteral reports where word, which should come at s.pos, goes wrong.
func (s *scanner) badLiteral(word string) error {
	for i := 0; i < len(word); i++ {
		if s.pos >= len(s.data) || s.data[s.pos] != word[i] {
			if i == 0 {
				return s.unexpected("looking for beginning of value")
			}
			return s.unexpected("in literal " + word + " (expecting '" + word[i:i+1] + "')")
		}
		s.pos++
	}
	return nil
}

// enter consumes open, which starts an object or array.
func (s *scanner) enter(open byte, what string) error {
	if s.pos < len(s.data) && s.data[s.pos] == open && s.depth < maxDepth {
		s.depth++
		s.pos++
		return nil
	}
	return s.enterSlow(open, what)
}

func (s *scanner) enterSlow(open byte, what string) error {
	if s.peek() != open {
		if s.pos < len(s.data) && isValueStart(s.data[s.pos]) {
			return s.errorf(s.pos, "want "+what+", got "+kindAt(s.data[s.pos]))
		}
		return s.unexpected("looking for beginning of value")
	}
	s.depth++
	if s.depth > maxDepth {
		return s.errorf(s.pos, "exceeded max depth")
	}
	s.pos++
	return nil
}

// nextMember moves to the n-th member of an object entered with enter and
// returns its name, or ok == false after the closing brace. Without named,
// the name is checked but not kept.
func (s *scanner) nextMember(n int, named bool) (name string, ok bool, err error) {
	// The common case first: compact JSON, as the gateway writes it, with
	// a name of plain ASCII up to 15 bytes long, read a word at a time.
	d, p := s.data, s.pos
	if n > 0 && p < len(d) && d[p] == ',' {
		p++
	}
	if p+18 <= len(d) && d[p] == '"' && (n == 0 || p > s.pos) {
		m := plainMask(load(d, p+1))
		e := p + 1
		if m == 0 {
			m = plainMask(load(d, p+9))
			e += 8
		}
		if e += bits.TrailingZeros64(m) >> 3; m != 0 && d[e] == '"' && d[e+1] == ':' {
			s.pos = e + 2
			return s.src[p+1 : e], true, nil
		}
	}
	return s.nextMemberSlow(n, named)
}

func (s *scanner) nextMemberSlow(n int, named bool) (name string, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		s.depth--
		return "", false, nil
	}
	if n > 0 {
		if c != ',' {
			return "", false, s.unexpected("after object key:value pair")
		}
		s.pos++
		c = s.peek()
	}
	if c != '"' {
		return "", false, s.unexpected("looking for beginning of object key string")
	}
	if named {
		name, err = s.quoted()
	} else {
		err = s.skipString()
	}
	if err != nil {
		return "", false, err
	}
	if s.peek() != ':' {
		return "", false, s.unexpected("after object key")
	}
	s.pos++
	return name, true, nil
}

// nextElement moves to the n-th element of an array entered with enter,
// or returns false after the closing bracket.
func (s *scanner) nextElement(n int) (bool, error) {
	c := s.peek()
	if c == ']' {
		s.pos++
		s.depth--
		return false, nil
	}
	if n > 0 {
		if c != ',' {
			return false, s.unexpected("after array element")
		}
		s.pos++
	}
	return true, nil
}

// number reads a number and returns its literal text.
func (s *scanner) number() (string, error) {
	start := s.pos
	d := s.data
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = digits(d, i+1)
	default:
		s.pos = i
		return "", s.unexpected("in numeric literal")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return "", s.unexpected("after decimal point in numeric literal")
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return "", s.unexpected("in exponent of numeric literal")
		}
		i = digits(d, i)
	}
	s.pos = i
	return s.src[start:i], nil
}

func digits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// skip reads and checks any value, keeping nothing.
func (s *scanner) skip() error {
	switch s.peek() {
	case '{':
		if err := s.enter('{', "an object"); err != nil {
			return err
		}
		for n := 0; ; n++ {
			_, ok, err := s.nextMember(n, false)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case '[':
		if err := s.enter('[', "an array"); err != nil {
			return err
		}
		for n := 0; ; n++ {
			ok, err := s.nextElement(n)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case '"':
		// The common case first: no escape, read a word at a time.
		d := s.data
		for i := s.pos + 1; i+8 <= len(d); i += 8 {
			if m := stopMask(load(d, i)); m != 0 {
				if e := i + bits.TrailingZeros64(m)>>3; d[e] == '"' {
					s.pos = e + 1
					return nil
				}
				break
			}
		}
		return s.skipString()
	case 't':
		return s.literal("true", lastTrue)
	case 'f':
		return s.literal("false", lastFalse)
	case 'n':
		return s.literal("null", lastNull)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, err := s.number()
		return err
	}
	return s.unexpected("looking for beginning of value")
}

// str reads a string value; null reads as "".
func (s *scanner) str() (string, error) {
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		return s.quoted()
	}
	switch s.peek() {
	case '"':
		return s.quoted()
	case 'n':
		return "", s.literal("null", lastNull)
	}
	return "", s.wrongType("a string")
}

// boolean reads true or false; null reads as false.
func (s *scanner) boolean() (bool, error) {
	switch s.peek() {
	case 't':
		return true, s.literal("true", lastTrue)
	case 'f':
		return false, s.literal("false", lastFalse)
	case 'n':
		return false, s.literal("null", lastNull)
	}
	return false, s.wrongType("true or false")
}

// integer reads a number that must be an integer literal (no fraction, no
// exponent) in the range of int64; null reads as 0.
func (s *scanner) integer() (int64, error) {
	switch s.peek() {
	case 'n':
		return 0, s.literal("null", lastNull)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return 0, s.wrongType("an integer")
	}
	at := s.pos
	lit, err := s.number()
	if err != nil {
		return 0, err
	}
	v, ok := parseInt(lit)
	if !ok {
		return 0, s.errorf(at, "want an integer, got "+lit)
	}
	return v, nil
}

// parseInt parses a JSON number literal as an int64, refusing fractions,
// exponents and overflow.
func parseInt(lit string) (int64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) == 0 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return -int64(u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// wrongType reports a value of the wrong kind at s.pos, after checking it
// is at least a value.
func (s *scanner) wrongType(want string) error {
	if s.pos < len(s.data) && isValueStart(s.data[s.pos]) {
		return s.errorf(s.pos, "want "+want+", got "+kindAt(s.data[s.pos]))
	}
	return s.unexpected("looking for beginning of value")
}

func isValueStart(c byte) bool {
	switch c {
	case '{', '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func kindAt(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// stringMap reads an object of strings; null reads as nil. A null member
// value reads as "".
func (s *scanner) stringMap() (map[string]string, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return nil, err
	}
	if err := s.enter('{', "an object"); err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for n := 0; ; n++ {
		key, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return m, err
		}
		v, err := s.str()
		if err != nil {
			return nil, inField(err, key)
		}
		m[key] = v
	}
}
