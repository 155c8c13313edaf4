package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/sdk/webhook"
)

// mac is HMAC-SHA256 written out in the test so that the expected values
// do not come from the code under test.
func mac(key []byte, parts ...string) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

func TestSign_known_answer(t *testing.T) {
	rawSecret := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name  string
		token string
		key   []byte
		id    string
		ts    int64
		body  string
	}{
		{name: "plain_token", token: "s3cret", key: []byte("s3cret"), id: "msg_1", ts: 1700000000, body: `{"a":1}`},
		{name: "whsec_token", token: "whsec_" + base64.StdEncoding.EncodeToString(rawSecret), key: rawSecret, id: "msg_2", ts: 1614265330, body: `{"test": 2432232314}`},
		{name: "whsec_not_base64_is_plain", token: "whsec_!!", key: []byte("whsec_!!"), id: "x", ts: 1, body: "b"},
		{name: "empty_body", token: "t", key: []byte("t"), id: "id", ts: 0, body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := mac(tt.key, tt.id, ".", strconv.FormatInt(tt.ts, 10), ".", tt.body)
			want := "v1," + base64.StdEncoding.EncodeToString(sum)
			if got := webhook.Sign(tt.token, tt.id, tt.ts, []byte(tt.body)); got != want {
				t.Fatalf("Sign = %q, want %q", got, want)
			}
		})
	}
}

// TestSign_standard_webhooks_vector checks the example published with the
// Standard Webhooks specification, so that we agree with other senders and
// receivers, not only with ourselves.
func TestSign_standard_webhooks_vector(t *testing.T) {
	got := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	const token, id = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1"
	body := []byte(`{"event":"delivered"}`)
	now := time.Unix(1700000000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := webhook.Sign(token, id, now.Unix(), body)
	other := webhook.Sign("whsec_b3RoZXI=", id, now.Unix(), body)

	tests := []struct {
		name      string
		token, id string
		ts, sig   string
		body      []byte
		tolerance time.Duration
		wantErr   error
	}{
		{name: "ok", token: token, id: id, ts: ts, sig: good, body: body},
		{name: "ok_among_several", token: token, id: id, ts: ts, sig: other + " v2,abc " + good, body: body},
		{name: "ok_at_tolerance_edge", token: token, id: id, ts: strconv.FormatInt(now.Unix()-60, 10), sig: webhook.Sign(token, id, now.Unix()-60, body), body: body, tolerance: time.Minute},
		{name: "tampered_body", token: token, id: id, ts: ts, sig: good, body: []byte(`{"event":"failed"}`), wantErr: webhook.ErrNoMatchingSignature},
		{name: "tampered_id", token: token, id: "msg_2", ts: ts, sig: good, body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "wrong_token", token: "whsec_d3Jvbmc=", id: id, ts: ts, sig: good, body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "only_other_versions", token: token, id: id, ts: ts, sig: strings.Replace(good, "v1,", "v1a,", 1), body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "garbage_signature", token: token, id: id, ts: ts, sig: "v1,%%%", body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "timestamp_too_old", token: token, id: id, ts: strconv.FormatInt(now.Unix()-301, 10), sig: webhook.Sign(token, id, now.Unix()-301, body), body: body, wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp_in_future", token: token, id: id, ts: strconv.FormatInt(now.Unix()+61, 10), sig: webhook.Sign(token, id, now.Unix()+61, body), body: body, tolerance: time.Minute, wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp_not_a_number", token: token, id: id, ts: "yesterday", sig: good, body: body, wantErr: webhook.ErrBadTimestamp},
		{name: "timestamp_signed_differs", token: token, id: id, ts: strconv.FormatInt(now.Unix()+1, 10), sig: good, body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "missing_id", token: token, ts: ts, sig: good, body: body, wantErr: webhook.ErrMissingHeader},
		{name: "missing_timestamp", token: token, id: id, sig: good, body: body, wantErr: webhook.ErrMissingHeader},
		{name: "missing_signature", token: token, id: id, ts: ts, body: body, wantErr: webhook.ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.token, tt.id, tt.ts, tt.sig, tt.body, tt.tolerance, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestContentSignature_known_answer(t *testing.T) {
	tests := []struct {
		name, token, body string
	}{
		{name: "json", token: "ess-token", body: `{"MsgId":"1"}`},
		// The ESS key is the token's bytes even when it looks like a
		// Standard Webhooks secret.
		{name: "whsec_is_not_decoded", token: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", body: "x"},
		{name: "empty_body", token: "t", body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := "sha256=" + hex.EncodeToString(mac([]byte(tt.token), tt.body))
			if got := webhook.ContentSignature(tt.token, []byte(tt.body)); got != want {
				t.Fatalf("ContentSignature = %q, want %q", got, want)
			}
		})
	}
}

func TestVerifyContentSignature(t *testing.T) {
	const token = "ess-token"
	body := []byte(`{"MsgId":"1"}`)
	good := webhook.ContentSignature(token, body)
	tests := []struct {
		name, token, sig string
		body             []byte
		wantErr          error
	}{
		{name: "ok", token: token, sig: good, body: body},
		{name: "ok_upper_case", token: token, sig: "SHA256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body: body},
		{name: "tampered_body", token: token, sig: good, body: []byte(`{"MsgId":"2"}`), wantErr: webhook.ErrNoMatchingSignature},
		{name: "wrong_token", token: "other", sig: good, body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "other_algorithm", token: token, sig: strings.Replace(good, "sha256", "sha1", 1), body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "not_hex", token: token, sig: "sha256=zz", body: body, wantErr: webhook.ErrNoMatchingSignature},
		{name: "missing", token: token, body: body, wantErr: webhook.ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhook.VerifyContentSignature(tt.token, tt.sig, tt.body); !errors.Is(err, tt.wantErr) {
				t.Fatalf("VerifyContentSignature = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
