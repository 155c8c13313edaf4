package smsplugin

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// Message sizes (3GPP TS 23.040): 140 octets of user data, of which a
// concatenation header takes 6.
const (
	gsmSingle  = 160 // septets
	gsmPart    = 153
	ucs2Single = 70 // UTF-16 code units
	ucs2Part   = 67
)

var (
	e164   = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	digits = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// text is a body ready to submit: its encoding and the encoded parts.
type text struct {
	enc   data.Encoding
	parts [][]byte
}

// encodeText picks GSM 7-bit or UCS-2 for s and splits it into parts.
func encodeText(s string) (text, error) {
	if s == "" {
		return text{}, errors.New("the body is empty: there is no text to send")
	}
	if !utf8.ValidString(s) {
		return text{}, errors.New("the body is not UTF-8 text")
	}
	enc, size, single, part := data.GSM7BIT, gsmUnits, gsmSingle, gsmPart
	if len(data.ValidateGSM7String(s)) > 0 {
		enc, size, single, part = data.UCS2, ucs2Units, ucs2Single, ucs2Part
	}
	chunks := split(s, size, single, part)
	if len(chunks) > MaxParts {
		return text{}, fmt.Errorf("the body needs %d messages; at most %d are sent for one delivery", len(chunks), MaxParts)
	}
	t := text{enc: enc, parts: make([][]byte, len(chunks))}
	for i, c := range chunks {
		b, err := enc.Encode(c)
		if err != nil {
			return text{}, fmt.Errorf("encode the body: %w", err)
		}
		t.parts[i] = b
	}
	return t, nil
}

// gsmUnits is how many septets r takes: characters of the extension
// table are an escape and a septet.
func gsmUnits(r rune) int {
	if data.IsEscapeChar(r) {
		return 2
	}
	return 1
}

// ucs2Units is how many UTF-16 code units r takes: those past the Basic
// Multilingual Plane are a surrogate pair.
func ucs2Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// split cuts s into chunks of at most part units each, or returns s whole
// when it fits in single units. It cuts between characters only, so an
// escape sequence or a surrogate pair is never split.
func split(s string, size func(rune) int, single, part int) []string {
	total := 0
	for _, r := range s {
		total += size(r)
	}
	if total <= single {
		return []string{s}
	}
	var chunks []string
	var b strings.Builder
	n := 0
	for _, r := range s {
		if u := size(r); n+u > part {
			chunks = append(chunks, b.String())
			b.Reset()
			n = 0
		}
		b.WriteRune(r)
		n += size(r)
	}
	return append(chunks, b.String())
}

// submits builds one submit_sm per part. Parts of a split text carry a
// concatenation header with reference ref and the UDH indicator.
func submits(src, dst pdu.Address, t text, ref byte) ([]*pdu.SubmitSM, error) {
	out := make([]*pdu.SubmitSM, len(t.parts))
	for i, b := range t.parts {
		// Each from NewSubmitSM, so each has its own sequence number;
		// gosmpp's own Split gives all parts the same one.
		p := pdu.NewSubmitSM().(*pdu.SubmitSM)
		p.SourceAddr = src
		p.DestAddr = dst
		p.RegisteredDelivery = data.SM_SMSC_RECEIPT_REQUESTED
		if err := p.Message.SetMessageDataWithEncoding(b, t.enc); err != nil {
			return nil, fmt.Errorf("part %d: %w", i+1, err)
		}
		if len(t.parts) > 1 {
			p.EsmClass |= data.SM_UDH_GSM
			p.Message.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(byte(len(t.parts)), byte(i+1), ref)})
		}
		out[i] = p
	}
	return out, nil
}

// destination reads an E.164 number, "+" and digits, into an
// international ISDN address without the "+".
func destination(s string) (pdu.Address, error) {
	if !e164.MatchString(s) {
		return pdu.Address{}, fmt.Errorf("destination %q is not a phone number in E.164 form (\"+\" and 2 to 15 digits)", s)
	}
	return pdu.NewAddressWithTonNpiAddr(data.GSM_TON_INTERNATIONAL, data.GSM_NPI_ISDN, s[1:])
}

// source reads the sourceAddr setting (checked by parseConfig): "+" and
// digits is international, digits alone of unknown type, anything else
// alphanumeric; empty leaves the choice to the SMSC.
func source(s string) (pdu.Address, error) {
	switch {
	case s == "":
		return pdu.NewAddress(), nil
	case e164.MatchString(s):
		return pdu.NewAddressWithTonNpiAddr(data.GSM_TON_INTERNATIONAL, data.GSM_NPI_ISDN, s[1:])
	case digits.MatchString(s):
		return pdu.NewAddressWithTonNpiAddr(data.GSM_TON_UNKNOWN, data.GSM_NPI_ISDN, s)
	default:
		return pdu.NewAddressWithTonNpiAddr(data.GSM_TON_ALPHANUMERIC, data.GSM_NPI_UNKNOWN, s)
	}
}
