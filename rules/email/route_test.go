package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestRoute(t *testing.T) {
	input := func(content string, ext map[string]string) rule.Input {
		return rule.Input{Content: content, Properties: rule.Properties{Rule: "email", Ext: ext}}
	}
	reject := func(code, msg string) *rule.Decision {
		return &rule.Decision{Reject: &rule.Rejection{Code: code, Message: msg}}
	}
	tests := []struct {
		name string
		in   rule.Input
		want *rule.Decision
	}{
		{
			name: "mail",
			in:   input("Your invoice is ready.", map[string]string{"destination": " ops@example.com ", "subject": "Invoice"}),
			want: &rule.Decision{Deliveries: []rule.Delivery{{
				Channel: "email", Destination: "ops@example.com", Subject: "Invoice", Body: "Your invoice is ready.",
			}}},
		},
		{
			name: "attachment_named_from_path",
			in: input("see attached", map[string]string{"destination": "a.b+tag@mail.example.cn", "subject": "发票",
				"attachment": "https://files.example.com/2026/%E5%8F%91%E7%A5%A8%201.pdf?sig=abc#x"}),
			want: &rule.Decision{Deliveries: []rule.Delivery{{
				Channel: "email", Destination: "a.b+tag@mail.example.cn", Subject: "发票", Body: "see attached",
				Attachments: []rule.Attachment{{FileName: "发票 1.pdf",
					URL: "https://files.example.com/2026/%E5%8F%91%E7%A5%A8%201.pdf?sig=abc#x"}},
			}}},
		},
		{
			name: "attachment_without_a_name",
			in:   input("", map[string]string{"destination": "a@b.co", "subject": "s", "attachment": "http://files.example.com/"}),
			want: &rule.Decision{Deliveries: []rule.Delivery{{
				Channel: "email", Destination: "a@b.co", Subject: "s",
				Attachments: []rule.Attachment{{FileName: "attachment", URL: "http://files.example.com/"}},
			}}},
		},
		{
			name: "no_destination",
			in:   input("x", map[string]string{"subject": "s"}),
			want: reject(rule.CodeParamError, "参数destination不能为空 (destination is required)"),
		},
		{
			name: "no_ext",
			in:   input("x", nil),
			want: reject(rule.CodeParamError, "参数destination不能为空 (destination is required)"),
		},
		{
			name: "bad_destination",
			in:   input("x", map[string]string{"destination": "not-an-address", "subject": "s"}),
			want: reject(rule.CodeInvalidValue, "参数destination不是有效的邮箱地址 (destination is not a valid e-mail address)"),
		},
		{
			name: "no_subject",
			in:   input("x", map[string]string{"destination": "a@b.co", "subject": "  "}),
			want: reject(rule.CodeParamError, "参数subject不能为空 (subject is required)"),
		},
		{
			name: "subject_with_a_line_break",
			in:   input("x", map[string]string{"destination": "a@b.co", "subject": "hi\r\nBcc: x@y.z"}),
			want: reject(rule.CodeInvalidValue, "参数subject不能换行 (subject must be one line)"),
		},
		{
			name: "attachment_not_a_link",
			in:   input("x", map[string]string{"destination": "a@b.co", "subject": "s", "attachment": "file:///etc/passwd"}),
			want: reject(rule.CodeInvalidValue, "参数attachment不是有效的链接 (attachment is not an http or https URL)"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rule.RouteFunc(route).Decide(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("route\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestValidAddress(t *testing.T) {
	good := []string{"a@b.co", "first.last@example.com", "x+tag@sub.example.org", "o'neil@example.ie",
		"用户@例子.中国", "a@xn--fsqu00a.xn--fiqs8s", "1234567890@qq.com", strings.Repeat("a", 64) + "@b.co"}
	bad := []string{"", "a", "@b.co", "a@", "a@b", "a@@b.co", "a b@c.co", ".a@b.co", "a.@b.co", "a..b@c.co",
		"a@.b.co", "a@b..co", "a@-b.co", "a@b-.co", "Name <a@b.co>", "\"q\"@b.co", "a@[127.0.0.1]",
		"a,b@c.co", "a@b.co\n", strings.Repeat("a", 65) + "@b.co", "a@" + strings.Repeat("b", 64) + ".co", "a\xff@b.co"}
	for _, s := range good {
		if !validAddress(s) {
			t.Errorf("validAddress(%q) = false", s)
		}
	}
	for _, s := range bad {
		if validAddress(s) {
			t.Errorf("validAddress(%q) = true", s)
		}
	}
}

func TestFileName(t *testing.T) {
	tests := []struct {
		link string
		want string
		ok   bool
	}{
		{"https://files.example.com/a/invoice.pdf", "invoice.pdf", true},
		{"HTTP://files.example.com/a/%E5%8F%91%E7%A5%A8.pdf?x=/y.pdf#z", "发票.pdf", true},
		{"https://files.example.com", "attachment", true},
		{"https://files.example.com?name=a.pdf", "attachment", true},
		{"https://files.example.com/dir/", "attachment", true},
		{"https://files.example.com/..", "attachment", true},
		{"https://files.example.com/a%2Fb", "attachment", true},
		{"https://files.example.com/%00x", "attachment", true},
		{"https://files.example.com/%ff", "attachment", true},
		{"https://user@files.example.com:8443/r.csv", "r.csv", true},
		{"https://files.example.com/%zz", "", false},
		{"https://files.example.com/a%2", "", false},
		{"https:///a.pdf", "", false},
		{"https://@/a.pdf", "", false},
		{"https://files.example.com/a b.pdf", "", false},
		{"https://files.example.com/a.pdf\r\n", "", false},
		{"ftp://files.example.com/a.pdf", "", false},
		{"//files.example.com/a.pdf", "", false},
		{"files.example.com/a.pdf", "", false},
	}
	for _, tt := range tests {
		name, ok := fileName(tt.link)
		if name != tt.want || ok != tt.ok {
			t.Errorf("fileName(%q) = %q, %v; want %q, %v", tt.link, name, ok, tt.want, tt.ok)
		}
	}
}

func TestRoute_json(t *testing.T) {
	got := string(rule.RouteFunc(route).ServeJSON(nil, []byte(`{"abi":1,"content":"hello",`+
		`"properties":{"rule":"email","ext":{"destination":"ops@example.com","subject":"Hi","attachment":"https://x.example/a.pdf"}}}`)))
	want := `{"deliveries":[{"channel":"email","destination":"ops@example.com","body":"hello","subject":"Hi",` +
		`"attachments":[{"fileName":"a.pdf","url":"https://x.example/a.pdf"}]}]}`
	if got != want {
		t.Errorf("ServeJSON\n got %s\nwant %s", got, want)
	}
}
