package sender

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-plugin"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// Sender is what every plugin implements.
type Sender interface {
	// Describe says what the plugin is and which settings its channels
	// take. The gateway calls it once per plugin start.
	Describe(ctx context.Context) (*pluginv1.DescribeResponse, error)
	// Send makes one delivery attempt and reports how it went. An error
	// is only for a delivery the plugin cannot handle at all; a receiver
	// that fails is reported in the Outcome.
	Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error)
}

// BatchSender is implemented by plugins that send several deliveries at
// once better than one by one. Without it, SendBatch calls Send in turn.
type BatchSender interface {
	// SendBatch returns one Outcome per delivery, in the same order.
	SendBatch(ctx context.Context, ds []*pluginv1.Delivery) ([]*pluginv1.Outcome, error)
}

// ReceiptParser is implemented by plugins whose vendors report back (for
// example delivery receipts posted to the gateway). Without it the gateway
// is told receipts are not supported.
type ReceiptParser interface {
	ParseReceipt(ctx context.Context, req *pluginv1.ParseReceiptRequest) ([]*pluginv1.ParsedReceipt, error)
}

// ReceiptSource is implemented by plugins that learn of receipts on their
// own rather than in a request the gateway hands them: an SMSC sends its
// delivery receipts over the plugin's SMPP session. The gateway subscribes
// once the plugin has started and again after every restart, finds each
// receipt's delivery (by delivery id, else by the vendor message id the
// attempt's Outcome carried) and records it. Without it the gateway asks
// for nothing.
type ReceiptSource interface {
	// Receipts calls send with each receipt as the plugin learns it, until
	// ctx ends (the gateway went away) or send fails, and then returns. A
	// receipt learnt while nobody is subscribed should be kept, within
	// bounds, for the next subscriber. send is not safe for concurrent
	// use.
	Receipts(ctx context.Context, send func(*pluginv1.ParsedReceipt) error) error
}

// HealthChecker is implemented by plugins that can tell whether they are
// able to send, for example by reaching their vendor. Without it a plugin
// that answers is taken as healthy.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// PluginName is the name the sender plugin is dispensed under.
const PluginName = "sender"

// Handshake is shared by the gateway and every plugin. ProtocolVersion
// changes with every incompatible change to the plugin protocol (a new
// proto package); the cookie only keeps the binary from being run by hand
// by mistake and is not a secret.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CALLGATE_PLUGIN",
	MagicCookieValue: "7c1f4e9a2b6d83f0c5a7e1d94b2f6a08",
}

// PluginMap is the plugin set served by a plugin (with its
// implementation) and asked for by the gateway (with nil).
func PluginMap(impl Sender) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}}
}

// Serve serves impl as a callgate plugin over gRPC. It is meant to be
// the whole of a plugin's main and returns only when the gateway is done
// with the plugin.
func Serve(impl Sender) {
	go exitWithParent(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginMap(impl),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// exitWithParent ends the plugin once the gateway that started it is gone
// (the plugin is then adopted by another process): a plugin must never
// outlive its gateway, even one killed with SIGKILL.
func exitWithParent(parent int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != parent {
			os.Exit(0)
		}
	}
}
