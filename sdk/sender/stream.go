package sender

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// MaxStreamSends bounds the deliveries one SendStream runs at once. When
// that many are running, the plugin stops reading the stream until one
// finishes, and gRPC's flow control makes the gateway wait.
const MaxStreamSends = 1024

// maxPack bounds how many finished outcomes go out in one stream message,
// and packBytes how large it grows with more than one: gRPC refuses
// messages over 4 MiB by default.
const (
	maxPack   = 128
	packBytes = 1 << 20
)

// SendStream serves the gateway's stream of deliveries: each one runs in
// its own goroutine and is answered as soon as it is done. When the
// gateway closes its side, the deliveries still running finish and are
// answered before the stream ends.
func (s *server) SendStream(stream grpc.BidiStreamingServer[pluginv1.SendStreamRequest, pluginv1.SendStreamResponse]) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	done := make(chan *pluginv1.StreamOutcome, maxPack)
	written := make(chan error, 1)
	go func() { written <- writeOutcomes(stream, done, cancel) }()

	r := &streamRuns{running: make(map[uint64]context.CancelFunc)}
	slots := make(chan struct{}, MaxStreamSends)
	var recvErr error
	for recvErr == nil {
		var req *pluginv1.SendStreamRequest
		req, recvErr = stream.Recv()
		for _, id := range req.GetCancel() {
			r.cancel(id)
		}
		for _, sd := range req.GetDeliveries() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				// The stream is gone: nobody is left to answer.
				recvErr = ctx.Err()
			}
			if recvErr != nil {
				break
			}
			dctx, dcancel := deliveryContext(ctx, sd.GetDeadlineMs())
			r.add(sd.GetCorrelationId(), dcancel)
			r.wg.Go(func() {
				defer func() { <-slots }()
				defer r.remove(sd.GetCorrelationId())
				defer dcancel()
				done <- s.streamSend(dctx, sd)
			})
		}
	}
	if !errors.Is(recvErr, io.EOF) {
		// The gateway did not say it was done: the stream broke, and the
		// deliveries running cannot be answered.
		cancel()
	}
	r.wg.Wait()
	close(done)
	werr := <-written
	switch {
	case !errors.Is(recvErr, io.EOF):
		return rpcError("send stream", recvErr)
	case werr != nil:
		return rpcError("send stream", werr)
	}
	return nil
}

// deliveryContext bounds one streamed delivery by the time the gateway
// waits for it, as a unary call's deadline would.
func deliveryContext(ctx context.Context, deadlineMs int64) (context.Context, context.CancelFunc) {
	if deadlineMs > 0 {
		return context.WithTimeout(ctx, time.Duration(deadlineMs)*time.Millisecond)
	}
	return context.WithCancel(ctx)
}

func (s *server) streamSend(ctx context.Context, sd *pluginv1.StreamDelivery) *pluginv1.StreamOutcome {
	o := &pluginv1.StreamOutcome{CorrelationId: sd.GetCorrelationId()}
	if sd.GetDelivery() == nil {
		o.Error = "send: no delivery"
		return o
	}
	out, err := s.send(ctx, sd.GetDelivery())
	if err != nil {
		o.Error = status.Convert(rpcError("send", err)).Message()
		return o
	}
	o.Outcome = out
	return o
}

// writeOutcomes sends outcomes as they finish, packing those that finished
// together into one message. When the stream fails it cancels the
// deliveries and drains the rest, so no sender blocks.
func writeOutcomes(stream grpc.BidiStreamingServer[pluginv1.SendStreamRequest, pluginv1.SendStreamResponse],
	done <-chan *pluginv1.StreamOutcome, cancel context.CancelFunc) error {
	for o := range done {
		pack := []*pluginv1.StreamOutcome{o}
		size := proto.Size(o)
	more:
		for len(pack) < maxPack && size < packBytes {
			select {
			case o, ok := <-done:
				if !ok {
					break more
				}
				pack = append(pack, o)
				size += proto.Size(o)
			default:
				break more
			}
		}
		if err := stream.Send(&pluginv1.SendStreamResponse{Outcomes: pack}); err != nil {
			cancel()
			for range done {
			}
			return err
		}
	}
	return nil
}

// streamRuns are the deliveries of one stream that are running, by
// correlation id, so that the gateway can cancel one.
type streamRuns struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[uint64]context.CancelFunc
}

func (r *streamRuns) add(id uint64, cancel context.CancelFunc) {
	r.mu.Lock()
	r.running[id] = cancel
	r.mu.Unlock()
}

func (r *streamRuns) remove(id uint64) {
	r.mu.Lock()
	delete(r.running, id)
	r.mu.Unlock()
}

func (r *streamRuns) cancel(id uint64) {
	r.mu.Lock()
	c := r.running[id]
	r.mu.Unlock()
	if c != nil {
		c()
	}
}

// Receipts streams the receipts of a plugin that is a [ReceiptSource].
func (s *server) Receipts(_ *pluginv1.ReceiptsRequest, stream grpc.ServerStreamingServer[pluginv1.ReceiptsResponse]) error {
	src, ok := s.impl.(ReceiptSource)
	if !ok {
		return status.Error(codes.Unimplemented, "receipts: this plugin reports no receipts of its own")
	}
	ctx := stream.Context()
	err := src.Receipts(ctx, func(r *pluginv1.ParsedReceipt) error {
		if r == nil {
			return nil
		}
		return stream.Send(&pluginv1.ReceiptsResponse{Receipts: []*pluginv1.ParsedReceipt{r}})
	})
	if err != nil && ctx.Err() == nil {
		return rpcError("receipts", err)
	}
	return nil
}
