package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock before [Verify] refuses it; [Verify] uses it when given
// a tolerance of zero or less.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks secret given as base64.
const secretPrefix = "whsec_"

// Errors [Verify] and [VerifyContentSignature] return, wrapped.
var (
	// ErrMissingHeader means a header needed for verification is empty.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrBadTimestamp means webhook-timestamp is not a number of seconds
	// or is too far from now; a replayed request looks like this.
	ErrBadTimestamp = errors.New("webhook: bad timestamp")
	// ErrNoMatchingSignature means no signature offered matches the body.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// secret turns a token into the HMAC key. A token that starts with
// "whsec_" but whose rest is not valid base64 is used as plain bytes like
// any other token, so that signing never fails at send time; the gateway
// rejects such tokens when they are configured.
func secret(token string) []byte {
	if rest, ok := strings.CutPrefix(token, secretPrefix); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return key
		}
	}
	return []byte(token)
}

// signature returns the raw Standard Webhooks MAC of one message.
func signature(token, id string, timestamp int64, body []byte) []byte {
	mac := hmac.New(sha256.New, secret(token))
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the webhook-signature header value for a message: "v1,"
// and the standard base64 of HMAC-SHA256 over "<id>.<timestamp>.<body>".
// The key is the token base64-decoded after its "whsec_" prefix when it
// has one, else the token's bytes.
func Sign(token, id string, timestamp int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(signature(token, id, timestamp, body))
}

// Verify checks a Standard Webhooks request: the timestamp must be within
// tolerance of now (DefaultTolerance when tolerance <= 0), and at least one
// of the space-separated "v1,<base64>" signatures in signatureHeader must
// match. Signatures of other versions are skipped, so a sender may add new
// schemes beside v1 without breaking older receivers.
func Verify(token, id, timestampHeader, signatureHeader string, body []byte, tolerance time.Duration, now time.Time) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderID)
	case timestampHeader == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderTimestamp)
	case signatureHeader == "":
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
	}
	ts, err := strconv.ParseInt(timestampHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrBadTimestamp, timestampHeader)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(ts, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: %s off, tolerance %s", ErrBadTimestamp, skew.Round(time.Second), tolerance)
	}
	want := signature(token, id, ts, body)
	for field := range strings.FieldsSeq(signatureHeader) {
		version, sig, ok := strings.Cut(field, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// ContentSignature returns the ESS Content-Signature header value for a
// body: "sha256=" and the hex HMAC-SHA256 of the body keyed with the
// token's UTF-8 bytes (never base64-decoded, unlike [Sign]).
func ContentSignature(token string, body []byte) string {
	return "sha256=" + hex.EncodeToString(contentMAC(token, body))
}

func contentMAC(token string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyContentSignature checks a Content-Signature header value against
// the body, in constant time. Hex digits may be in either case.
func VerifyContentSignature(token, signatureHeader string, body []byte) error {
	if signatureHeader == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderContentSignature)
	}
	algo, sig, ok := strings.Cut(strings.TrimSpace(signatureHeader), "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return fmt.Errorf("%w: %s is not sha256=<hex>", ErrNoMatchingSignature, HeaderContentSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrNoMatchingSignature, HeaderContentSignature)
	}
	if !hmac.Equal(got, contentMAC(token, body)) {
		return ErrNoMatchingSignature
	}
	return nil
}
