package rule

import (
	"math"
	"strconv"
)

// Kind is the kind of a JSON [Value].
type Kind uint8

// The kinds of JSON values. KindMissing is the zero Kind: the value of a
// member or element that is not there.
const (
	KindMissing Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

var kindNames = [...]string{"missing", "null", "boolean", "number", "string", "array", "object"}

// String returns the kind's name, such as "object".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a parsed JSON value, for rules that read a callback's content or
// a receiver's answer without encoding/json, which is large and slow in
// WebAssembly. The zero Value is a missing value: reading a member that is
// not there gives it, and every accessor on it reports false, so lookups
// chain without checks:
//
//	v, err := rule.Parse([]byte(in.Content))
//	text, ok := v.Get("MsgBody").Index(0).Get("MsgContent").Get("Text").Text()
//
// Values are immutable; copying one is cheap and shares its elements.
type Value struct {
	kind    Kind
	b       bool     // a boolean's value
	s       string   // a string's text, or a number's literal
	items   []Value  // an array's elements
	members []Member // an object's members, in document order
}

// Member is a member of a JSON object.
type Member struct {
	Name  string
	Value Value
}

// Parse parses one JSON value, with whitespace around it, such as a
// callback's [Input.Content] or an answer's [Answer.Body]. Strings are
// unescaped (invalid UTF-8 becomes U+FFFD), numbers keep their literal text,
// and objects keep their members in order, duplicates included. It fails
// with a [*DecodeError] exactly when encoding/json would. The Value's
// strings share text's memory where they need no unescaping.
func Parse(text string) (Value, error) {
	s := newScanner(text)
	v, err := s.value()
	if err != nil {
		return Value{}, err
	}
	if err := s.end(); err != nil {
		return Value{}, err
	}
	return v, nil
}

// Valid reports whether text is one valid JSON value, without building it.
func Valid(text string) bool {
	s := newScanner(text)
	return s.skip() == nil && s.end() == nil
}

func (s *scanner) value() (Value, error) {
	switch s.peek() {
	case '{':
		if err := s.enter('{', "an object"); err != nil {
			return Value{}, err
		}
		base := len(s.members)
		for n := 0; ; n++ {
			name, ok, err := s.nextMember(n, true)
			if err != nil {
				return Value{}, err
			}
			if !ok {
				break
			}
			m := Member{Name: name}
			if m.Value, err = s.value(); err != nil {
				return Value{}, err
			}
			if s.members == nil {
				s.members = make([]Member, 0, 16)
			}
			s.members = append(s.members, m)
		}
		v := Value{kind: KindObject, members: s.keepMembers(s.members[base:])}
		clear(s.members[base:])
		s.members = s.members[:base]
		return v, nil
	case '[':
		if err := s.enter('[', "an array"); err != nil {
			return Value{}, err
		}
		base := len(s.items)
		for n := 0; ; n++ {
			ok, err := s.nextElement(n)
			if err != nil {
				return Value{}, err
			}
			if !ok {
				break
			}
			e, err := s.value()
			if err != nil {
				return Value{}, err
			}
			if s.items == nil {
				s.items = make([]Value, 0, 8)
			}
			s.items = append(s.items, e)
		}
		v := Value{kind: KindArray, items: s.keepItems(s.items[base:])}
		clear(s.items[base:])
		s.items = s.items[:base]
		return v, nil
	case '"':
		text, err := s.quoted()
		return Value{kind: KindString, s: text}, err
	case 't':
		return Value{kind: KindBool, b: true}, s.literal("true", lastTrue)
	case 'f':
		return Value{kind: KindBool}, s.literal("false", lastFalse)
	case 'n':
		return Value{kind: KindNull}, s.literal("null", lastNull)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		lit, err := s.number()
		return Value{kind: KindNumber, s: lit}, err
	}
	return Value{}, s.unexpected("looking for beginning of value")
}

// keepMembers copies an object's members, collected on the scanner's
// stack, to a slab that the document's objects share, and returns them
// there: a document takes a few allocations, not one per object.
func (s *scanner) keepMembers(ms []Member) []Member {
	if len(ms) == 0 {
		return nil
	}
	if cap(s.memberSlab)-len(s.memberSlab) < len(ms) {
		s.memberSlab = make([]Member, 0, max(len(ms), slabSize(len(s.data)-s.pos, cap(s.memberSlab))))
	}
	n := len(s.memberSlab)
	s.memberSlab = append(s.memberSlab, ms...)
	return s.memberSlab[n:len(s.memberSlab):len(s.memberSlab)]
}

// keepItems is keepMembers for an array's elements.
func (s *scanner) keepItems(vs []Value) []Value {
	if len(vs) == 0 {
		return nil
	}
	if cap(s.itemSlab)-len(s.itemSlab) < len(vs) {
		s.itemSlab = make([]Value, 0, max(len(vs), slabSize(len(s.data)-s.pos, cap(s.itemSlab))))
	}
	n := len(s.itemSlab)
	s.itemSlab = append(s.itemSlab, vs...)
	return s.itemSlab[n:len(s.itemSlab):len(s.itemSlab)]
}

// slabSize is the size of a new slab when the last one, of size last, is
// full and left bytes of the document are still to be read: twice the last,
// from eight, but no more than the rest of the document may need.
func slabSize(left, last int) int {
	return min(max(2*last, 8), max(left/4, 8))
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// Exists reports whether the value is there: not [KindMissing].
func (v Value) Exists() bool { return v.kind != KindMissing }

// IsNull reports whether the value is JSON null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Get returns the member of an object with the given name; when the name is
// given more than once, the last one, as encoding/json decides. It returns
// a missing Value when v is not an object or has no such member.
func (v Value) Get(name string) Value {
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].Name == name {
			return v.members[i].Value
		}
	}
	return Value{}
}

