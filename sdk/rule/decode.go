package rule

import "strconv"

// DecodeInput decodes a route input. Unknown fields are skipped, null
// reads as the zero value, and a name given twice keeps its last value.
// Malformed JSON and values of the wrong kind are a [*DecodeError]. The
// input's strings share one copy of data, made once.
func DecodeInput(data []byte) (*Input, error) {
	// One copy of the input, which the decoded strings share.
	s := newScanner(string(data))
	in := new(Input)
	if err := s.input(in); err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return in, nil
}

// DecodeAnswer decodes a classify input, the way [DecodeInput] does.
func DecodeAnswer(data []byte) (*Answer, error) {
	s := newScanner(string(data))
	a := new(Answer)
	if err := s.answer(a); err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return a, nil
}

// object reads a JSON object, or null, member by member: member reads the
// value of the member it is given and names the field it filled ("" for
// one it skipped), so that an error says where it is.
func (s *scanner) object(member func(name []byte) (field string, err error)) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	if err := s.enter('{', "an object"); err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n)
		if err != nil || !ok {
			return err
		}
		if field, err := member(name); err != nil {
			return inField(err, field)
		}
	}
}

// integerInto reads an integer into *dst.
func (s *scanner) integerInto(dst *int) error {
	v, err := s.integer()
	*dst = int(v)
	return err
}

func (s *scanner) input(in *Input) error {
	return s.object(func(name []byte) (string, error) {
		switch string(name) {
		case "abi":
			return "abi", s.integerInto(&in.ABI)
		case "tenantId":
			return s.strInto("tenantId", &in.TenantID)
		case "messageId":
			return s.strInto("messageId", &in.MessageID)
		case "rule":
			return s.strInto("rule", &in.Rule)
		case "content":
			return s.strInto("content", &in.Content)
		case "properties":
			in.Properties = Properties{}
			return "properties", s.properties(&in.Properties)
		case "configs":
			var err error
			in.Configs, err = s.configs()
			return "configs", err
		}
		return "", s.skip()
	})
}

// strInto reads a string into *dst and names the field.
func (s *scanner) strInto(field string, dst *string) (string, error) {
	var err error
	*dst, err = s.str()
	return field, err
}

func (s *scanner) properties(p *Properties) error {
	return s.object(func(name []byte) (string, error) {
		switch string(name) {
		case "appKey":
			return s.strInto("appKey", &p.AppKey)
		case "rule":
			return s.strInto("rule", &p.Rule)
		case "ext":
			var err error
			p.Ext, err = s.stringMap()
			return "ext", err
		}
		return "", s.skip()
	})
}

func (s *scanner) configs() ([]Config, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return nil, err
	}
	if err := s.enter('[', "an array"); err != nil {
		return nil, err
	}
	cs := []Config{}
	for n := 0; ; n++ {
		ok, err := s.nextElement(n)
		if err != nil || !ok {
			return cs, err
		}
		var c Config
		if err := s.config(&c); err != nil {
			return nil, inField(err, "["+strconv.Itoa(n)+"]")
		}
		cs = append(cs, c)
	}
}

func (s *scanner) config(c *Config) error {
	return s.object(func(name []byte) (string, error) {
		var err error
		switch string(name) {
		case "id":
			return s.strInto("id", &c.ID)
		case "url":
			return s.strInto("url", &c.URL)
		case "hasKey":
			c.HasKey, err = s.boolean()
			return "hasKey", err
		case "hasToken":
			c.HasToken, err = s.boolean()
			return "hasToken", err
		}
		return "", s.skip()
	})
}

func (s *scanner) answer(a *Answer) error {
	return s.object(func(name []byte) (string, error) {
		switch string(name) {
		case "abi":
			return "abi", s.integerInto(&a.ABI)
		case "channel":
			return s.strInto("channel", &a.Channel)
		case "statusCode":
			return "statusCode", s.integerInto(&a.StatusCode)
		case "headers":
			var err error
			a.Headers, err = s.stringMap()
			return "headers", err
		case "body":
			return s.strInto("body", &a.Body)
		}
		return "", s.skip()
	})
}
