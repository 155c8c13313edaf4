package main_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEndpointAuthentication: a config's extra headers and basic
// authentication go out with every callback, and are never shown back.
func TestEndpointAuthentication(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	var out map[string]any
	if s := g.call("/callgate.v1.ConfigService/ModifyCallbackConfig", "demo-secret", map[string]any{
		"operateType": 1,
		"callbackInfo": map[string]any{"callbackUrl": rc.url,
			"headers": map[string]string{"X-Api-Key": "key-0123"}, "basicAuth": "hooks:pa55word"},
	}, &out); s != 200 {
		t.Fatalf("add config: %d %v", s, out)
	}
	var list map[string]any
	g.call("/callgate.v1.ConfigService/ListCallbackConfigs", "demo-secret", map[string]any{}, &list)
	if raw := fmt.Sprint(list); strings.Contains(raw, "key-0123") || strings.Contains(raw, "pa55word") ||
		!strings.Contains(raw, "X-Api-Key") || !strings.Contains(raw, "hasBasicAuth:true") {
		t.Errorf("list: %s", raw)
	}
	if s, env := g.submit("authenticated"); s != 200 {
		t.Fatalf("submit: %d %+v", s, env)
	}
	got := rc.waitFor(t, 20*time.Second, "the callback", func(r []received) bool { return len(r) == 1 })[0]
	if got.header.Get("X-Api-Key") != "key-0123" {
		t.Errorf("X-Api-Key = %q", got.header.Get("X-Api-Key"))
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("hooks:pa55word")); got.header.Get("Authorization") != want {
		t.Errorf("Authorization = %q", got.header.Get("Authorization"))
	}
	for _, bad := range []map[string]any{
		{"callbackUrl": "https://example.com/a", "headers": map[string]string{"webhook-id": "x"}},
		{"callbackUrl": "https://example.com/b", "headers": map[string]string{"Bad Name": "x"}},
		{"callbackUrl": "https://example.com/c", "basicAuth": "no-colon"},
	} {
		if s := g.call("/callgate.v1.ConfigService/ModifyCallbackConfig", "demo-secret",
			map[string]any{"operateType": 1, "callbackInfo": bad}, nil); s != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", bad, s)
		}
	}
}
