package pluginhost_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	httpplugin "github.com/callgate/callgate/plugins/http"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	"github.com/callgate/callgate/sdk/sender"
)

// pluginEnv makes the test binary serve a plugin instead of running the
// tests, so the tests can start real plugin processes from os.Args[0].
const pluginEnv = "CALLGATE_TEST_PLUGIN"

func TestMain(m *testing.M) {
	switch os.Getenv(pluginEnv) {
	case "":
		os.Exit(m.Run())
	case "http":
		sender.Serve(httpplugin.New())
	case "http-v2":
		// A plugin built against a future protocol version.
		hs := sender.Handshake
		hs.ProtocolVersion++
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         sender.PluginMap(httpplugin.New()),
			GRPCServer:      plugin.DefaultGRPCServer,
		})
	case "crash":
		os.Exit(3)
	case "echo":
		sender.Serve(&echo{receipts: make(chan *pluginv1.ParsedReceipt, 100)})
	case "echo-legacy":
		// The echo plugin as one built with an sdk/sender from before
		// SendStream and Receipts: it answers both Unimplemented.
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: sender.Handshake,
			Plugins:         plugin.PluginSet{sender.PluginName: &legacyPlugin{impl: &echo{}}},
			GRPCServer:      plugin.DefaultGRPCServer,
		})
	}
	os.Exit(0)
}

// echo answers every delivery at once, without sending anything, with the
// gRPC method that carried it in the response body and the delivery id as
// the vendor message id, and reports a receipt for each. A delivery to
// "hang" waits until its context ends, after making the file its subject
// names, if any.
type echo struct {
	receipts chan *pluginv1.ParsedReceipt
}

func (e *echo) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{Name: "echo", Version: "1.0.0", ChannelKinds: []string{"echo"}}, nil
}

func (e *echo) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	if d.GetDestination() == "hang" {
		if d.GetSubject() != "" {
			// Tells the test the delivery has arrived.
			_ = os.WriteFile(d.GetSubject(), nil, 0o600)
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if e.receipts != nil {
		select {
		case e.receipts <- &pluginv1.ParsedReceipt{DeliveryId: d.GetId(), VendorMessageId: "v-" + d.GetId(), Status: "delivered"}:
		default: // nobody subscribed (benchmarks): dropped
		}
	}
	method, _ := grpc.Method(ctx)
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, VendorMessageId: d.GetId(),
		ResponseBody: []byte(method)}, nil
}

func (e *echo) Receipts(ctx context.Context, send func(*pluginv1.ParsedReceipt) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-e.receipts:
			if err := send(r); err != nil {
				return err
			}
		}
	}
}

// legacyPlugin serves only what the first plugin protocol had.
type legacyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl sender.Sender
}

func (p *legacyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterSenderServer(s, &legacyServer{impl: p.impl})
	return nil
}

func (p *legacyPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("plugin side only")
}

type legacyServer struct {
	pluginv1.UnimplementedSenderServer
	impl sender.Sender
}

func (s *legacyServer) Describe(ctx context.Context, _ *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return s.impl.Describe(ctx)
}

func (s *legacyServer) Send(ctx context.Context, req *pluginv1.SendRequest) (*pluginv1.SendResponse, error) {
	out, err := s.impl.Send(ctx, req.GetDelivery())
	if err != nil {
		return nil, err
	}
	return &pluginv1.SendResponse{Outcome: out}, nil
}

var (
	_ sender.ReceiptSource = (*echo)(nil)
	_ plugin.GRPCPlugin    = (*legacyPlugin)(nil)
)
