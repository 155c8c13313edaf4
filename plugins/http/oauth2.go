package httpplugin

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// tokens caches OAuth2 access tokens of the client credentials grant, by
// token URL, client and scope, until shortly before they expire.
type tokens struct {
	mu sync.Mutex
	m  map[string]token
}

type token struct {
	access  string
	expires time.Time
}

// tokenKey names a token by everything that obtained it; the secret is
// hashed in so that changed credentials fetch a new token.
func tokenKey(o *pluginv1.OAuth2) string {
	sum := sha256.Sum256([]byte(o.GetClientSecret()))
	return o.GetTokenUrl() + "\x00" + o.GetClientId() + "\x00" + o.GetScope() + "\x00" + string(sum[:])
}

// errTokenRefused marks a token endpoint that refused the credentials:
// trying again will not help until they change.
type errTokenRefused struct{ msg string }

func (e errTokenRefused) Error() string { return e.msg }

// get returns a valid access token, fetching one when none is cached.
func (t *tokens) get(ctx context.Context, c *http.Client, o *pluginv1.OAuth2) (string, error) {
	key := tokenKey(o)
	t.mu.Lock()
	tk, ok := t.m[key]
	t.mu.Unlock()
	if ok && time.Now().Before(tk.expires) {
		return tk.access, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if o.GetScope() != "" {
		form.Set("scope", o.GetScope())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.GetTokenUrl(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", errTokenRefused{fmt.Sprintf("oauth2 token URL: %v", err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 section 2.3.1: client credentials in basic authentication.
	req.SetBasicAuth(url.QueryEscape(o.GetClientId()), url.QueryEscape(o.GetClientSecret()))
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch oauth2 token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		return "", errTokenRefused{fmt.Sprintf("the oauth2 token endpoint refused the client credentials (%d)", resp.StatusCode)}
	case resp.StatusCode/100 != 2:
		return "", fmt.Errorf("the oauth2 token endpoint answered %d", resp.StatusCode)
	}
	var ans struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.AccessToken == "" {
		return "", fmt.Errorf("the oauth2 token endpoint answered no access_token")
	}
	if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "bearer") {
		return "", errTokenRefused{fmt.Sprintf("oauth2 token type %q is not bearer", ans.TokenType)}
	}
	life := time.Duration(ans.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour
	}
	// Renew a little early, so a token never expires on its way.
	tk = token{access: ans.AccessToken, expires: time.Now().Add(life - min(30*time.Second, life/10))}
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]token{}
	}
	t.m[key] = tk
	t.mu.Unlock()
	return tk.access, nil
}

// drop forgets a token the receiver refused, so the next attempt fetches
// a fresh one.
func (t *tokens) drop(o *pluginv1.OAuth2) {
	t.mu.Lock()
	delete(t.m, tokenKey(o))
	t.mu.Unlock()
}
