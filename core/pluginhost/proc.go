package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// Restart pacing and limits.
const (
	backoffStart   = 50 * time.Millisecond
	backoffMax     = 5 * time.Second
	startTimeout   = 30 * time.Second
	restartTimeout = 10 * time.Second
)

// proc is one plugin: its current process, if any, and what restarts it.
type proc struct {
	spec Spec
	log  *slog.Logger
	// ctx ends when the host closes, stopping a pending restart.
	ctx    context.Context
	cancel context.CancelFunc
	// restarter is the background restart, when one runs.
	restarter sync.WaitGroup
	// sink, when set, is handed the receipts the plugin reports.
	sink ReceiptSink
	// workers are the goroutines that serve a process (its receipt
	// subscription, its send stream's writer and reader). They end with
	// their process's generation; close waits for them.
	workers sync.WaitGroup

	mu         sync.Mutex
	client     *plugin.Client // nil while down
	rpc        *sender.Client
	desc       *pluginv1.DescribeResponse
	restarting bool // a restart goroutine owns bringing the process back
	failures   int  // deaths and failed starts since the last good call
	restarts   int
	closed     bool
	// gen ends when the current process is taken out of service.
	gen    context.Context
	endGen context.CancelFunc
	// mux is the current process's send stream, nil until first used or
	// after it broke; noStream is set when the process does not serve
	// one, and streamAfter delays a new stream after one broke.
	mux         *sendMux
	noStream    bool
	streamAfter time.Time
}

func newProc(spec Spec, log *slog.Logger, sink ReceiptSink) *proc {
	ctx, cancel := context.WithCancel(context.Background())
	return &proc{spec: spec, log: log, sink: sink, ctx: ctx, cancel: cancel}
}

// start runs the first process, failing rather than retrying.
func (p *proc) start(ctx context.Context) error {
	c, rpc, desc, err := p.launch(ctx, startTimeout)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.installLocked(c, rpc, desc)
	p.mu.Unlock()
	p.log.Info("plugin started", "version", desc.GetVersion(), "channel_kinds", desc.GetChannelKinds())
	return nil
}

// installLocked puts a launched process in service and starts what serves
// it: the subscription to its receipts, when the host has a sink.
func (p *proc) installLocked(c *plugin.Client, rpc *sender.Client, desc *pluginv1.DescribeResponse) {
	p.client, p.rpc, p.desc = c, rpc, desc
	p.gen, p.endGen = context.WithCancel(p.ctx)
	p.mux, p.noStream, p.streamAfter = nil, false, time.Time{}
	if p.sink != nil {
		p.workers.Add(1)
		go p.subscribe(p.gen, c, rpc)
	}
}

// launch starts a process with a fresh exec.Cmd (one cannot be run twice),
// connects to it and asks it to describe itself.
func (p *proc) launch(ctx context.Context, timeout time.Duration) (*plugin.Client, *sender.Client, *pluginv1.DescribeResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dl, _ := ctx.Deadline()
	if timeout = time.Until(dl); timeout <= 0 || ctx.Err() != nil {
		return nil, nil, nil, fmt.Errorf("launch: %w", context.Cause(ctx))
	}
	cmd := exec.Command(p.spec.Cmd[0], p.spec.Cmd[1:]...)
	// The spec's variables come last so they win over the gateway's.
	cmd.Env = append(os.Environ(), p.spec.Env...)
	cmd.SysProcAttr = procAttr()
	var secure *plugin.SecureConfig
	if p.spec.SHA256 != "" {
		sum, _ := hex.DecodeString(p.spec.SHA256) // checked by Spec.validate
		// A new hash each time: SecureConfig does not reset it.
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sender.Handshake,
		Plugins:          sender.PluginMap(nil),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLogger(p.log),
		StartTimeout:     timeout,
		SkipHostEnv:      true,
		Managed:          false,
	})
	rpc, desc, err := connect(ctx, client)
	if err != nil {
		client.Kill()
		return nil, nil, nil, startError(err)
	}
	return client, rpc, desc, nil
}

func connect(ctx context.Context, client *plugin.Client) (*sender.Client, *pluginv1.DescribeResponse, error) {
	proto, err := client.Client()
	if err != nil {
		return nil, nil, err
	}
	raw, err := proto.Dispense(sender.PluginName)
	if err != nil {
		return nil, nil, fmt.Errorf("dispense: %w", err)
	}
	rpc, ok := raw.(*sender.Client)
	if !ok {
		return nil, nil, fmt.Errorf("dispense: got %T, want a sender client", raw)
	}
	desc, err := rpc.Describe(ctx)
	if err != nil {
		return nil, nil, err
	}
	return rpc, desc, nil
}

