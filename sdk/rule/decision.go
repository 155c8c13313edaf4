package rule

import (
	"slices"
	"strconv"
	"strings"
)

// DecodeDecision decodes a decision as the gateway reads it: the rules of
// encoding/json decoding into fields of the ABI's names, which are more
// lenient than [DecodeInput]'s. A member name matches a field exactly or
// else case-insensitively (Unicode case folding); a name given again
// decodes into what the first one left, so objects merge and arrays reuse
// their elements; null leaves a string, a number or an object as it is and
// makes an array, a map or the rejection nil; unknown members are skipped.
// An empty "retrySchedule" array is an empty, non-nil RetrySchedule ("no
// retries"), unlike null or none. Malformed JSON and values of the wrong
// kind are a [*DecodeError]. A rule's tests can use it to read what
// [RouteFunc.ServeJSON] answers as the gateway will.
func DecodeDecision(data []byte) (*Decision, error) {
	text, arena := ownText(data)
	s := newScanner(text)
	s.arena = arena
	d := new(Decision)
	if err := s.decision(d); err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	return d, nil
}

// The names of the decision's fields, in the order of the switches below,
// for the case-insensitive match.
var (
	decisionNames   = []string{"deliveries", "reject"}
	rejectionNames  = []string{"code", "message"}
	attachmentNames = []string{"fileName", "url"}
	deliveryNames   = []string{"channel", "configId", "destination", "method", "headers", "query", "body",
		"bodyBase64", "subject", "attachments", "retrySchedule", "sign", "fallbacks"}
)

// foldedField returns the index of the first of names equal to name under
// Unicode case folding, as encoding/json matches a name that matches no
// field exactly; -1 for none.
func foldedField(names []string, name string) int {
	return slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
}

// exactField returns the index of name in names, or else foldedField's.
func exactField(names []string, name string) int {
	if i := slices.Index(names, name); i >= 0 {
		return i
	}
	return foldedField(names, name)
}

func (s *scanner) decision(d *Decision) error {
	if isNull, err := s.object(); isNull || err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		switch exactField(decisionNames, name) {
		case 0:
			d.Deliveries, err = s.deliveries(d.Deliveries)
		case 1:
			err = s.rejection(&d.Reject)
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}

func (s *scanner) rejection(r **Rejection) error {
	if isNull, err := s.null(); isNull || err != nil {
		if isNull {
			*r = nil
		}
		return err
	}
	if err := s.enter('{', "an object"); err != nil {
		return err
	}
	if *r == nil {
		*r = new(Rejection)
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		switch exactField(rejectionNames, name) {
		case 0:
			err = s.strOrKeep(&(*r).Code)
		case 1:
			err = s.strOrKeep(&(*r).Message)
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}

// strOrKeep reads a string into *dst; null leaves *dst as it is.
func (s *scanner) strOrKeep(dst *string) error {
	if s.pos < len(s.data) && s.data[s.pos] == '"' {
		v, err := s.quoted()
		*dst = v
		return err
	}
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	v, err := s.str()
	*dst = v
	return err
}

// elements reads an array into es as encoding/json does: element i decodes
// into the element already at i when there is one (left by a repeated
// name), and the length becomes the array's; an empty array is a new empty
// slice, null is nil. Growing by any amount reads alike, as the elements
// past the length are copied with the rest.
func elements[E any](s *scanner, es []E, elem func(*E) error) ([]E, error) {
	if isNull, err := s.null(); isNull || err != nil {
		return nil, err
	}
	if err := s.enter('[', "an array"); err != nil {
		return es, err
	}
	for n := 0; ; n++ {
		ok, err := s.nextElement(n)
		if err != nil {
			return es, err
		}
		if !ok {
			if n == 0 {
				return []E{}, nil
			}
			return es[:n], nil
		}
		if n >= cap(es) {
			es = slices.Grow(es[:n], max(n, 2))
		}
		if n >= len(es) {
			es = es[:n+1]
		}
		if err := elem(&es[n]); err != nil {
			return es, inField(err, "["+strconv.Itoa(n)+"]")
		}
	}
}

func (s *scanner) deliveries(ds []Delivery) ([]Delivery, error) {
	return elements(s, ds, s.delivery)
}

func (s *scanner) delivery(d *Delivery) error {
	if isNull, err := s.object(); isNull || err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		f := -1
		switch name {
		case "channel":
			f = 0
		case "configId":
			f = 1
		case "destination":
			f = 2
		case "method":
			f = 3
		case "headers":
			f = 4
		case "body":
			f = 6
		default:
			f = exactField(deliveryNames, name)
		}
		switch f {
		case 0:
			err = s.strOrKeep(&d.Channel)
		case 1:
			err = s.strOrKeep(&d.ConfigID)
		case 2:
			err = s.strOrKeep(&d.Destination)
		case 3:
			err = s.strOrKeep(&d.Method)
		case 4:
			err = s.addStringMap(&d.Headers)
		case 5:
			err = s.addStringMap(&d.Query)
		case 6:
			err = s.strOrKeep(&d.Body)
		case 7:
			err = s.strOrKeep(&d.BodyBase64)
		case 8:
			err = s.strOrKeep(&d.Subject)
		case 9:
			d.Attachments, err = elements(s, d.Attachments, s.attachment)
		case 10:
			d.RetrySchedule, err = elements(s, d.RetrySchedule, s.int64OrKeep)
		case 11:
			err = s.strOrKeep(&d.Sign)
		case 12:
			d.Fallbacks, err = s.deliveries(d.Fallbacks)
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}

func (s *scanner) attachment(a *Attachment) error {
	if isNull, err := s.object(); isNull || err != nil {
		return err
	}
	for n := 0; ; n++ {
		name, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		switch exactField(attachmentNames, name) {
		case 0:
			err = s.strOrKeep(&a.FileName)
		case 1:
			err = s.strOrKeep(&a.URL)
		default:
			err = s.skip()
		}
		if err != nil {
			return inField(err, name)
		}
	}
}

// int64OrKeep reads an integer into *dst; null leaves *dst as it is.
func (s *scanner) int64OrKeep(dst *int64) error {
	if isNull, err := s.null(); isNull || err != nil {
		return err
	}
	v, err := s.integer()
	if err == nil {
		*dst = v
	}
	return err
}

// addStringMap reads an object of strings into *m, adding to the map that
// is there (made when there is none); a null member is the empty string,
// null is a nil map.
func (s *scanner) addStringMap(m *map[string]string) error {
	if isNull, err := s.null(); isNull || err != nil {
		if isNull {
			*m = nil
		}
		return err
	}
	if err := s.enter('{', "an object"); err != nil {
		return err
	}
	if *m == nil {
		*m = make(map[string]string)
	}
	for n := 0; ; n++ {
		key, ok, err := s.nextMember(n, true)
		if err != nil || !ok {
			return err
		}
		v, err := s.str()
		if err != nil {
			return inField(err, key)
		}
		(*m)[key] = v
	}
}
