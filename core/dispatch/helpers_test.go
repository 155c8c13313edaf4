package dispatch_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// waitTimeout bounds every wait on a condition: generous, because a wait
// only takes this long when the code under test is broken.
const waitTimeout = 10 * time.Second

// testKey is a 32-byte callback key, as the http channel wants.
const testKey = "0123456789abcdef0123456789abcdef"

// env is a real store with one tenant and one callback config in it.
type env struct {
	store  *store.Store
	tenant string
	config store.CallbackConfig
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Registered first, so it runs after the dispatcher has stopped.
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "Tenant one"}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	cfg, err := s.AddCallbackConfig(ctx, store.CallbackConfig{
		TenantID: "t1", URL: "https://receiver.example/hook", Key: testKey, Token: "whsec-token", Operator: "tester",
	})
	if err != nil {
		t.Fatalf("add callback config: %v", err)
	}
	return &env{store: s, tenant: "t1", config: cfg}
}

// webhook is a delivery to the env's callback config.
func (e *env) webhook() store.Delivery {
	return store.Delivery{
		Channel:     "http",
		ConfigID:    e.config.ID,
		Destination: e.config.URL,
		Body:        []byte(`{"event":"order.paid"}`),
	}
}

// insert stores a message with the given deliveries, without telling any
// dispatcher, and returns the deliveries as stored.
func (e *env) insert(t *testing.T, ds ...store.Delivery) []store.Delivery {
	t.Helper()
	_, got, existed, err := e.store.InsertMessage(t.Context(),
		store.Message{TenantID: e.tenant, Rule: "http", Content: "hello", RequestID: "req_test"}, ds)
	if err != nil {
		t.Fatalf("insert message: %v", err)
	}
	if existed {
		t.Fatal("insert message: existed for a message without idempotency key")
	}
	return got
}

// get reads a delivery back.
func (e *env) get(t *testing.T, id string) store.Delivery {
	t.Helper()
	d, err := e.store.GetDelivery(context.Background(), "", id)
	if err != nil {
		t.Fatalf("get delivery %s: %v", id, err)
	}
	return d
}

// attempts lists a delivery's recorded attempts.
func (e *env) attempts(t *testing.T, id string) []store.Attempt {
	t.Helper()
	as, err := e.store.ListAttempts(context.Background(), id)
	if err != nil {
		t.Fatalf("list attempts of %s: %v", id, err)
	}
	return as
}

// waitStatus waits until the delivery reaches status, which must be one it
// then keeps (or one the test holds it in).
func (e *env) waitStatus(t *testing.T, id string, status store.Status) store.Delivery {
	t.Helper()
	var d store.Delivery
	waitFor(t, "delivery "+id+" to be "+string(status), func() bool {
		d = e.get(t, id)
		return d.Status == status
	})
	return d
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// call is one Send the dispatcher made.
type call struct {
	ctx      context.Context
	channel  string
	delivery *pluginv1.Delivery // a copy, so that the test shares nothing with the dispatcher
}

// sender is a dispatch.Sender that records every call and answers with
// answer, which may block.
type sender struct {
	answer func(c call) (*pluginv1.Outcome, error)

	mu    sync.Mutex
	calls []call
}

func (s *sender) Send(ctx context.Context, channel string, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	c := call{ctx: ctx, channel: channel, delivery: proto.Clone(d).(*pluginv1.Delivery)}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	if s.answer == nil {
		return delivered(), nil
	}
	return s.answer(c)
}

// sent returns the calls made so far.
func (s *sender) sent() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// sentTo counts the calls for one delivery.
func (s *sender) sentTo(id string) int {
	n := 0
	for _, c := range s.sent() {
		if c.delivery.GetId() == id {
			n++
		}
	}
	return n
}

var _ dispatch.Sender = (*sender)(nil)

func delivered() *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, StatusCode: 200}
}

func retryable(status int32, msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, StatusCode: status, Error: msg}
}

func permanent(status int32, msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, StatusCode: status, Error: msg}
}

// running is a Dispatcher whose Run goroutine the test owns.
type running struct {
	*dispatch.Dispatcher
	cancel context.CancelFunc
	done   chan error
}

// stop cancels Run and waits for it to return, failing the test if it
// does not.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // later calls (the cleanup) see it too
		return err
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return after its context was cancelled")
		return nil
	}
}

// run starts a dispatcher over e's store, without jitter and with a short
// default schedule unless the test chose one, and a horizon of an hour so
// that the loader runs at start and then not again during a test.
func (e *env) run(t *testing.T, s dispatch.Sender, opts dispatch.Options) *running {
	t.Helper()
	opts.NoJitter = true
	if opts.Schedule == nil {
		opts.Schedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	}
	if opts.Horizon == 0 {
		opts.Horizon = time.Hour
	}
	return e.start(t, s, opts)
}

// start runs a dispatcher with opts as given and stops it when the test
// ends.
func (e *env) start(t *testing.T, s dispatch.Sender, opts dispatch.Options) *running {
	t.Helper()
	return startOn(t, e.store, s, opts)
}

// startOn is start over st, for tests that watch what the dispatcher asks
// of the store (a wrapper around e.store).
func startOn(t *testing.T, st dispatch.Store, s dispatch.Sender, opts dispatch.Options) *running {
	t.Helper()
	d := dispatch.New(st, s, discard, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Dispatcher: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() {
		if err := r.stop(t); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// runLoaded is run for tests of the Notify path: it returns once the
// loader has read the store at start, so that what the test inserts next
// reaches the dispatcher only if it is notified (the next load is half an
// hour away). It leaves a canary delivery, due in half an hour, in the
// store and the queue.
func (e *env) runLoaded(t *testing.T, s dispatch.Sender, opts dispatch.Options) *running {
	t.Helper()
	canary := e.webhook()
	canary.NextAttemptAt = time.Now().Add(30 * time.Minute)
	e.insert(t, canary)
	r := e.run(t, s, opts)
	waitFor(t, "the first load", func() bool { return r.Queued() >= 1 })
	return r
}