// Index returns the i-th element of an array, or a missing Value when v is
// not an array or i is out of range.
func (v Value) Index(i int) Value {
	if i < 0 || i >= len(v.items) {
		return Value{}
	}
	return v.items[i]
}

// Len returns the number of elements of an array or members of an object,
// and 0 for other kinds.
func (v Value) Len() int { return len(v.items) + len(v.members) }

// Items returns the elements of an array. The slice is shared: do not
// modify it.
func (v Value) Items() []Value { return v.items }

// Members returns the members of an object in document order. The slice is
// shared: do not modify it.
func (v Value) Members() []Member { return v.members }

// Text returns the text of a string value; for other kinds it returns ""
// and false.
func (v Value) Text() (text string, ok bool) {
	if v.kind != KindString {
		return "", false
	}
	return v.s, true
}

// Bool returns the value of a boolean; for other kinds it returns false
// and false.
func (v Value) Bool() (b, ok bool) {
	return v.b, v.kind == KindBool
}

// Number returns the literal text of a number, such as "1.50"; for other
// kinds it returns "" and false.
func (v Value) Number() (literal string, ok bool) {
	if v.kind != KindNumber {
		return "", false
	}
	return v.s, true
}

// Int returns a number as an int64; ok is false for other kinds and for
// numbers that are not whole or do not fit, such as 1.5 or 1e19. Whole
// numbers written with a fraction or exponent, such as 2.0 or 1e3, are
// accepted.
func (v Value) Int() (n int64, ok bool) {
	if v.kind != KindNumber {
		return 0, false
	}
	if n, ok := parseInt(v.s); ok {
		return n, true
	}
	f, err := strconv.ParseFloat(v.s, 64)
	if err != nil || f >= 1<<63 || f < -(1<<63) || f != math.Trunc(f) {
		return 0, false
	}
	return int64(f), true
}

// Float returns a number as the nearest float64; ok is false for other
// kinds and for numbers out of float64's range.
func (v Value) Float() (f float64, ok bool) {
	if v.kind != KindNumber {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.s, 64)
	return f, err == nil
}

// AppendJSON appends the value as compact JSON to dst and returns the
// extended buffer: numbers as they were written, strings escaped as
// [AppendQuote] does, members in order. A missing value appends nothing.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case KindNull:
		return append(dst, "null"...)
	case KindBool:
		if v.b {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case KindNumber:
		return append(dst, v.s...)
	case KindString:
		return AppendQuote(dst, v.s)
	case KindArray:
		dst = append(dst, '[')
		for i, e := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.AppendJSON(dst)
		}
		return append(dst, ']')
	case KindObject:
		dst = append(dst, '{')
		for i, m := range v.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendQuote(dst, m.Name)
			dst = append(dst, ':')
			dst = m.Value.AppendJSON(dst)
		}
		return append(dst, '}')
	}
	return dst
}

// String returns the value as compact JSON, or "" for a missing value.
func (v Value) String() string {
	return string(v.AppendJSON(nil))
}
