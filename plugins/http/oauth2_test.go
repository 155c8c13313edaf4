package httpplugin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	httpplugin "github.com/callgate/callgate/plugins/http"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

func TestSend_oauth2_client_credentials(t *testing.T) {
	var fetched atomic.Int64
	var issued atomic.Int64
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "client" || secret != "s3cret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "hooks" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fetched.Add(1)
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, issued.Add(1))
	}))
	defer tokenSrv.Close()
	var reject atomic.Bool
	var seen atomic.Value
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"))
		if reject.Load() {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer rcv.Close()
	p := httpplugin.New()
	send := func(o *pluginv1.OAuth2) *pluginv1.Outcome {
		t.Helper()
		out, err := p.Send(context.Background(), &pluginv1.Delivery{Id: "dlv_1", Destination: rcv.URL, Body: []byte("{}"),
			Oauth2: o, Settings: map[string]string{"allow_private_networks": "true"}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	good := &pluginv1.OAuth2{TokenUrl: tokenSrv.URL, ClientId: "client", ClientSecret: "s3cret", Scope: "hooks"}
	for range 3 {
		if out := send(good); out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED {
			t.Fatalf("outcome = %v", out)
		}
	}
	if fetched.Load() != 1 || seen.Load() != "Bearer tok-1" {
		t.Errorf("fetched %d tokens, receiver saw %v; want one cached token", fetched.Load(), seen.Load())
	}
	// The receiver refuses the token: it is dropped and a new one fetched.
	reject.Store(true)
	send(good)
	reject.Store(false)
	send(good)
	if fetched.Load() != 2 || seen.Load() != "Bearer tok-2" {
		t.Errorf("after a 401: fetched %d, receiver saw %v", fetched.Load(), seen.Load())
	}
	// Wrong credentials are a permanent failure, and nothing reaches the receiver.
	seen.Store("")
	bad := &pluginv1.OAuth2{TokenUrl: tokenSrv.URL, ClientId: "client", ClientSecret: "wrong", Scope: "hooks"}
	if out := send(bad); out.GetKind() != pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT || seen.Load() != "" {
		t.Errorf("bad credentials: %v, receiver saw %v", out, seen.Load())
	}
}
