package httpplugin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	httpplugin "github.com/callgate/callgate/plugins/http"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

func TestSend_tim_signature(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		w.Write([]byte(`{"ActionStatus":"OK","ErrorCode":0}`))
	}))
	defer srv.Close()
	tests := []struct {
		name  string
		token string
		kind  pluginv1.OutcomeKind
	}{
		{name: "signed", token: "tim-token", kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED},
		{name: "no_token", token: "", kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := httpplugin.New().Send(context.Background(), &pluginv1.Delivery{
				Id:            "dlv_1",
				Destination:   srv.URL + "/im?SdkAppid=888",
				Query:         map[string]string{"CallbackCommand": "C2C.CallbackAfterSendMsg"},
				Body:          []byte(`{}`),
				Sign:          "tim",
				CallbackToken: tt.token,
				Timestamp:     1700000000,
				Settings:      map[string]string{"allow_private_networks": "true"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.GetKind() != tt.kind {
				t.Fatalf("outcome = %v", out)
			}
			if tt.kind != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
				return
			}
			r := <-got
			sum := sha256.Sum256([]byte(tt.token + "1700000000"))
			q := r.URL.Query()
			if q.Get("RequestTime") != "1700000000" || q.Get("Sign") != hex.EncodeToString(sum[:]) ||
				q.Get("SdkAppid") != "888" || q.Get("CallbackCommand") != "C2C.CallbackAfterSendMsg" {
				t.Errorf("query = %v", q)
			}
		})
	}
}
