package tc3_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/callgate/callgate/core/api"
	"github.com/callgate/callgate/core/secrets"
	"github.com/callgate/callgate/core/store"
	"github.com/callgate/callgate/core/tc3"
)

// fixture is a tc3 handler over a real store with one tenant, t1, whose
// app key is "key1".
type fixture struct {
	srv     *httptest.Server
	store   *store.Store
	now     time.Time // zero: the real clock
	limited bool
}

const (
	appKey = "key1"
	secret = "s3cret-of-key1"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	box, err := secrets.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.Context(), store.Options{Path: filepath.Join(t.TempDir(), "callgate.db"), Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppKey(ctx, "t1", appKey, secret); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s}
	log := slog.New(slog.DiscardHandler)
	h := tc3.New(tc3.Options{
		Keys:    s,
		Configs: api.NewConfigService(s, log),
		Limiter: f,
		Now: func() time.Time {
			if f.now.IsZero() {
				return time.Now()
			}
			return f.now
		},
	})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// Allow makes the fixture a tc3.Limiter that refuses everything once
// limited is set.
func (f *fixture) Allow(string) (time.Duration, bool) { return 1500 * time.Millisecond, !f.limited }

// sdk calls the handler with Tencent Cloud's Go SDK.
func (f *fixture) sdk(t *testing.T, id, key, service, version, action string, body any) error {
	t.Helper()
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = strings.TrimPrefix(f.srv.URL, "http://")
	prof.HttpProfile.Scheme = "http"
	client := common.NewCommonClient(common.NewCredential(id, key), "", prof)
	req := tchttp.NewCommonRequest(service, version, action)
	if err := req.SetActionParameters(body); err != nil {
		t.Fatal(err)
	}
	return client.Send(req, tchttp.NewCommonResponse())
}

func config(op int, url, key, token string) map[string]any {
	return map[string]any{
		"Operator":     map[string]any{"UserId": "u1"},
		"OperateType":  op,
		"CallbackInfo": map[string]any{"CallbackUrl": url, "CallbackKey": key, "CallbackToken": token},
	}
}

// code is the error code the SDK read from the answer, "" for none.
func code(t *testing.T, err error) (string, string) {
	t.Helper()
	if err == nil {
		return "", ""
	}
	var e *tcerr.TencentCloudSDKError
	if !errors.As(err, &e) {
		t.Fatalf("not an SDK error: %v", err)
	}
	if e.RequestId == "" {
		t.Errorf("%s answered without a RequestId", e.Code)
	}
	return e.Code, e.Message
}

func TestWithTheSDK(t *testing.T) {
	f := newFixture(t)
	const url = "https://hooks.example.com/ess"
	key32 := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name                  string
		id, key               string
		service, version, act string
		body                  any
		limited               bool
		wantCode, wantMessage string
	}{
		{name: "add", body: config(1, url, key32, "tok")},
		{name: "add_again_changes_nothing", body: config(1, url, key32, "other")},
		{name: "delete", body: config(2, url, "", "")},
		{name: "delete_missing", body: config(2, url, "", ""), wantCode: "FailedOperation", wantMessage: "当前配置不存在"},
		{name: "bad_key_length", body: config(1, url, "short", ""), wantCode: "InvalidParameterValue"},
		{name: "bad_operate_type", body: config(3, url, "", ""), wantCode: "InvalidParameterValue"},
		{name: "no_url", body: config(1, "", "", ""), wantCode: "InvalidParameter.ParamError"},
		{name: "operate_type_not_a_number", body: map[string]any{"OperateType": "1"}, wantCode: "InvalidParameter.ParamError"},
		{name: "another_organisation", body: map[string]any{
			"OperateType": 1, "CallbackInfo": map[string]any{"CallbackUrl": url},
			"Agent": map[string]any{"ProxyOrganizationId": "t2"},
		}, wantCode: "UnauthorizedOperation.NoPermissionFeature"},
		{name: "wrong_secret", key: "not-the-secret", body: config(1, url, "", ""), wantCode: tc3.CodeSignatureFailure},
		{name: "unknown_secret_id", id: "nobody", body: config(1, url, "", ""), wantCode: tc3.CodeSecretIDNotFound},
		{name: "unknown_action", act: "DescribeThings", body: config(1, url, "", ""), wantCode: tc3.CodeInvalidAction},
		{name: "wrong_version", version: "2020-11-12", body: config(1, url, "", ""), wantCode: tc3.CodeNoSuchVersion},
		{name: "wrong_service", service: "cvm", body: config(1, url, "", ""), wantCode: tc3.CodeInvalidAuthorization},
		{name: "over_the_limit", limited: true, body: config(1, url, "", ""), wantCode: tc3.CodeRequestLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, key, service, version, act := appKey, secret, tc3.Service, tc3.Version, tc3.Action
			for dst, v := range map[*string]string{&id: tc.id, &key: tc.key, &service: tc.service, &version: tc.version, &act: tc.act} {
				if v != "" {
					*dst = v
				}
			}
			f.limited = tc.limited
			defer func() { f.limited = false }()
			gotCode, gotMessage := code(t, f.sdk(t, id, key, service, version, act, tc.body))
			if gotCode != tc.wantCode || (tc.wantMessage != "" && gotMessage != tc.wantMessage) {
				t.Fatalf("answered %q %q, want %q %q", gotCode, gotMessage, tc.wantCode, tc.wantMessage)
			}
		})
	}
	cs, err := f.store.ListCallbackConfigs(context.Background(), "t1")
	if err != nil || len(cs) != 0 {
		t.Fatalf("configs left: %v %v", cs, err)
	}
}

