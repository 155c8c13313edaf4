package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// errStreamUnsupported means the plugin answered SendStream with
// Unimplemented (it was built before the stream existed). Deliveries
// failed with it never reached the plugin's Send, so they are sent again
// with the unary call.
var errStreamUnsupported = errors.New("plugin does not serve SendStream")

// errStreamBroken means the send stream failed under a call: the delivery
// may or may not have been sent, and the call is retried later like any
// that could not reach the plugin.
var errStreamBroken = errors.New("send stream broken")

// streamPause is how long a plugin is sent to with unary calls after its
// send stream broke, before a new stream is tried.
const streamPause = time.Second

// maxPack bounds how many deliveries, or cancellations, go out in one
// stream message, and packBytes how large it grows with more than one:
// gRPC refuses messages over 4 MiB by default.
const (
	maxPack   = 128
	packBytes = 1 << 20
)

// sendMux carries the Send calls of many callers over one SendStream. A
// writer goroutine packs the deliveries queued since its last write into
// one message; a reader goroutine hands each answer to the caller waiting
// for it by correlation id. When the stream fails, every call waiting on
// it fails at once and the mux is not used again.
type sendMux struct {
	stream  grpc.BidiStreamingClient[pluginv1.SendStreamRequest, pluginv1.SendStreamResponse]
	stop    context.CancelFunc
	queue   chan *pluginv1.StreamDelivery
	cancels chan uint64
	done    chan struct{} // closed by fail

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan *pluginv1.StreamOutcome
	err     error // why it failed, once done is closed
}

// openMux opens a SendStream on rpc that lives until ctx ends or close.
// Its goroutines are counted in wg.
func openMux(ctx context.Context, rpc *sender.Client, wg *sync.WaitGroup) (*sendMux, error) {
	ctx, stop := context.WithCancel(ctx)
	stream, err := rpc.SendStream(ctx)
	if err != nil {
		stop()
		return nil, err
	}
	m := &sendMux{
		stream:  stream,
		stop:    stop,
		queue:   make(chan *pluginv1.StreamDelivery, maxPack),
		cancels: make(chan uint64, maxPack),
		done:    make(chan struct{}),
		pending: make(map[uint64]chan *pluginv1.StreamOutcome),
	}
	wg.Go(m.write)
	wg.Go(m.read)
	return m, nil
}

// broken reports whether the stream has failed.
func (m *sendMux) broken() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// send has the plugin attempt d and waits for the answer. An error is
// either the caller's context's, errStreamUnsupported, a failed stream's
// (the delivery may or may not have gone out), or the plugin's refusal
// of the delivery, a gRPC status error as a unary call would return.
func (m *sendMux) send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	ch := make(chan *pluginv1.StreamOutcome, 1)
	m.mu.Lock()
	if m.err != nil {
		err := m.err
		m.mu.Unlock()
		return nil, err
	}
	m.next++
	id := m.next
	m.pending[id] = ch
	m.mu.Unlock()

	sd := &pluginv1.StreamDelivery{CorrelationId: id, Delivery: d}
	if dl, ok := ctx.Deadline(); ok {
		sd.DeadlineMs = max(time.Until(dl).Milliseconds(), 1)
	}
	select {
	case m.queue <- sd:
	case <-m.done:
		return nil, m.failure()
	case <-ctx.Done():
		m.forget(id)
		return nil, ctx.Err()
	}
	select {
	case o := <-ch:
		return answer(o)
	case <-m.done:
		select {
		case o := <-ch:
			return answer(o)
		default:
			return nil, m.failure()
		}
	case <-ctx.Done():
		m.forget(id)
		// The plugin stops working on it; if the queue is full, it stops
		// at the delivery's own deadline instead.
		select {
		case m.cancels <- id:
		default:
		}
		return nil, ctx.Err()
	}
}

func answer(o *pluginv1.StreamOutcome) (*pluginv1.Outcome, error) {
	if e := o.GetError(); e != "" {
		return nil, status.Error(codes.Internal, e)
	}
	if o.GetOutcome() == nil {
		return nil, errors.New("send: plugin returned no outcome")
	}
	return o.GetOutcome(), nil
}

func (m *sendMux) forget(id uint64) {
	m.mu.Lock()
	delete(m.pending, id)
	m.mu.Unlock()
}

