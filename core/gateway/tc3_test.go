package gateway_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/callgate/callgate/core/gateway"
)

// tc3Call calls ModifyApplicationCallbackInfo on the gateway with Tencent
// Cloud's own Go SDK, pointed at the gateway instead of
// ess.tencentcloudapi.com, and returns the error code and message it read
// ("" for success).
func tc3Call(t *testing.T, r *running, secretID, secretKey string, body map[string]any) (code, message string) {
	t.Helper()
	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = strings.TrimPrefix(r.base, "http://")
	prof.HttpProfile.Scheme = "http"
	client := common.NewCommonClient(common.NewCredential(secretID, secretKey), "", prof)
	req := tchttp.NewCommonRequest("ess", "2020-11-11", "ModifyApplicationCallbackInfo")
	if err := req.SetActionParameters(body); err != nil {
		t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	err := client.Send(req, resp)
	if err == nil {
		var ok struct{ Response struct{ RequestId string } }
		if jerr := json.Unmarshal(resp.GetBody(), &ok); jerr != nil || ok.Response.RequestId == "" {
			t.Fatalf("success without a RequestId: %s", resp.GetBody())
		}
		return "", ""
	}
	var e *tcerr.TencentCloudSDKError
	if !errors.As(err, &e) {
		t.Fatalf("call failed outside the API: %v", err)
	}
	if e.RequestId == "" {
		t.Errorf("error %s without a RequestId", e.Code)
	}
	return e.Code, e.Message
}

func tc3Body(operateType int, url, key, token string) map[string]any {
	return map[string]any{
		"Operator":     map[string]any{"UserId": "tc3-test"},
		"OperateType":  operateType,
		"CallbackInfo": map[string]any{"CallbackUrl": url, "CallbackKey": key, "CallbackToken": token},
	}
}

// tc3SignedByHand posts body signed as Tencent Cloud's signature v3
// document describes, at the given time, and returns the error code.
func tc3SignedByHand(t *testing.T, r *running, secretID, secretKey string, at time.Time, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.base+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(r.base, "http://")
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", "ModifyApplicationCallbackInfo")
	req.Header.Set("X-TC-Version", "2020-11-11")
	req.Header.Set("X-TC-Timestamp", ts)
	payload := sha256.Sum256([]byte(body))
	canonical := "POST\n/\n\ncontent-type:application/json\nhost:" + host + "\n\ncontent-type;host\n" + hex.EncodeToString(payload[:])
	date := at.UTC().Format("2006-01-02")
	scope := date + "/ess/tc3_request"
	hashed := sha256.Sum256([]byte(canonical))
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	key := mac(mac(mac([]byte("TC3"+secretKey), date), "ess"), "tc3_request")
	sig := mac(key, "TC3-HMAC-SHA256\n"+ts+"\n"+scope+"\n"+hex.EncodeToString(hashed[:]))
	req.Header.Set("Authorization", fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%x",
		secretID, scope, sig))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var answer struct {
		Response struct {
			Error     struct{ Code string }
			RequestId string
		}
	}
	if err := json.Unmarshal(raw, &answer); err != nil || resp.StatusCode != http.StatusOK || answer.Response.RequestId == "" {
		t.Fatalf("answer %d %s: %v", resp.StatusCode, raw, err)
	}
	return answer.Response.Error.Code
}

// TestTC3 changes callback configs the way a client of Tencent Cloud's
// e-sign API does, with its SDK, only pointed at the gateway.
func TestTC3(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	const url = "http://127.0.0.1:9/tc3-hook"
	key := strings.Repeat("k", 32)
	steps := []struct {
		name                  string
		secret                string
		body                  map[string]any
		wantCode, wantMessage string
	}{
		{name: "add", body: tc3Body(1, url, key, "tok")},
		{name: "add_again_changes_nothing", body: tc3Body(1, url, key, "tok")},
		{name: "delete", body: tc3Body(2, url, "", "")},
		{name: "delete_missing", body: tc3Body(2, url, "", ""), wantCode: "FailedOperation", wantMessage: "当前配置不存在"},
		{name: "bad_key_length", body: tc3Body(1, url, "0123456789abcdef", ""), wantCode: "InvalidParameterValue"},
		{name: "wrong_secret", secret: "not-" + gateway.DevSecret, body: tc3Body(1, url, "", ""), wantCode: "AuthFailure.SignatureFailure"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			secret := gateway.DevSecret
			if s.secret != "" {
				secret = s.secret
			}
			code, msg := tc3Call(t, r, gateway.DevAppKey, secret, s.body)
			if code != s.wantCode || (s.wantMessage != "" && msg != s.wantMessage) {
				t.Fatalf("answered %q %q, want %q %q", code, msg, s.wantCode, s.wantMessage)
			}
			if s.name == "add" {
				// The config is the one ConfigService shows.
				status, list := post(t, http.DefaultClient, r.base+"/callgate.v1.ConfigService/ListCallbackConfigs", gateway.DevSecret, `{}`)
				if status != http.StatusOK || !strings.Contains(list, url) || !strings.Contains(list, `"hasCallbackKey":true`) {
					t.Fatalf("configs after the TC3 add: %d %s", status, list)
				}
			}
		})
	}

	t.Run("unknown_secret_id", func(t *testing.T) {
		if code, _ := tc3Call(t, r, "nobody", gateway.DevSecret, tc3Body(1, url, "", "")); code != "AuthFailure.SecretIdNotFound" {
			t.Fatalf("answered %q", code)
		}
	})
	t.Run("old_timestamp", func(t *testing.T) {
		body := `{"OperateType":1,"CallbackInfo":{"CallbackUrl":"http://127.0.0.1:9/late"}}`
		if code := tc3SignedByHand(t, r, gateway.DevAppKey, gateway.DevSecret, time.Now().Add(-10*time.Minute), body); code != "AuthFailure.SignatureExpire" {
			t.Fatalf("a request signed 10 minutes ago: %q", code)
		}
		// The same request signed now goes through: the signature made by
		// hand is right, only its age was wrong.
		if code := tc3SignedByHand(t, r, gateway.DevAppKey, gateway.DevSecret, time.Now(), body); code != "" {
			t.Fatalf("the same request signed now: %q", code)
		}
	})
	t.Run("the_root_still_serves_the_rest", func(t *testing.T) {
		for _, req := range []struct{ method, header string }{{http.MethodPost, ""}, {http.MethodGet, "ModifyApplicationCallbackInfo"}} {
			hr, _ := http.NewRequest(req.method, r.base+"/", strings.NewReader(`{}`))
			if req.header != "" {
				hr.Header.Set("X-TC-Action", req.header)
			}
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s / with X-TC-Action %q: %d, want the mux's 404", req.method, req.header, resp.StatusCode)
			}
		}
		if resp, err := http.Get(r.base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("healthz: %v %v", resp, err)
		}
	})
}
