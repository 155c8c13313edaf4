package main

import (
	"strings"
	"unicode/utf8"

	"github.com/callgate/callgate/sdk/rule"
)

// route sends the content as the body of one e-mail. The messages name the
// parameter in the seed's words (参数…不能为空) and in English.
func route(in *rule.Input) (*rule.Decision, error) {
	ext := in.Properties.Ext
	to := strings.TrimSpace(ext["destination"])
	if to == "" {
		return nil, rule.Reject(rule.CodeParamError, "参数destination不能为空 (destination is required)")
	}
	if !validAddress(to) {
		return nil, rule.Reject(rule.CodeInvalidValue,
			"参数destination不是有效的邮箱地址 (destination is not a valid e-mail address)")
	}
	subject := strings.TrimSpace(ext["subject"])
	if subject == "" {
		return nil, rule.Reject(rule.CodeParamError, "参数subject不能为空 (subject is required)")
	}
	if strings.ContainsAny(subject, "\r\n") {
		// A line break would end the Subject header and start another.
		return nil, rule.Reject(rule.CodeInvalidValue, "参数subject不能换行 (subject must be one line)")
	}
	d := rule.Delivery{Channel: "email", Destination: to, Subject: subject, Body: in.Content}
	if link := strings.TrimSpace(ext["attachment"]); link != "" {
		name, ok := fileName(link)
		if !ok {
			return nil, rule.Reject(rule.CodeInvalidValue,
				"参数attachment不是有效的链接 (attachment is not an http or https URL)")
		}
		d.Attachments = []rule.Attachment{{FileName: name, URL: link}}
	}
	return &rule.Decision{Deliveries: []rule.Delivery{d}}, nil
}

// validAddress reports whether s is a plain address, local@domain, as
// RFC 5321 allows it in practice: a dot-atom local part (UTF-8 allowed, as
// RFC 6531 does) and a domain of at least two labels. Display names,
// quoted local parts and address literals are refused: a destination is
// one mailbox.
func validAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || len(s) > 254 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !dotAtom(local, isAtext) {
		return false
	}
	if len(domain) > 253 || !strings.Contains(domain, ".") || !dotAtom(domain, isLabelChar) {
		return false
	}
	for label := range strings.SplitSeq(domain, ".") {
		if len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}

// dotAtom reports whether s is non-empty parts of allowed characters
// joined by single dots.
func dotAtom(s string, allowed func(rune) bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !allowed(r) {
			return false
		}
	}
	return true
}

// isAtext reports whether r may appear in a dot-atom local part.
func isAtext(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	case r >= 0x80:
		return r != 0xFFFD && r > 0x9f // UTF-8 letters, not C1 controls or bad bytes
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// isLabelChar reports whether r may appear in a domain label.
func isLabelChar(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-':
		return true
	}
	return r > 0x9f && r != 0xFFFD // internationalized domain names
}

// fileName returns the name an attachment gets: the last segment of the
// link's path, percent-decoded, or "attachment" when that is empty or not
// a usable name. ok is false unless link is an absolute http or https URL
// with a host, no spaces or control characters, and valid %-escapes.
//
// It parses by hand because net/url would bring fmt with it, adding about
// a megabyte to the module.
func fileName(link string) (name string, ok bool) {
	rest, ok := cutScheme(link)
	if !ok || strings.IndexFunc(link, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", false
	}
	host, p := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, p = rest[:i], rest[i:]
	}
	if host == "" || host[0] == '@' || host[0] == ':' {
		return "", false
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	name, ok = percentDecode(p[strings.LastIndexByte(p, '/')+1:])
	if !ok {
		return "", false
	}
	if name == "" || name == "." || name == ".." || !utf8.ValidString(name) ||
		strings.IndexFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f || r == '/' || r == '\\' }) >= 0 {
		name = "attachment"
	}
	return name, true
}

// cutScheme returns what follows "http://" or "https://", in any case.
func cutScheme(link string) (string, bool) {
	for _, scheme := range []string{"http://", "https://"} {
		if len(link) >= len(scheme) && strings.EqualFold(link[:len(scheme)], scheme) {
			return link[len(scheme):], true
		}
	}
	return "", false
}

// percentDecode decodes %XX escapes; ok is false for a malformed one.
func percentDecode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