// startError names the failures an operator must act on. go-plugin has no
// sentinel for a version mismatch, only this message.
func startError(err error) error {
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("%w: %w", ErrChecksumMismatch, err)
	case strings.Contains(err.Error(), "incompatible API version"):
		return fmt.Errorf("%w: the gateway speaks plugin protocol version %d; rebuild the plugin with a matching sdk/sender: %w",
			ErrHandshakeMismatch, sender.Handshake.ProtocolVersion, err)
	}
	return err
}

// live returns the running process, or schedules its restart and fails.
func (p *proc) live() (*plugin.Client, *sender.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.liveLocked()
}

func (p *proc) liveLocked() (*plugin.Client, *sender.Client, error) {
	if p.closed {
		return nil, nil, ErrClosed
	}
	if p.client != nil && !p.client.Exited() {
		return p.client, p.rpc, nil
	}
	if p.client != nil {
		p.log.Warn("plugin process exited; restarting")
		p.detachLocked()
	}
	return nil, nil, fmt.Errorf("%w: plugin %q is restarting", ErrPluginUnavailable, p.spec.Name)
}

// up reports whether the process is running, scheduling a restart if it
// has died.
func (p *proc) up() bool {
	_, _, err := p.live()
	return err == nil
}

// call runs one RPC. A failure that means the process is gone turns into
// ErrPluginUnavailable and a restart; any other error is the plugin's
// answer and is passed on.
func call[T any](p *proc, fn func(*sender.Client) (T, error)) (T, error) {
	var zero T
	client, rpc, err := p.live()
	if err != nil {
		return zero, err
	}
	v, err := fn(rpc)
	if err != nil {
		if status.Code(err) == codes.Unavailable || client.Exited() {
			p.markDead(client, err)
			return zero, fmt.Errorf("%w: plugin %q: %w", ErrPluginUnavailable, p.spec.Name, err)
		}
		return zero, fmt.Errorf("plugin %q: %w", p.spec.Name, err)
	}
	p.succeeded()
	return v, nil
}

func (p *proc) succeeded() {
	p.mu.Lock()
	p.failures = 0
	p.mu.Unlock()
}

// markDead drops a process that failed a call, unless another caller has
// already replaced it.
func (p *proc) markDead(client *plugin.Client, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.client != client {
		return
	}
	p.log.Warn("plugin unreachable; restarting", "error", err)
	p.detachLocked()
}

// detachLocked takes the current process out of service and hands it to
// a restart goroutine, which kills it and starts another. Only one such
// goroutine runs per plugin: while it does, p.client is nil.
func (p *proc) detachLocked() {
	old := p.client
	p.client, p.rpc = nil, nil
	p.endGenLocked()
	if p.restarting {
		return
	}
	p.restarting = true
	delay := backoff(p.failures)
	p.failures++
	p.restarter.Add(1)
	go p.restart(old, delay)
}

// endGenLocked stops what serves the current process: its send stream and
// its receipt subscription.
func (p *proc) endGenLocked() {
	if p.endGen != nil {
		p.endGen()
	}
	p.mux = nil
}

func backoff(failures int) time.Duration {
	return min(backoffStart<<min(failures, 16), backoffMax)
}

// restart brings the plugin back, retrying with backoff until it runs or
// the host closes.
func (p *proc) restart(old *plugin.Client, delay time.Duration) {
	defer p.restarter.Done()
	if old != nil {
		// Reaps a dead process; kills one that is alive but unreachable.
		old.Kill()
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-timer.C:
		}
		client, rpc, desc, err := p.launch(p.ctx, restartTimeout)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			if client != nil {
				client.Kill()
			}
			return
		}
		if err == nil {
			p.installLocked(client, rpc, desc)
			p.restarting = false
			p.restarts++
			n := p.restarts
			p.mu.Unlock()
			p.log.Info("plugin restarted", "restarts", n, "version", desc.GetVersion())
			return
		}
		delay = backoff(p.failures)
		p.failures++
		p.mu.Unlock()
		p.log.Error("plugin restart failed", "error", err, "retry_in", delay)
		timer.Reset(delay)
	}
}

func (p *proc) info() Info {
	up := p.up()
	p.mu.Lock()
	defer p.mu.Unlock()
	return Info{
		Name:         p.spec.Name,
		Version:      p.desc.GetVersion(),
		ChannelKinds: slices.Clone(p.desc.GetChannelKinds()),
		Settings:     p.desc.GetSettings(),
		Healthy:      up,
		Restarts:     p.restarts,
	}
}

// close kills the process and stops any restart, waiting for both.
func (p *proc) close() {
	p.mu.Lock()
	p.closed = true
	client := p.client
	p.client, p.rpc = nil, nil
	p.endGenLocked()
	p.mu.Unlock()
	p.cancel()
	if client != nil {
		client.Kill()
	}
	p.restarter.Wait()
	p.workers.Wait()
	p.log.Info("plugin stopped")
}
