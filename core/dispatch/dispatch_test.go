package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// TestDispatcherOutcomes sends one notified delivery per case and checks
// the state it ends in and the attempts recorded on the way.
func TestDispatcherOutcomes(t *testing.T) {
	errPluginDown := errors.New("plugin down")
	tests := []struct {
		name        string
		schedule    []time.Duration // Options.Schedule; nil: 10 ms, 20 ms
		own         []time.Duration // the delivery's own schedule; nil: none
		maxResponse int
		answer      func(c call) (*pluginv1.Outcome, error)

		want          store.Status
		wantOutcomes  []string
		wantErrors    []string // each attempt's recorded error
		wantLastError string
		wantResponse  string // the last attempt's
	}{
		{
			name: "delivered_once",
			answer: func(call) (*pluginv1.Outcome, error) {
				return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, StatusCode: 204,
					ResponseBody: []byte("thanks"), LatencyMs: 7}, nil
			},
			want:         store.StatusSucceeded,
			wantOutcomes: []string{"delivered"},
			wantErrors:   []string{""},
			wantResponse: "thanks",
		},
		{
			name:          "permanent_is_dead_at_once",
			answer:        func(call) (*pluginv1.Outcome, error) { return permanent(410, "gone"), nil },
			want:          store.StatusDead,
			wantOutcomes:  []string{"permanent"},
			wantErrors:    []string{"gone"},
			wantLastError: "status 410: gone",
		},
		{
			name:          "retryable_follows_schedule_then_gives_up",
			answer:        func(call) (*pluginv1.Outcome, error) { return retryable(503, "busy"), nil },
			want:          store.StatusDead,
			wantOutcomes:  []string{"retryable", "retryable", "retryable"},
			wantErrors:    []string{"busy", "busy", "busy"},
			wantLastError: "gave up after 3 attempts: status 503: busy",
		},
		{
			name: "retryable_then_delivered",
			answer: func(c call) (*pluginv1.Outcome, error) {
				if c.delivery.GetAttempt() < 3 {
					return retryable(500, "oops"), nil
				}
				return delivered(), nil
			},
			want:         store.StatusSucceeded,
			wantOutcomes: []string{"retryable", "retryable", "delivered"},
			wantErrors:   []string{"oops", "oops", ""},
		},
		{
			name: "sender_error_is_a_retryable_attempt",
			answer: func(c call) (*pluginv1.Outcome, error) {
				if c.delivery.GetAttempt() == 1 {
					return nil, errPluginDown
				}
				return delivered(), nil
			},
			want:         store.StatusSucceeded,
			wantOutcomes: []string{"retryable", "delivered"},
			wantErrors:   []string{`channel "http" could not send: plugin down`, ""},
		},
		{
			name:          "sender_error_every_time_ends_dead",
			answer:        func(call) (*pluginv1.Outcome, error) { return nil, errPluginDown },
			want:          store.StatusDead,
			wantOutcomes:  []string{"retryable", "retryable", "retryable"},
			wantLastError: `gave up after 3 attempts: channel "http" could not send: plugin down`,
		},
		{
			name: "no_outcome_is_retried",
			answer: func(c call) (*pluginv1.Outcome, error) {
				if c.delivery.GetAttempt() == 1 {
					return nil, nil
				}
				return delivered(), nil
			},
			want:         store.StatusSucceeded,
			wantOutcomes: []string{"retryable", "delivered"},
			wantErrors:   []string{`channel "http" answered no outcome`, ""},
		},
		{
			name: "unspecified_kind_is_retried",
			answer: func(c call) (*pluginv1.Outcome, error) {
				if c.delivery.GetAttempt() == 1 {
					return &pluginv1.Outcome{}, nil
				}
				return delivered(), nil
			},
			want:         store.StatusSucceeded,
			wantOutcomes: []string{"retryable", "delivered"},
		},
		{
			name:          "own_schedule_overrides_default",
			schedule:      []time.Duration{time.Hour},
			own:           []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
			answer:        func(call) (*pluginv1.Outcome, error) { return retryable(502, ""), nil },
			want:          store.StatusDead,
			wantOutcomes:  []string{"retryable", "retryable", "retryable", "retryable"},
			wantLastError: "gave up after 4 attempts: status 502",
		},
		{
			name:          "empty_own_schedule_never_retries",
			own:           []time.Duration{},
			answer:        func(call) (*pluginv1.Outcome, error) { return retryable(0, "connection refused"), nil },
			want:          store.StatusDead,
			wantOutcomes:  []string{"retryable"},
			wantLastError: "gave up after 1 attempts: connection refused",
		},
		{
			name:          "empty_default_schedule_never_retries",
			schedule:      []time.Duration{},
			answer:        func(call) (*pluginv1.Outcome, error) { return retryable(500, ""), nil },
			want:          store.StatusDead,
			wantOutcomes:  []string{"retryable"},
			wantLastError: "gave up after 1 attempts: status 500",
		},
		{
			name:          "permanent_without_detail",
			answer:        func(call) (*pluginv1.Outcome, error) { return permanent(0, ""), nil },
			want:          store.StatusDead,
			wantOutcomes:  []string{"permanent"},
			wantLastError: "failed",
		},
		{
			name:        "response_kept_up_to_max_response",
			maxResponse: 4,
			answer: func(call) (*pluginv1.Outcome, error) {
				return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, ResponseBody: []byte("abcdefgh")}, nil
			},
			want:         store.StatusSucceeded,
			wantOutcomes: []string{"delivered"},
			wantResponse: "abcd",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			s := &sender{answer: tt.answer}
			r := e.runLoaded(t, s, dispatch.Options{Schedule: tt.schedule, MaxResponse: tt.maxResponse})
			dl := e.webhook()
			dl.Schedule = tt.own
			ds := e.insert(t, dl)
			r.Notify(ds)
			id := ds[0].ID

			got := e.waitStatus(t, id, tt.want)
			as := e.attempts(t, id)
			var outcomes []string
			for i, a := range as {
				outcomes = append(outcomes, a.Outcome)
				if a.Number != i+1 {
					t.Errorf("attempt %d numbered %d", i+1, a.Number)
				}
				if tt.wantErrors != nil && a.Error != tt.wantErrors[i] {
					t.Errorf("attempt %d error = %q, want %q", i+1, a.Error, tt.wantErrors[i])
				}
			}
			if !slices.Equal(outcomes, tt.wantOutcomes) {
				t.Fatalf("outcomes = %q, want %q", outcomes, tt.wantOutcomes)
			}
			if got.Attempts != len(tt.wantOutcomes) {
				t.Errorf("delivery counts %d attempts, want %d", got.Attempts, len(tt.wantOutcomes))
			}
			if got.LastError != tt.wantLastError {
				t.Errorf("last error = %q, want %q", got.LastError, tt.wantLastError)
			}
			if !got.LeaseUntil.IsZero() {
				t.Errorf("lease left at %v after the last attempt", got.LeaseUntil)
			}
			if resp := as[len(as)-1].Response; resp != tt.wantResponse {
				t.Errorf("last response = %q, want %q", resp, tt.wantResponse)
			}
			// One send per attempt, numbered as the attempts are.
			var sentAttempts []int
			for _, c := range s.sent() {
				if c.delivery.GetId() == id {
					sentAttempts = append(sentAttempts, int(c.delivery.GetAttempt()))
				}
			}
			if want := seq(len(tt.wantOutcomes)); !slices.Equal(sentAttempts, want) {
				t.Errorf("sent attempts %v, want %v", sentAttempts, want)
			}
			// A retry never goes out before its delay has passed.
			schedule := tt.schedule
			if schedule == nil {
				schedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
			}
			if tt.own != nil {
				schedule = tt.own
			}
			for i := 1; i < len(as); i++ {
				if gap := as[i].StartedAt.Sub(as[i-1].StartedAt); gap < schedule[i-1] {
					t.Errorf("attempt %d started %v after attempt %d, before the %v delay", i+1, gap, i, schedule[i-1])
				}
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// TestDispatcherPluginView checks what a plugin is handed: the stored
// delivery, the webhook material of its callback config, the channel's
// settings, the attempt number and a timestamp.
func TestDispatcherPluginView(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tokenOnly, err := e.store.AddCallbackConfig(ctx, store.CallbackConfig{
		TenantID: e.tenant, URL: "https://token-only.example/hook", Token: "just-a-token",
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]map[string]string{
		"http": {"allow_private_networks": "true"},
		"sms":  {"api_key": "k"},
	}
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		if c.delivery.GetDestination() == e.config.URL && c.delivery.GetAttempt() == 1 {
			return retryable(503, "later"), nil
		}
		return delivered(), nil
	}}
	before := time.Now().Unix()
	full := e.webhook()
	full.Method = "PUT"
	full.Headers = map[string]string{"X-Trace": "abc"}
	full.Query = map[string]string{"v": "2"}
	full.Subject = "Order paid"
	full.Sign = "tim"
	full.Attachments = []store.Attachment{{FileName: "invoice.pdf", URL: "https://files.example/invoice.pdf"}}
	ds := e.insert(t,
		full,
		store.Delivery{Channel: "http", ConfigID: tokenOnly.ID, Destination: tokenOnly.URL, Body: []byte("x")},
		store.Delivery{Channel: "sms", Destination: "+15550100", Body: []byte("your code is 1234")},
		store.Delivery{Channel: "mail", Destination: "ops@example.com", Body: []byte("hi")},
	)
	channels := channelFunc(func(_ context.Context, _, channel string) (string, map[string]string, error) {
		return channel, settings[channel], nil
	})
	r := e.run(t, s, dispatch.Options{Channels: channels, SendTimeout: 3 * time.Second})
	r.Notify(ds)
	for _, d := range ds {
		e.waitStatus(t, d.ID, store.StatusSucceeded)
	}
	after := time.Now().Unix()

	byDest := map[string][]*pluginv1.Delivery{}
	for _, c := range s.sent() {
		if want := map[string]string{"+15550100": "sms", "ops@example.com": "mail"}[c.delivery.GetDestination()]; want != "" && c.channel != want {
			t.Errorf("%s sent through channel %q, want %q", c.delivery.GetDestination(), c.channel, want)
		}
		byDest[c.delivery.GetDestination()] = append(byDest[c.delivery.GetDestination()], c.delivery)
	}

	t.Run("stored_fields", func(t *testing.T) {
		got := byDest[e.config.URL]
		if len(got) != 2 {
			t.Fatalf("%d sends to the full delivery, want 2", len(got))
		}
		pd := got[0]
		if pd.GetId() != ds[0].ID || pd.GetTenantId() != e.tenant || pd.GetMessageId() != ds[0].MessageID {
			t.Errorf("ids = %q %q %q, want %q %q %q", pd.GetId(), pd.GetTenantId(), pd.GetMessageId(),
				ds[0].ID, e.tenant, ds[0].MessageID)
		}
		if pd.GetMethod() != "PUT" || pd.GetSubject() != "Order paid" || !bytes.Equal(pd.GetBody(), full.Body) || pd.GetSign() != "tim" {
			t.Errorf("method %q subject %q body %q sign %q", pd.GetMethod(), pd.GetSubject(), pd.GetBody(), pd.GetSign())
		}
		if !maps.Equal(pd.GetHeaders(), full.Headers) || !maps.Equal(pd.GetQuery(), full.Query) {
			t.Errorf("headers %v query %v", pd.GetHeaders(), pd.GetQuery())
		}
		if a := pd.GetAttachments(); len(a) != 1 || a[0].GetFileName() != "invoice.pdf" || a[0].GetUrl() != full.Attachments[0].URL {
			t.Errorf("attachments = %v", a)
		}
		if pd.GetTimeoutMs() != 3000 {
			t.Errorf("timeout = %d ms, want 3000", pd.GetTimeoutMs())
		}
	})
	t.Run("webhook_material_from_config", func(t *testing.T) {
		pd := byDest[e.config.URL][0]
		if pd.GetCallbackToken() != "whsec-token" {
			t.Errorf("token = %q", pd.GetCallbackToken())
		}
		if !bytes.Equal(pd.GetCallbackKey(), []byte(testKey)) {
			t.Errorf("key = %q, want the config's 32 bytes", pd.GetCallbackKey())
		}
		tok := byDest[tokenOnly.URL]
		if len(tok) != 1 || tok[0].GetCallbackToken() != "just-a-token" || tok[0].GetCallbackKey() != nil {
			t.Errorf("token-only config sent as %v", tok)
		}
		sms := byDest["+15550100"]
		if len(sms) != 1 || sms[0].GetCallbackToken() != "" || sms[0].GetCallbackKey() != nil {
			t.Errorf("delivery without config sent as %v", sms)
		}
	})
	t.Run("channel_settings", func(t *testing.T) {
		if got := byDest[e.config.URL][0].GetSettings(); !maps.Equal(got, settings["http"]) {
			t.Errorf("http settings = %v", got)
		}
		if got := byDest["+15550100"][0].GetSettings(); !maps.Equal(got, settings["sms"]) {
			t.Errorf("sms settings = %v", got)
		}
		if got := byDest["ops@example.com"][0].GetSettings(); len(got) != 0 {
			t.Errorf("a channel without settings got %v", got)
		}
	})
	t.Run("attempt_and_timestamp", func(t *testing.T) {
		got := byDest[e.config.URL]
		for i, pd := range got {
			if pd.GetAttempt() != int32(i+1) {
				t.Errorf("send %d carries attempt %d", i+1, pd.GetAttempt())
			}
			if pd.GetId() != ds[0].ID {
				t.Errorf("send %d carries id %q: the id must be stable across attempts", i+1, pd.GetId())
			}
			if ts := pd.GetTimestamp(); ts < before || ts > after {
				t.Errorf("send %d timestamp %d outside [%d, %d]", i+1, ts, before, after)
			}
		}
		if got[1].GetTimestamp() < got[0].GetTimestamp() {
			t.Errorf("retry stamped %d, before the first attempt's %d", got[1].GetTimestamp(), got[0].GetTimestamp())
		}
	})
}

func TestDispatcherDefaultSendTimeoutReachesPlugin(t *testing.T) {
	e := newEnv(t)
	s := &sender{}
	ds := e.insert(t, e.webhook())
	e.run(t, s, dispatch.Options{})
	e.waitStatus(t, ds[0].ID, store.StatusSucceeded)
	if got := s.sent()[0].delivery.GetTimeoutMs(); got != 10_000 {
		t.Errorf("timeout = %d ms, want the default 10000", got)
	}
}

// TestDispatcherDeletedConfig: a delivery whose callback config is gone
// cannot be signed or encrypted as asked, so it dies at once, unsent.
func TestDispatcherDeletedConfig(t *testing.T) {
	e := newEnv(t)
	ds := e.insert(t, e.webhook())
	if _, err := e.store.DeleteCallbackConfigByURL(t.Context(), e.tenant, e.config.URL); err != nil {
		t.Fatal(err)
	}
	s := &sender{}
	r := e.run(t, s, dispatch.Options{})
	r.Notify(ds)
	got := e.waitStatus(t, ds[0].ID, store.StatusDead)
	if got.LastError != "the callback config of this delivery was deleted" {
		t.Errorf("last error = %q", got.LastError)
	}
	if as := e.attempts(t, ds[0].ID); len(as) != 1 || as[0].Outcome != "permanent" {
		t.Errorf("attempts = %+v, want one permanent", as)
	}
	if n := len(s.sent()); n != 0 {
		t.Errorf("sent %d times", n)
	}
}

// TestDispatcherRetryAfter: a receiver's Retry-After moves the next
// attempt out when it is longer than the schedule's delay.
func TestDispatcherRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		schedule   []time.Duration
		retryAfter time.Duration
		want       time.Duration // after the attempt started
	}{
		{name: "longer_than_schedule_is_honoured", schedule: []time.Duration{10 * time.Millisecond}, retryAfter: 10 * time.Minute, want: 10 * time.Minute},
		{name: "shorter_than_schedule_is_ignored", schedule: []time.Duration{2 * time.Hour}, retryAfter: time.Second, want: 2 * time.Hour},
		{name: "capped_at_a_day", schedule: []time.Duration{10 * time.Millisecond}, retryAfter: 48 * time.Hour, want: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			s := &sender{answer: func(call) (*pluginv1.Outcome, error) {
				o := retryable(429, "slow down")
				o.RetryAfterMs = tt.retryAfter.Milliseconds()
				return o, nil
			}}
			ds := e.insert(t, e.webhook())
			r := e.run(t, s, dispatch.Options{Schedule: tt.schedule})
			r.Notify(ds)
			got := e.waitStatus(t, ds[0].ID, store.StatusFailed)
			now := time.Now()
			as := e.attempts(t, ds[0].ID)
			if len(as) != 1 {
				t.Fatalf("%d attempts, want 1", len(as))
			}
			if lo, hi := as[0].StartedAt.Add(tt.want), now.Add(tt.want); got.NextAttemptAt.Before(lo) || got.NextAttemptAt.After(hi) {
				t.Errorf("next attempt at %v, want within [%v, %v]", got.NextAttemptAt, lo, hi)
			}
			if got.LastError != "status 429: slow down" {
				t.Errorf("last error = %q", got.LastError)
			}
		})
	}
}

