package rule

import "strconv"

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
type scanner struct {
	data  []byte
	pos   int
	depth int
	buf   []byte // scratch for unescaped strings

	// src, when set, is data as an immutable string: a string that needs
	// no unescaping is then a substring of it, without a copy or an
	// allocation of its own.
	src string
	// escaped tells whether the last string read was unescaped into buf.
	escaped bool

	// items and members are stacks where Parse collects an array's or an
	// object's contents, so that each gets one slice of the right size.
	items   []Value
	members []Member
}

// newScanner returns a scanner over text, whose strings share its memory.
func newScanner(text string) *scanner {
	return &scanner{data: viewBytes(text), src: text}
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

// ws skips whitespace.
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// end checks that only whitespace is left.
func (s *scanner) end() error {
	s.ws()
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
	return true, s.literal("null")
}

func (s *scanner) literal(word string) error {
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
// returns its name, or ok == false after the closing brace. The name
// aliases the input or the scanner's scratch: use it before reading on.
func (s *scanner) nextMember(n int) (name []byte, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		s.depth--
		return nil, false, nil
	}
	if n > 0 {
		if c != ',' {
			return nil, false, s.unexpected("after object key:value pair")
		}
		s.pos++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, s.unexpected("looking for beginning of object key string")
	}
	name, err = s.stringBytes()
	if err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, s.unexpected("after object key")
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
func (s *scanner) number() ([]byte, error) {
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
		return nil, s.unexpected("in numeric literal")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.unexpected("after decimal point in numeric literal")
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
			return nil, s.unexpected("in exponent of numeric literal")
		}
		i = digits(d, i)
	}
	s.pos = i
	return d[start:i], nil
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
			_, ok, err := s.nextMember(n)
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
		_, err := s.stringBytes()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, err := s.number()
		return err
	}
	return s.unexpected("looking for beginning of value")
}

// str reads a string value; null reads as "".
func (s *scanner) str() (string, error) {
	switch s.peek() {
	case '"':
		start := s.pos
		b, err := s.stringBytes()
		return s.text(start, b), err
	case 'n':
		return "", s.literal("null")
	}
	return "", s.wrongType("a string")
}

// boolean reads true or false; null reads as false.
func (s *scanner) boolean() (bool, error) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return false, s.literal("null")
	}
	return false, s.wrongType("true or false")
}

// integer reads a number that must be an integer literal (no fraction, no
// exponent) in the range of int64; null reads as 0.
func (s *scanner) integer() (int64, error) {
	switch s.peek() {
	case 'n':
		return 0, s.literal("null")
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
		return 0, s.errorf(at, "want an integer, got "+string(lit))
	}
	return v, nil
}

// parseInt parses a JSON number literal as an int64, refusing fractions,
// exponents and overflow.
func parseInt(lit []byte) (int64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range lit {
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
		at := s.pos
		name, ok, err := s.nextMember(n)
		if err != nil || !ok {
			return m, err
		}
		key := s.text(s.keyStart(at), name)
		v, err := s.str()
		if err != nil {
			return nil, inField(err, key)
		}
		m[key] = v
	}
}