func (m *sendMux) failure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// fail marks the stream failed with err, once, and ends it.
func (m *sendMux) fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		if status.Code(err) == codes.Unimplemented {
			err = fmt.Errorf("%w: %w", errStreamUnsupported, err)
		} else {
			err = fmt.Errorf("%w: %w", errStreamBroken, err)
		}
		m.err = err
		m.pending = nil
		close(m.done)
	}
	m.mu.Unlock()
	m.stop()
}

// write sends queued deliveries and cancellations, packing what queued up
// while the previous message was being written.
func (m *sendMux) write() {
	for {
		req := &pluginv1.SendStreamRequest{}
		size := 0
		select {
		case sd := <-m.queue:
			req.Deliveries = append(req.Deliveries, sd)
			size += proto.Size(sd)
		case id := <-m.cancels:
			req.Cancel = append(req.Cancel, id)
		case <-m.done:
			return
		}
	pack:
		for len(req.Deliveries)+len(req.Cancel) < maxPack && size < packBytes {
			select {
			case sd := <-m.queue:
				req.Deliveries = append(req.Deliveries, sd)
				size += proto.Size(sd)
			case id := <-m.cancels:
				req.Cancel = append(req.Cancel, id)
			default:
				break pack
			}
		}
		if err := m.stream.Send(req); err != nil {
			// io.EOF means the stream ended; Recv has its real status.
			if !errors.Is(err, io.EOF) {
				m.fail(err)
			}
			return
		}
	}
}

// read hands each answer to the call waiting for it.
func (m *sendMux) read() {
	for {
		resp, err := m.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("plugin ended the stream")
			}
			m.fail(err)
			return
		}
		for _, o := range resp.GetOutcomes() {
			m.mu.Lock()
			ch := m.pending[o.GetCorrelationId()]
			delete(m.pending, o.GetCorrelationId())
			m.mu.Unlock()
			if ch != nil {
				ch <- o // buffered, and answered once
			}
		}
	}
}

// send has the plugin attempt d: over the process's send stream when it
// serves one, else with a unary call.
func (p *proc) send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	client, m, err := p.liveMux()
	if err != nil {
		return nil, err
	}
	if m != nil {
		out, err := m.send(ctx, d)
		switch {
		case err == nil:
			p.succeeded()
			return out, nil
		case errors.Is(err, errStreamUnsupported):
			p.streamUnsupported(m)
			// Nothing was sent: send it the old way.
		case errors.Is(err, errStreamBroken):
			if status.Code(err) == codes.Unavailable || client.Exited() {
				p.markDead(client, err)
			} else {
				p.streamBroke(m, err)
			}
			return nil, fmt.Errorf("%w: plugin %q: %w", ErrPluginUnavailable, p.spec.Name, err)
		default:
			// The caller gave up, or the plugin refused the delivery.
			return nil, fmt.Errorf("plugin %q: send: %w", p.spec.Name, err)
		}
	}
	return call(p, func(c *sender.Client) (*pluginv1.Outcome, error) { return c.Send(ctx, d) })
}

// liveMux returns the running process and its send stream, opening one if
// needed; the stream is nil when the process is to be sent to with unary
// calls.
func (p *proc) liveMux() (*plugin.Client, *sendMux, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	client, rpc, err := p.liveLocked()
	if err != nil {
		return nil, nil, err
	}
	if p.noStream || time.Now().Before(p.streamAfter) {
		return client, nil, nil
	}
	if p.mux == nil || p.mux.broken() {
		// Opening a stream sends nothing and does not wait for the plugin.
		m, err := openMux(p.gen, rpc, &p.workers)
		if err != nil {
			p.log.Warn("plugin send stream not opened; sending with unary calls", "error", err, "retry_in", streamPause)
			p.streamAfter = time.Now().Add(streamPause)
			return client, nil, nil
		}
		p.mux = m
	}
	return client, p.mux, nil
}

// streamUnsupported notes that the process does not serve SendStream.
func (p *proc) streamUnsupported(m *sendMux) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mux == m {
		p.mux, p.noStream = nil, true
		p.log.Info("plugin serves no send stream (built with an older sdk/sender); sending with one call per delivery")
	}
}

// streamBroke drops a broken stream of a process that still lives, and
// sends with unary calls for a moment before the next stream.
func (p *proc) streamBroke(m *sendMux, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mux == m {
		p.mux, p.streamAfter = nil, time.Now().Add(streamPause)
		p.log.Warn("plugin send stream broke; sending with unary calls for a moment", "error", err, "retry_in", streamPause)
	}
}