// TestDispatcherRetryAfterOnLastAttempt: Retry-After does not add attempts
// beyond the schedule.
func TestDispatcherRetryAfterOnLastAttempt(t *testing.T) {
	e := newEnv(t)
	s := &sender{answer: func(call) (*pluginv1.Outcome, error) {
		o := retryable(503, "")
		o.RetryAfterMs = 5
		return o, nil
	}}
	ds := e.insert(t, e.webhook())
	e.run(t, s, dispatch.Options{Schedule: []time.Duration{10 * time.Millisecond}})
	got := e.waitStatus(t, ds[0].ID, store.StatusDead)
	if got.LastError != "gave up after 2 attempts: status 503" {
		t.Errorf("last error = %q", got.LastError)
	}
}

// TestDispatcherJitter: with jitter, a retry is due within ±10% of its
// delay.
func TestDispatcherJitter(t *testing.T) {
	e := newEnv(t)
	s := &sender{answer: func(call) (*pluginv1.Outcome, error) { return retryable(500, ""), nil }}
	var ds []store.Delivery
	for range 10 {
		ds = append(ds, e.webhook())
	}
	ds = e.insert(t, ds...)
	e.start(t, s, dispatch.Options{Schedule: []time.Duration{time.Hour}, BreakerThreshold: -1})
	for _, d := range ds {
		got := e.waitStatus(t, d.ID, store.StatusFailed)
		started := e.attempts(t, d.ID)[0].StartedAt
		lo, hi := started.Add(54*time.Minute), time.Now().Add(66*time.Minute)
		if got.NextAttemptAt.Before(lo) || got.NextAttemptAt.After(hi) {
			t.Errorf("%s: next attempt %v after its start, want 1h ± 10%%", d.ID, got.NextAttemptAt.Sub(started))
		}
	}
}

