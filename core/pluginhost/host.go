// Package pluginhost runs callgate's sender plugins as child processes
// and is the gateway's one way of talking to them.
//
// Each plugin is an executable built with sdk/sender. The host starts it
// through hashicorp/go-plugin, checks its SHA-256 when one is configured,
// asks it to describe itself, and then forwards Send, SendBatch and
// ParseReceipt calls to it by name. Sends share one stream per process
// (SendStream) when the plugin serves it, and the receipts a plugin
// reports on its own go to the host's [ReceiptSink]. The plugin's log
// lines arrive in the host's slog logger under the plugin's name.
//
// A plugin process that dies, or stops answering, is started again in
// the background with exponential backoff (50 ms doubling up to 5 s,
// back to 50 ms once calls succeed again). Calls made meanwhile fail with
// [ErrPluginUnavailable] rather than wait, so the dispatcher retries the
// delivery later instead of holding a worker.
package pluginhost

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// Errors callers tell apart; the host's errors wrap them.
var (
	// ErrUnknownPlugin means no plugin of that name is configured.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrPluginUnavailable means the plugin's process is down or being
	// restarted; the call may succeed if made again later.
	ErrPluginUnavailable = errors.New("plugin unavailable")
	// ErrHandshakeMismatch means the plugin was built for another plugin
	// protocol version than this gateway speaks.
	ErrHandshakeMismatch = errors.New("plugin handshake protocol version mismatch")
	// ErrChecksumMismatch means the executable's SHA-256 is not the one
	// configured, so it was not run.
	ErrChecksumMismatch = errors.New("plugin executable checksum mismatch")
	// ErrClosed means the host has been closed.
	ErrClosed = errors.New("plugin host closed")
)

// Spec says how to run one plugin.
type Spec struct {
	// Name is what deliveries name the plugin by.
	Name string
	// Cmd is the executable and its arguments.
	Cmd []string
	// Env is added to the gateway's own environment, overriding it.
	Env []string
	// SHA256, in hex, is checked against the executable before each
	// start when set.
	SHA256 string
}

func (s Spec) validate() error {
	if s.Name == "" {
		return errors.New("plugin with no name")
	}
	if len(s.Cmd) == 0 || s.Cmd[0] == "" {
		return fmt.Errorf("plugin %q: no command", s.Name)
	}
	if s.SHA256 != "" {
		if sum, err := hex.DecodeString(s.SHA256); err != nil || len(sum) != 32 {
			return fmt.Errorf("plugin %q: sha256 %q is not 64 hex digits", s.Name, s.SHA256)
		}
	}
	return nil
}

// Info describes a running plugin.
type Info struct {
	Name         string
	Version      string
	ChannelKinds []string
	// Settings is the plugin's settings schema.
	Settings []*pluginv1.SettingSpec
	// Healthy is true while the plugin's process is up.
	Healthy bool
	// Restarts counts the times the process was started again after
	// dying.
	Restarts int
}

// Host owns the plugin processes. Its methods are safe for concurrent
// use.
type Host struct {
	log   *slog.Logger
	specs []Spec
	sink  ReceiptSink

	mu       sync.Mutex
	procs    map[string]*proc
	starting bool // Start was called
	started  bool // Start succeeded
	closed   bool
}

// New returns a host for the given plugins; nothing runs until Start. A
// nil log discards.
func New(log *slog.Logger, specs ...Spec) *Host {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{log: log, specs: slices.Clone(specs), procs: make(map[string]*proc)}
}

// SetReceiptSink has the host subscribe to the receipts each plugin
// reports on its own (see sender.ReceiptSource) and hand them to sink,
// after every start and restart of the plugin's process. Call it before
// Start.
func (h *Host) SetReceiptSink(sink ReceiptSink) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sink = sink
}

