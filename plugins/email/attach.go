package emailplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"code.dny.dev/ssrf"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// maxRedirects bounds the redirects followed when fetching an attachment;
// each hop passes the address guard again.
const maxRedirects = 5

// attachment is a fetched file, ready to attach.
type attachment struct {
	name        string
	contentType string
	data        []byte
}

// guardian refuses special-purpose addresses on any port, as the http
// plugin does: file servers listen on all sorts of ports.
var guardian = ssrf.New(ssrf.WithAnyPort())

// fetchAttachments fetches every attachment, in order. It returns a
// non-nil Outcome when one cannot be had, saying whether trying again may
// help.
func (p *Plugin) fetchAttachments(ctx context.Context, cfg config, atts []*pluginv1.Attachment) ([]attachment, *pluginv1.Outcome) {
	if len(atts) == 0 {
		return nil, nil
	}
	if len(atts) > MaxAttachments {
		return nil, permanent(fmt.Sprintf("%d attachments: at most %d are allowed", len(atts), MaxAttachments))
	}
	client := p.httpClient(cfg.allowPrivate)
	files := make([]attachment, 0, len(atts))
	total := 0
	for i, a := range atts {
		f, out := fetch(ctx, client, i, a, cfg)
		if out != nil {
			return nil, out
		}
		if total += len(f.data); total > MaxTotalAttachmentBytes {
			return nil, permanent(fmt.Sprintf("attachments together exceed %d bytes", MaxTotalAttachmentBytes))
		}
		files = append(files, f)
	}
	return files, nil
}

// fetch gets one attachment.
func fetch(ctx context.Context, client *http.Client, i int, a *pluginv1.Attachment, cfg config) (attachment, *pluginv1.Outcome) {
	u, err := url.Parse(a.GetUrl())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return attachment{}, permanent(fmt.Sprintf("attachment %d: %q is not an http or https URL", i, a.GetUrl()))
	}
	name := fileName(a.GetFileName(), u, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return attachment{}, permanent(fmt.Sprintf("attachment %q: %v", name, err))
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return attachment{}, fetchFailure(name, err, cfg.timeout)
	}
	defer resp.Body.Close()
	if out := fetchStatus(name, resp); out != nil {
		return attachment{}, out
	}
	if resp.ContentLength > MaxAttachmentBytes {
		return attachment{}, permanent(fmt.Sprintf("attachment %q is %d bytes, more than the %d allowed", name, resp.ContentLength, MaxAttachmentBytes))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAttachmentBytes+1))
	if err != nil {
		return attachment{}, fetchFailure(name, err, cfg.timeout)
	}
	if len(data) > MaxAttachmentBytes {
		return attachment{}, permanent(fmt.Sprintf("attachment %q is more than the %d bytes allowed", name, MaxAttachmentBytes))
	}
	return attachment{name: name, contentType: contentType(resp.Header.Get("Content-Type")), data: data}, nil
}

// fetchStatus judges the file server's answer: nil for 2xx. A request
// timeout, a throttle or a server error may pass; any other 4xx says the
// URL is wrong and will stay wrong.
func fetchStatus(name string, resp *http.Response) *pluginv1.Outcome {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	msg := fmt.Sprintf("attachment %q: file server answered %s", name, resp.Status)
	var out *pluginv1.Outcome
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		out = retryable(msg)
	default:
		out = permanent(msg)
	}
	return out
}

// fetchFailure turns a failed fetch into an Outcome. Only the address
// guard is permanent: an internal address stays internal.
func fetchFailure(name string, err error, timeout time.Duration) *pluginv1.Outcome {
	// The URL is left out: its query may carry a signature or token.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ssrf.ErrProhibitedIP), errors.Is(err, ssrf.ErrProhibitedNetwork), errors.Is(err, ssrf.ErrProhibitedPort):
		return permanent(fmt.Sprintf("attachment %q refused: its URL resolves to a loopback, private or otherwise internal address (set %s=true to allow): %v",
			name, SettingAllowPrivateNetworks, err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return retryable(fmt.Sprintf("attachment %q: timed out (limit %s for the whole attempt): %v", name, timeout, err))
	default:
		return retryable(fmt.Sprintf("attachment %q: %v", name, err))
	}
}

// fileName is the name an attachment is attached under: the one given,
// else the URL path's last element, else a numbered default. Directories,
// control characters and quotes are dropped so the name cannot reach
// outside its header parameter.
func fileName(given string, u *url.URL, i int) string {
	name := given
	if name == "" {
		name = path.Base(u.Path)
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	if name == "" || name == "." || name == "/" || name == ".." {
		name = fmt.Sprintf("attachment-%d", i+1)
	}
	return name
}

// contentType keeps the media type (and charset) of the file server's
// answer when it parses; go-mail picks one otherwise.
func contentType(v string) string {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || !strings.Contains(mt, "/") {
		return ""
	}
	if cs := params["charset"]; cs != "" {
		return mime.FormatMediaType(mt, map[string]string{"charset": cs})
	}
	return mt
}

// httpClient returns a client for fetching attachments, over a pool kept
// for the plugin's life. Pools are never shared between guarded and
// unguarded channels.
func (p *Plugin) httpClient(allowPrivate bool) *http.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.transports[allowPrivate]
	if !ok {
		dialer := &net.Dialer{Timeout: DefaultConnectTimeout, KeepAlive: 30 * time.Second}
		if !allowPrivate {
			// Control runs after DNS, once per address tried, so it
			// sees exactly where the connection would go.
			dialer.Control = guardian.Safe
		}
		t = &http.Transport{
			// No proxy from the environment: the dial would go to the
			// proxy and so bypass the guard.
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   DefaultConnectTimeout,
			ResponseHeaderTimeout: DefaultTimeout,
		}
		p.transports[allowPrivate] = t
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return nil
		},
	}
}
