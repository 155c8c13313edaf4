package rule

import (
	"reflect"
	"strings"
	"testing"
)

// TestCanonicalInput: what AppendInput writes is read on the fast path, to
// the same Input (and the same content JSON) as the general decoder reads;
// anything laid out otherwise falls back to the general decoder.
func TestCanonicalInput(t *testing.T) {
	inputs := []*Input{
		{},
		{TenantID: "demo", MessageID: "msg_01J9ZB6Q6F3W4K8Y2N5R7T1V0X", Rule: "http",
			Content:    `{"event_type":"order.paid","order":{"id":42,"amount":"19.90"}}`,
			Properties: Properties{AppKey: "demo", Rule: "http"},
			Configs: []Config{{ID: "cfg_a", URL: "https://a.example/hook", HasKey: true, HasToken: true},
				{ID: "cfg_b", URL: "https://b.example/hook?x=1"}}},
		{Content: "张三 \"q\" \\ / \b\f\n\r\t\x01 \u2028 <&> \xff", Properties: Properties{
			Ext: map[string]string{"destination": "a@b.c", "subject": "héllo \"you\"", "": ""}}},
		{Content: strings.Repeat("long plain text ", 40), Configs: make([]Config, 9)},
		{TenantID: "a-tenant-id-longer-than-sixteen", Rule: "r", Content: "x"},
	}
	for i, in := range inputs {
		data := AppendInput(nil, in)
		fast := newScanner(string(data))
		var fastIn Input
		fastJSON, ok := fast.canonicalInput(&fastIn, nil)
		if !ok {
			t.Errorf("input %d: %s is not read on the fast path", i, data)
			continue
		}
		general := newScanner(string(data))
		var generalIn Input
		generalJSON, err := general.input(&generalIn, nil)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if !reflect.DeepEqual(fastIn, generalIn) || fastJSON != generalJSON {
			t.Errorf("input %d: fast path read\n%#v %q\ngeneral decoder\n%#v %q", i, fastIn, fastJSON, generalIn, generalJSON)
		}
		// The content's JSON, when given, is what AppendQuote writes.
		if fastJSON != "" && fastJSON != string(AppendQuote(nil, fastIn.Content)) {
			t.Errorf("input %d: content JSON %s, AppendQuote writes %s", i, fastJSON, AppendQuote(nil, fastIn.Content))
		}
	}

	canonical := string(AppendInput(nil, inputs[1]))
	for _, tt := range []struct {
		text string
		fast bool
	}{
		{canonical + " \n", true},
		{" " + canonical, false},
		{strings.Replace(canonical, `"abi":1`, `"abi":2`, 1), false},
		{strings.Replace(canonical, `"tenantId":"demo"`, `"tenantId":null`, 1), false},
		{strings.Replace(canonical, `,"rule":"http","content"`, `,"rule":"http","extra":1,"content"`, 1), false},
		{strings.Replace(canonical, `"hasKey":true`, `"hasKey":1`, 1), false},
		{strings.Replace(canonical, `}]}`, `}],"more":[]}`, 1), false},
		{canonical[:len(canonical)-1], false},
	} {
		s := newScanner(tt.text)
		var in Input
		if _, ok := s.canonicalInput(&in, nil); ok != tt.fast {
			t.Errorf("%s: read on the fast path %v, want %v", tt.text, ok, tt.fast)
		}
		want, wantErr := refDecode(tt.text)
		got, err := DecodeInput([]byte(tt.text))
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeInput(%s) = %#v, %v; want %#v, %v", tt.text, got, err, want, wantErr)
		}
	}
}

// refDecode is the general decoder alone.
func refDecode(text string) (*Input, error) {
	s := newScanner(text)
	in := new(Input)
	if _, err := s.input(in, nil); err != nil {
		return nil, err
	}
	return in, s.end()
}

// TestLiterals: the fast path compares literals of up to 16 bytes, as two
// words.
func TestLiterals(t *testing.T) {
	for _, l := range []*literal{&litABI, &litTenantID, &litMessageID, &litRule, &litContent, &litProperties,
		&litAppKey, &litNoExt, &litExt, &litComma, &litColon, &litClose, &litConfigs, &litNoConfigs,
		&litFirstConfig, &litNextConfig, &litURL, &litHasKey, &litHasToken, &litTrue, &litFalse, &litEnd} {
		if len(l.text) == 0 || len(l.text) > 16 {
			t.Errorf("literal %q is %d bytes long", l.text, len(l.text))
		}
		s := newScanner(l.text + strings.Repeat(" ", 16))
		if !s.lit(l) || s.pos != len(l.text) {
			t.Errorf("literal %q does not match itself", l.text)
		}
		s = newScanner(l.text)
		if !s.lit(l) || s.pos != len(l.text) {
			t.Errorf("literal %q does not match itself at the end of the input", l.text)
		}
		wrong := []byte(l.text + strings.Repeat(" ", 16))
		wrong[len(l.text)-1] ^= 0x20
		if s := newScanner(string(wrong)); s.lit(l) {
			t.Errorf("literal %q matches %q", l.text, wrong)
		}
	}
}
