// Package sender is what a sender plugin for callgate is written against.
// A plugin is a separate program the gateway starts and talks to over
// gRPC (through hashicorp/go-plugin); this package hides that machinery
// behind the [Sender] interface and one call to [Serve].
//
// A vendor implements [Sender], and any of the optional [BatchSender],
// [ReceiptParser], [ReceiptSource] and [HealthChecker], then serves it
// from main:
//
//	package main
//
//	import (
//		"context"
//
//		pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
//		"github.com/callgate/callgate/sdk/sender"
//	)
//
//	type pigeon struct{}
//
//	func (pigeon) Describe(context.Context) (*pluginv1.DescribeResponse, error) {
//		return &pluginv1.DescribeResponse{Name: "pigeon", Version: "1.0.0", ChannelKinds: []string{"pigeon"}}, nil
//	}
//
//	func (pigeon) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
//		// Deliver d.Body to d.Destination, then say how it went.
//		return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED}, nil
//	}
//
//	func main() { sender.Serve(pigeon{}) }
//
// Build it as an ordinary executable (go build -o callgate-pigeon .) and
// list it in the gateway's plugin configuration, optionally with the
// binary's SHA-256 so the gateway refuses a swapped file. The program is
// not meant to be run by hand: started without the gateway's handshake it
// prints a notice and exits.
//
// Send reports what the receiver did in its [pluginv1.Outcome], failures
// included: an error return is for a delivery the plugin cannot handle at
// all. The gateway decides on retries from the Outcome's kind.
//
// Logs go to stderr, which the gateway reads and files under the plugin's
// name; [NewLogger] writes them in the form it understands best. Stdout
// belongs to the handshake and must not be written to.
//
// The gateway sends most deliveries over one stream per plugin process
// (the SendStream RPC) rather than one RPC each: [Serve] runs every
// delivery of the stream in its own goroutine, at most [MaxStreamSends]
// at once, and answers each as soon as it is done, so one receiver that
// hangs holds up no other. Send must therefore be safe for concurrent
// use, as it already is with concurrent unary calls.
//
// The handshake carries a protocol version, [Handshake].ProtocolVersion.
// The gateway refuses to talk to a plugin built against a different
// version, so a plugin must be rebuilt with an SDK of the same protocol
// version as the gateway that runs it.
package sender