func TestDefaultSchedule(t *testing.T) {
	want := []time.Duration{time.Second, 3 * time.Second, 7 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}
	if len(dispatch.DefaultSchedule) != 20 {
		t.Errorf("%d retries, want 20", len(dispatch.DefaultSchedule))
	}
	if got := dispatch.DefaultSchedule[:len(want)]; !slices.Equal(got, want) {
		t.Errorf("schedule starts %v, want %v", got, want)
	}
	for i, d := range dispatch.DefaultSchedule[len(want):] {
		if d != time.Hour {
			t.Errorf("retry %d after %v, want hourly", len(want)+i+1, d)
		}
	}
}

// channelFunc resolves every channel to the plugin of its name.
type channelFunc func(ctx context.Context, tenantID, channel string) (string, map[string]string, error)

func (f channelFunc) Resolve(ctx context.Context, tenantID, channel string) (string, map[string]string, error) {
	return f(ctx, tenantID, channel)
}

// claimCounter counts the claims of a delivery: store writes, and reads
// for a claim kept in memory.
type claimCounter struct {
	*store.Store
	mu       sync.Mutex
	claims   int
	reclaims int
}

func (c *claimCounter) Reclaim(ctx context.Context, id string, heldUntil, now time.Time, lease time.Duration) (store.Delivery, error) {
	c.mu.Lock()
	c.reclaims++
	c.mu.Unlock()
	return c.Store.Reclaim(ctx, id, heldUntil, now, lease)
}

