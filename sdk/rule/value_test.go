package rule_test

import (
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestParse(t *testing.T) {
	v, err := rule.Parse(`{
	    "CallbackCommand": "C2C.CallbackAfterSendMsg",
	    "From_Account": "jared",
	    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}],
	    "n": 42, "f": 1.5, "big": 1e3, "neg": -7, "huge": 1e400,
	    "ok": true, "no": false, "nothing": null,
	    "dup": 1, "dup": 2
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Kind(); got != rule.KindObject {
		t.Fatalf("Kind = %v", got)
	}
	if text, ok := v.Get("MsgBody").Index(0).Get("MsgContent").Get("Text").Text(); !ok || text != "red packet" {
		t.Errorf("MsgBody[0].MsgContent.Text = %q, %v", text, ok)
	}
	if got := v.Get("MsgBody").Len(); got != 1 {
		t.Errorf("MsgBody.Len = %d", got)
	}
	ints := []struct {
		name string
		want int64
		ok   bool
	}{
		{"n", 42, true}, {"big", 1000, true}, {"neg", -7, true}, {"dup", 2, true},
		{"f", 0, false}, {"huge", 0, false}, {"ok", 0, false}, {"missing", 0, false},
	}
	for _, tt := range ints {
		if got, ok := v.Get(tt.name).Int(); got != tt.want || ok != tt.ok {
			t.Errorf("%s.Int() = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if f, ok := v.Get("f").Float(); !ok || f != 1.5 {
		t.Errorf("f.Float() = %v, %v", f, ok)
	}
	if _, ok := v.Get("huge").Float(); ok {
		t.Error("huge.Float() ok, want out of range")
	}
	if lit, ok := v.Get("big").Number(); !ok || lit != "1e3" {
		t.Errorf("big.Number() = %q, %v", lit, ok)
	}
	if b, ok := v.Get("ok").Bool(); !ok || !b {
		t.Errorf("ok.Bool() = %v, %v", b, ok)
	}
	if !v.Get("nothing").IsNull() || !v.Get("nothing").Exists() {
		t.Error("nothing is not an existing null")
	}
	missing := v.Get("nope").Get("deeper").Index(3)
	if missing.Exists() || missing.Kind() != rule.KindMissing || missing.String() != "" {
		t.Errorf("a chain through missing values = %v", missing.Kind())
	}
	if text, ok := v.Get("n").Text(); ok || text != "" {
		t.Errorf("a number's Text() = %q, %v", text, ok)
	}
	if lit, ok := v.Get("MsgBody").Number(); ok || lit != "" {
		t.Errorf("an array's Number() = %q, %v", lit, ok)
	}
}

func TestValue_AppendJSON(t *testing.T) {
	in := `{"a":[1,-2.50,3e+2,"x\u00e9\n"],"b":{"c":null,"d":true,"e":false},"a":{}}`
	v, err := rule.Parse(" \n" + in + "\t")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":[1,-2.50,3e+2,"xé\n"],"b":{"c":null,"d":true,"e":false},"a":{}}`
	if got := v.String(); got != want {
		t.Errorf("String()\n got %s\nwant %s", got, want)
	}
}

func TestValid(t *testing.T) {
	for _, s := range []string{`{}`, `[]`, `"x"`, `1`, `-0.5e-7`, `true`, ` null `, `{"a":[{"b":[]}]}`} {
		if !rule.Valid(s) {
			t.Errorf("Valid(%s) = false", s)
		}
	}
	for _, s := range []string{``, `{`, `{"a"}`, `[1 2]`, `01`, `1.`, `.5`, `+1`, `"\q"`, `hello`, `{} x`, `'a'`} {
		if rule.Valid(s) {
			t.Errorf("Valid(%s) = true", s)
		}
	}
}

func TestKind_String(t *testing.T) {
	if got := rule.KindObject.String(); got != "object" {
		t.Errorf("KindObject.String() = %q", got)
	}
	if got := rule.Kind(42).String(); got != "Kind(42)" {
		t.Errorf("Kind(42).String() = %q", got)
	}
}
