package rule

import "strconv"

// DecodeInput decodes a route input. Unknown fields are skipped, null
// reads as the zero value, and a name given twice keeps its last value.
// Malformed JSON and values of the wrong kind are a [*DecodeError]. The
// input's strings share one copy of data, made once.
func DecodeInput(data []byte) (*Input, error) {
	b, err := decodeInput(ownText(data))
	if err != nil {
		return nil, err
	}
	return &b.in, nil
}

// decodeInput decodes a route input from text, which it keeps: the
// strings that need no unescaping are substrings of it, the others are
// unescaped into arena. When AppendQuote writes the content as text has
// it, the block's encoder has the content's JSON, for a decision that
// sends the content as its body.
func decodeInput(text string, arena []byte) (*inputBlock, error) {
	b := new(inputBlock)
	s := newScanner(text)
	s.arena = arena
	contentJSON, ok := s.canonicalInput(&b.in, b.configs[:0])
	if !ok {
		// Laid out otherwise: the general decoder, from the start. The
		// arena goes on from where the fast path left it.
		b.in, b.configs = Input{}, [len(b.configs)]Config{}
		s.pos, s.depth = 0, 0
		var err error
		if contentJSON, err = s.input(&b.in, b.configs[:0]); err != nil {
			return nil, err
		}
		if err := s.end(); err != nil {
			return nil, err
		}
	}
	if contentJSON != "" {
		// A rule commonly sends the content as the body: its JSON is
		// then copied from the input instead of encoded again.
		b.enc.body, b.enc.bodyJSON = b.in.Content, viewBytes(contentJSON)
	}
	return b, nil
}

// inputBlock is what decoding an input and encoding the decision take, in
// one allocation: the Input, room for its first configs and the encoder.
// (WebAssembly built by Go clears a variable of more than 32 bytes with a
// slow loop of copies: the encoder is better cleared with the rest by the
// allocation. The block stays under 512 bytes, past which an allocation
// takes a slower path.)
type inputBlock struct {
	in      Input
	configs [4]Config
	enc     encoder
}

// DecodeAnswer decodes a classify input, the way [DecodeInput] does.
func DecodeAnswer(data []byte) (*Answer, error) {
	return decodeAnswer(ownText(data))
}

func decodeAnswer(text string, arena []byte) (*Answer, error) {
	s := newScanner(text)
	s.arena = arena
	a := new(Answer)
	if err := s.answer(a); err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return a, nil
}

// object enters an object, or reads null; isNull is true for null.
func (s *scanner) object() (isNull bool, err error) {
	if isNull, err := s.null(); isNull || err != nil {
		return isNull, err
	}
	return false, s.enter('{', "an object")
}

// input decodes a route input into in. configs is where the configs go,
// empty, with room for the common few.
func (s *scanner) input(in *Input, configs []Config) (contentJSON string, err error) {
	if isNull, err := s.object(); isNull || err != nil {
		return "", err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return contentJSON, err
		}
		switch name {
		case "abi":
			in.ABI, err = s.integerInt()
		case "tenantId":
			in.TenantID, err = s.str()
		case "messageId":
			in.MessageID, err = s.str()
		case "rule":
			in.Rule, err = s.str()
		case "content":
			c := s.peek()
			at := s.pos
			in.Content, err = s.str()
			contentJSON = ""
			if err == nil && c == '"' && s.canonical {
				contentJSON = s.src[at:s.pos]
			}
		case "properties":
			in.Properties = Properties{}
			err = s.properties(&in.Properties)
		case "configs":
			in.Configs, err = s.configs(configs)
		default:
			name = ""
			err = s.skip()
		}
		if err != nil {
			return "", inField(err, name)
		}
	}
}

// integerInt reads an integer as an int.
func (s *scanner) integerInt() (int, error) {
	v, err := s.integer()
	return int(v), err
}

func (s *scanner) properties(p *Properties) error {
	if isNull, err := s.object(); isNull || err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		switch name {
		case "appKey":
			p.AppKey, err = s.str()
		case "rule":
			p.Rule, err = s.str()
		case "ext":
			p.Ext, err = s.stringMap()
		default:
			name = ""
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}

// configs reads the configs into cs, which is empty.
func (s *scanner) configs(cs []Config) ([]Config, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return nil, err
	}
	if err := s.enter('[', "an array"); err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		ok, err := s.nextElement(n)
		if err != nil || !ok {
			return cs, err
		}
		cs = append(cs, Config{})
		if err := s.config(&cs[n]); err != nil {
			return nil, inField(err, "["+strconv.Itoa(n)+"]")
		}
	}
}

func (s *scanner) config(c *Config) error {
	if isNull, err := s.object(); isNull || err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		switch name {
		case "id":
			c.ID, err = s.str()
		case "url":
			c.URL, err = s.str()
		case "hasKey":
			c.HasKey, err = s.boolean()
		case "hasToken":
			c.HasToken, err = s.boolean()
		default:
			name = ""
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}

func (s *scanner) answer(a *Answer) error {
	if isNull, err := s.object(); isNull || err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		switch name {
		case "abi":
			a.ABI, err = s.integerInt()
		case "channel":
			a.Channel, err = s.str()
		case "statusCode":
			a.StatusCode, err = s.integerInt()
		case "headers":
			a.Headers, err = s.stringMap()
		case "body":
			a.Body, err = s.str()
		default:
			name = ""
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}