func (c *claimCounter) reclaimed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reclaims
}

func (c *claimCounter) Claim(ctx context.Context, id string, now time.Time, lease time.Duration) (store.Delivery, error) {
	c.mu.Lock()
	c.claims++
	c.mu.Unlock()
	return c.Store.Claim(ctx, id, now, lease)
}

// TakeDue is a claim kept in memory: counted as a claim, though it
// writes nothing.
func (c *claimCounter) TakeDue(ctx context.Context, id string, now time.Time) (store.Delivery, error) {
	c.mu.Lock()
	c.claims++
	c.mu.Unlock()
	return c.Store.TakeDue(ctx, id, now)
}

func (c *claimCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.claims
}

// TestDispatcherPreclaimed: a delivery ingest stored already claimed goes
// out from memory without a claim of its own while its lease covers a whole
// send; one whose lease is too short for that has it renewed first (one
// write), so that its lease never ends mid-send.
func TestDispatcherPreclaimed(t *testing.T) {
	tests := []struct {
		name         string
		lease        time.Duration
		wantReclaims int
	}{
		{name: "lease_covers_a_send", lease: time.Minute, wantReclaims: 0},
		{name: "lease_too_short", lease: 300 * time.Millisecond, wantReclaims: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cc := &claimCounter{Store: e.store}
			s := &sender{}
			d := startOn(t, cc, s, dispatch.Options{NoJitter: true, SendTimeout: time.Second,
				Horizon: 200 * time.Millisecond, Schedule: []time.Duration{10 * time.Millisecond}})

			lease, ok := d.Preclaim()
			if !ok || lease != 21*time.Second {
				t.Fatalf("Preclaim = %v, %v; want the default lease (send timeout + 20 s)", lease, ok)
			}
			dl := e.webhook()
			dl.LeaseUntil = time.Now().Add(tt.lease)
			ds := e.insert(t, dl)
			if ds[0].Status != store.StatusInflight || ds[0].Attempts != 1 {
				t.Fatalf("stored %s with %d attempts, want inflight with 1", ds[0].Status, ds[0].Attempts)
			}
			d.Notify(ds)
			e.waitStatus(t, ds[0].ID, store.StatusSucceeded)
			if n := s.sentTo(ds[0].ID); n != 1 {
				t.Errorf("sent %d times, want once", n)
			}
			if n := cc.count(); n != 0 {
				t.Errorf("%d claims, want none", n)
			}
			if n := cc.reclaimed(); n != tt.wantReclaims {
				t.Errorf("%d renewed leases, want %d", n, tt.wantReclaims)
			}
			if as := e.attempts(t, ds[0].ID); len(as) != 1 || as[0].Outcome != "delivered" {
				t.Errorf("attempts = %+v, want one delivered", as)
			}
		})
	}
}