// signed is a request signed by hand, following Tencent Cloud's signature
// v3 document step by step rather than the code under test.
type signed struct {
	id, key, service string
	at               time.Time
	body             string
	contentType      string
	signedHeaders    []string // default content-type and host
	header           map[string]string
	mutate           func(*http.Request)
}

func (s signed) do(t *testing.T, f *fixture) (code, message string, resp *http.Response) {
	t.Helper()
	u := f.srv.URL
	host := strings.TrimPrefix(u, "http://")
	req, err := http.NewRequest(http.MethodPost, u+"/", strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	if s.contentType == "" {
		s.contentType = "application/json; charset=utf-8"
	}
	if s.signedHeaders == nil {
		s.signedHeaders = []string{"content-type", "host"}
	}
	req.Header.Set("Content-Type", s.contentType)
	req.Header.Set("X-TC-Action", tc3.Action)
	req.Header.Set("X-TC-Version", tc3.Version)
	ts := strconv.FormatInt(s.at.Unix(), 10)
	req.Header.Set("X-TC-Timestamp", ts)
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	var canonicalHeaders strings.Builder
	for _, h := range s.signedHeaders {
		v := req.Header.Get(h)
		if h == "host" {
			v = host
		}
		fmt.Fprintf(&canonicalHeaders, "%s:%s\n", h, strings.ToLower(strings.TrimSpace(v)))
	}
	payload := sha256.Sum256([]byte(s.body))
	canonical := strings.Join([]string{"POST", "/", "", canonicalHeaders.String(),
		strings.Join(s.signedHeaders, ";"), hex.EncodeToString(payload[:])}, "\n")
	date := s.at.UTC().Format("2006-01-02")
	if s.service == "" {
		s.service = "ess"
	}
	scope := date + "/" + s.service + "/tc3_request"
	hashed := sha256.Sum256([]byte(canonical))
	toSign := "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	k := mac(mac(mac([]byte("TC3"+s.key), date), s.service), "tc3_request")
	req.Header.Set("Authorization", fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		s.id, scope, strings.Join(s.signedHeaders, ";"), hex.EncodeToString(mac(k, toSign))))
	if s.mutate != nil {
		s.mutate(req)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var answer struct {
		Response struct {
			Error *struct {
				Code, Message string
			}
			RequestID string `json:"RequestId"`
		}
	}
	if err := json.Unmarshal(raw, &answer); err != nil || answer.Response.RequestID == "" {
		t.Fatalf("answer %d %s: %v", resp.StatusCode, raw, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTP %d, want 200 as Tencent Cloud answers", resp.StatusCode)
	}
	if answer.Response.Error == nil {
		return "", "", resp
	}
	return answer.Response.Error.Code, answer.Response.Error.Message, resp
}

func TestSignedByHand(t *testing.T) {
	f := newFixture(t)
	now := time.Date(2026, 3, 4, 23, 59, 0, 0, time.UTC)
	f.now = now
	add := `{"OperateType":1,"CallbackInfo":{"CallbackUrl":"https://hooks.example.com/%s"}}`
	ok := func(path string) signed {
		return signed{id: appKey, key: secret, at: now, body: fmt.Sprintf(add, path)}
	}
	for _, tc := range []struct {
		name string
		req  signed
		want string
	}{
		{"valid", ok("a"), ""},
		{"more_signed_headers", func() signed {
			s := ok("b")
			s.signedHeaders = []string{"content-type", "host", "x-tc-action"}
			return s
		}(), ""},
		{"header_values_are_lowered", func() signed {
			s := ok("c")
			s.contentType = "Application/JSON"
			return s
		}(), ""},
		{"four_minutes_late", func() signed { s := ok("d"); s.at = now.Add(-4 * time.Minute); return s }(), ""},
		{"six_minutes_old", func() signed { s := ok("e"); s.at = now.Add(-6 * time.Minute); return s }(), tc3.CodeSignatureExpire},
		{"six_minutes_ahead", func() signed { s := ok("e"); s.at = now.Add(6 * time.Minute); return s }(), tc3.CodeSignatureExpire},
		{"wrong_secret_and_old", func() signed { s := ok("e"); s.key = "x"; s.at = now.Add(-time.Hour); return s }(), tc3.CodeSignatureExpire},
		{"body_changed", func() signed {
			s := ok("f")
			s.mutate = func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(fmt.Sprintf(add, "g"))) }
			return s
		}(), tc3.CodeSignatureFailure},
		{"signed_header_changed", func() signed {
			s := ok("f")
			s.signedHeaders = []string{"content-type", "host", "x-tc-action"}
			s.mutate = func(r *http.Request) { r.Header.Set("X-TC-Action", "DescribeThings") }
			return s
		}(), tc3.CodeSignatureFailure},
		{"timestamp_changed", func() signed {
			s := ok("f")
			s.mutate = func(r *http.Request) {
				r.Header.Set("X-TC-Timestamp", strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10))
			}
			return s
		}(), tc3.CodeSignatureFailure},
		{"unsigned_payload", func() signed {
			s := ok("f")
			s.header = map[string]string{"X-TC-Content-SHA256": "UNSIGNED-PAYLOAD"}
			return s
		}(), tc3.CodeSignatureFailure},
		{"host_not_signed", func() signed { s := ok("f"); s.signedHeaders = []string{"content-type"}; return s }(), tc3.CodeInvalidAuthorization},
		{"no_timestamp", func() signed {
			s := ok("f")
			s.mutate = func(r *http.Request) { r.Header.Del("X-TC-Timestamp") }
			return s
		}(), tc3.CodeMissingParameter},
		{"malformed_json", func() signed { s := ok("f"); s.body = `{"OperateType":1,`; return s }(), "InvalidParameter.ParamError"},
		{"empty_body", func() signed { s := ok("f"); s.body = ``; return s }(), "InvalidParameter.ParamError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, msg, _ := tc.req.do(t, f); got != tc.want {
				t.Fatalf("answered %q (%s), want %q", got, msg, tc.want)
			}
		})
	}
}

