package tc3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Algorithm is the signature method served: Tencent Cloud's signature v3.
const Algorithm = "TC3-HMAC-SHA256"

// scopeTerminator ends every credential scope.
const scopeTerminator = "tc3_request"

// authorization is a parsed "Authorization: TC3-HMAC-SHA256 ..." header:
//
//	TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=content-type;host, Signature=<hex>
type authorization struct {
	SecretID      string
	Date          string // the credential scope's UTC date, 2006-01-02
	Service       string
	SignedHeaders []string // lower case, in the order signed
	Signature     []byte
}

// scope is the credential scope the string to sign names.
func (a authorization) scope() string {
	return a.Date + "/" + a.Service + "/" + scopeTerminator
}

// parseAuthorization reads an Authorization header. Its errors say what
// is wrong in words fit for the caller.
func parseAuthorization(v string) (authorization, error) {
	var a authorization
	alg, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || alg != Algorithm {
		return a, errors.New("the Authorization header must start with " + Algorithm)
	}
	var credential, signedHeaders, signature string
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, errors.New("the Authorization header has a part that is not name=value")
		}
		var dst *string
		switch k {
		case "Credential":
			dst = &credential
		case "SignedHeaders":
			dst = &signedHeaders
		case "Signature":
			dst = &signature
		default:
			return a, errors.New("the Authorization header has an unknown part " + quote(k))
		}
		if *dst != "" {
			return a, errors.New("the Authorization header repeats " + k)
		}
		*dst = val
	}
	if credential == "" || signedHeaders == "" || signature == "" {
		return a, errors.New("the Authorization header needs Credential, SignedHeaders and Signature")
	}

	parts := strings.Split(credential, "/")
	if len(parts) != 4 || parts[0] == "" || parts[2] == "" || parts[3] != scopeTerminator {
		return a, errors.New("the Credential must be <SecretId>/<date>/<service>/" + scopeTerminator)
	}
	if _, err := time.Parse(time.DateOnly, parts[1]); err != nil {
		return a, errors.New("the Credential's date must be YYYY-MM-DD")
	}
	a.SecretID, a.Date, a.Service = parts[0], parts[1], parts[2]

	for h := range strings.SplitSeq(signedHeaders, ";") {
		if !isHeaderName(h) {
			return a, errors.New("the SignedHeaders must be lower-case header names separated by ';'")
		}
		a.SignedHeaders = append(a.SignedHeaders, h)
	}
	hasHost, hasType := false, false
	for _, h := range a.SignedHeaders {
		hasHost = hasHost || h == "host"
		hasType = hasType || h == "content-type"
	}
	if !hasHost || !hasType {
		return a, errors.New("the SignedHeaders must include content-type and host")
	}

	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size {
		return a, errors.New("the Signature must be 64 hexadecimal digits")
	}
	a.Signature = sig
	return a, nil
}

func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "`" + s + "`"
}

// canonicalRequest is the request as signed: the method, the URI (always
// "/"), the query (empty for POST), the signed headers, lower case and
// trimmed as "name:value\n", their names, and the payload's SHA-256.
func canonicalRequest(r *http.Request, signed []string, payload []byte) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteString("\n/\n")
	if r.Method != http.MethodPost {
		b.WriteString(r.URL.RawQuery)
	}
	b.WriteByte('\n')
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			// Go moves the Host header (HTTP/2's :authority) out of Header.
			v = r.Host
		}
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(strings.ToLower(strings.TrimSpace(v)))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	sum := sha256.Sum256(payload)
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

// stringToSign names the algorithm, the request time, the credential scope
// and the canonical request's hash.
func stringToSign(timestamp, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return Algorithm + "\n" + timestamp + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the day's key for a service from the secret key:
// HMAC("TC3"+secret, date), then the service, then "tc3_request".
func signingKey(secretKey, date, service string) []byte {
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

// expectedSignature is what a signs r with secretKey should be.
func expectedSignature(secretKey string, a authorization, timestamp string, r *http.Request, payload []byte) []byte {
	canonical := canonicalRequest(r, a.SignedHeaders, payload)
	return hmacSHA256(signingKey(secretKey, a.Date, a.Service), stringToSign(timestamp, a.scope(), canonical))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// hmacEqual compares signatures in constant time.
func hmacEqual(a, b []byte) bool { return hmac.Equal(a, b) }