// Start starts every plugin and asks each to describe itself. If one
// fails, those already started are stopped again and the error names the
// plugin that failed. Start may be called once.
func (h *Host) Start(ctx context.Context) error {
	seen := make(map[string]bool, len(h.specs))
	for _, s := range h.specs {
		if err := s.validate(); err != nil {
			return fmt.Errorf("start plugins: %w", err)
		}
		if seen[s.Name] {
			return fmt.Errorf("start plugins: plugin %q configured twice", s.Name)
		}
		seen[s.Name] = true
	}
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return ErrClosed
	case h.starting:
		h.mu.Unlock()
		return errors.New("start plugins: already started")
	}
	// The lock is not held while processes start, so Ready and the like
	// answer (false) meanwhile instead of waiting.
	h.starting = true
	h.mu.Unlock()

	h.mu.Lock()
	sink := h.sink
	h.mu.Unlock()
	procs := make(map[string]*proc, len(h.specs))
	stopAll := func() {
		for _, p := range procs {
			p.close()
		}
	}
	for _, s := range h.specs {
		p := newProc(s, h.log.With("plugin", s.Name), sink)
		if err := p.start(ctx); err != nil {
			stopAll()
			return fmt.Errorf("start plugin %q: %w", s.Name, err)
		}
		procs[s.Name] = p
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		stopAll()
		return ErrClosed
	}
	h.procs, h.started = procs, true
	return nil
}

func (h *Host) lookup(name string) (*proc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	p, ok := h.procs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPlugin, name)
	}
	return p, nil
}

// Send has the named plugin make one delivery attempt. It returns an
// error, not an Outcome, when the plugin is unknown (every name is, before
// Start) or cannot be reached; how the receiver answered is in the
// Outcome.
//
// Concurrent calls to one plugin share one SendStream to its process
// rather than making an RPC each; a plugin built without the stream is
// sent to with one unary Send per call. When the stream breaks, the calls
// waiting on it fail with [ErrPluginUnavailable] (their deliveries may
// have gone out: receivers de-duplicate on the delivery id) and the next
// calls use unary Sends for a moment, then a new stream.
func (h *Host) Send(ctx context.Context, name string, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	p, err := h.lookup(name)
	if err != nil {
		return nil, err
	}
	return p.send(ctx, d)
}

// SendBatch has the named plugin attempt several deliveries; the
// outcomes come back in the same order.
func (h *Host) SendBatch(ctx context.Context, name string, ds []*pluginv1.Delivery) ([]*pluginv1.Outcome, error) {
	p, err := h.lookup(name)
	if err != nil {
		return nil, err
	}
	return call(p, func(c *sender.Client) ([]*pluginv1.Outcome, error) { return c.SendBatch(ctx, ds) })
}

// ParseReceipt has the named plugin read a vendor's report. A plugin that
// does not parse receipts fails with gRPC code Unimplemented (see
// status.Code).
func (h *Host) ParseReceipt(ctx context.Context, name string, req *pluginv1.ParseReceiptRequest) ([]*pluginv1.ParsedReceipt, error) {
	p, err := h.lookup(name)
	if err != nil {
		return nil, err
	}
	return call(p, func(c *sender.Client) ([]*pluginv1.ParsedReceipt, error) { return c.ParseReceipt(ctx, req) })
}

// all returns the plugins in configuration order.
func (h *Host) all() []*proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	out := make([]*proc, 0, len(h.procs))
	for _, s := range h.specs {
		if p, ok := h.procs[s.Name]; ok {
			out = append(out, p)
		}
	}
	return out
}

// Plugins describes the plugins in configuration order. Like Ready, it
// notices a process that has died and starts bringing it back.
func (h *Host) Plugins() []Info {
	procs := h.all()
	infos := make([]Info, len(procs))
	for i, p := range procs {
		infos[i] = p.info()
	}
	return infos
}

// Ready reports whether every plugin process is up. A process found dead
// is restarted in the background, so a readiness probe alone is enough
// to bring plugins back when no deliveries are flowing.
func (h *Host) Ready() bool {
	h.mu.Lock()
	ok := h.started && !h.closed
	h.mu.Unlock()
	if !ok {
		return false
	}
	ready := true
	for _, p := range h.all() {
		// Every plugin is looked at, so each dead one is restarted.
		ready = p.up() && ready
	}
	return ready
}

// Close stops every plugin process and waits for them to exit. Calls
// after Close fail with ErrClosed; closing again does nothing.
func (h *Host) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	procs := h.procs
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.close)
	}
	wg.Wait()
}