func TestGarbledAuthorization(t *testing.T) {
	f := newFixture(t)
	sig := strings.Repeat("ab", 32)
	for _, v := range []string{
		"",
		"Bearer " + secret,
		"TC3-HMAC-SHA1 Credential=key1/2026-01-01/ess/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
		"TC3-HMAC-SHA256",
		"TC3-HMAC-SHA256 Credential=key1/2026-01-01/ess/tc3_request, SignedHeaders=content-type;host",
		"TC3-HMAC-SHA256 Credential=key1/2026-01-01/ess, SignedHeaders=content-type;host, Signature=" + sig,
		"TC3-HMAC-SHA256 Credential=key1/26-01-01/ess/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
		"TC3-HMAC-SHA256 Credential=key1/2026-01-01/ess/tc3_request, SignedHeaders=Content-Type;Host, Signature=" + sig,
		"TC3-HMAC-SHA256 Credential=key1/2026-01-01/ess/tc3_request, SignedHeaders=content-type;host, Signature=xyz",
		"TC3-HMAC-SHA256 Credential=key1/2026-01-01/ess/tc3_request, SignedHeaders=content-type;host, Signature=" + sig + ", Extra=1",
		"TC3-HMAC-SHA256 Credential=key1/2026-01-01/ess/tc3_request, Credential=key2/2026-01-01/ess/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
	} {
		s := signed{id: appKey, key: secret, at: time.Now(), body: `{}`, mutate: func(r *http.Request) {
			if v == "" {
				r.Header.Del("Authorization")
			} else {
				r.Header.Set("Authorization", v)
			}
		}}
		if got, msg, _ := s.do(t, f); got != tc3.CodeInvalidAuthorization {
			t.Errorf("Authorization %q: answered %q (%s), want %s", v, got, msg, tc3.CodeInvalidAuthorization)
		}
	}
}

func TestRetryAfterWhenLimited(t *testing.T) {
	f := newFixture(t)
	f.limited = true
	got, _, resp := signed{id: appKey, key: secret, at: time.Now(), body: `{}`}.do(t, f)
	if got != tc3.CodeRequestLimitExceeded || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("answered %q with Retry-After %q", got, resp.Header.Get("Retry-After"))
	}
}
