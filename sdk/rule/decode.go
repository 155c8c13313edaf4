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

func (s *scanner) input(in *Input) error {
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
		var field string
		switch string(name) {
		case "abi":
			field = "abi"
			var v int64
			v, err = s.integer()
			in.ABI = int(v)
		case "tenantId":
			field = "tenantId"
			in.TenantID, err = s.str()
		case "messageId":
			field = "messageId"
			in.MessageID, err = s.str()
		case "rule":
			field = "rule"
			in.Rule, err = s.str()
		case "content":
			field = "content"
			in.Content, err = s.str()
		case "properties":
			field = "properties"
			in.Properties = Properties{}
			err = s.properties(&in.Properties)
		case "configs":
			field = "configs"
			in.Configs, err = s.configs()
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, field)
		}
	}
}

func (s *scanner) properties(p *Properties) error {
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
		var field string
		switch string(name) {
		case "appKey":
			field = "appKey"
			p.AppKey, err = s.str()
		case "rule":
			field = "rule"
			p.Rule, err = s.str()
		case "ext":
			field = "ext"
			p.Ext, err = s.stringMap()
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, field)
		}
	}
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
		var field string
		switch string(name) {
		case "id":
			field = "id"
			c.ID, err = s.str()
		case "url":
			field = "url"
			c.URL, err = s.str()
		case "hasKey":
			field = "hasKey"
			c.HasKey, err = s.boolean()
		case "hasToken":
			field = "hasToken"
			c.HasToken, err = s.boolean()
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, field)
		}
	}
}

func (s *scanner) answer(a *Answer) error {
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
		var field string
		switch string(name) {
		case "abi":
			field = "abi"
			var v int64
			v, err = s.integer()
			a.ABI = int(v)
		case "channel":
			field = "channel"
			a.Channel, err = s.str()
		case "statusCode":
			field = "statusCode"
			var v int64
			v, err = s.integer()
			a.StatusCode = int(v)
		case "headers":
			field = "headers"
			a.Headers, err = s.stringMap()
		case "body":
			field = "body"
			a.Body, err = s.str()
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, field)
		}
	}
}
