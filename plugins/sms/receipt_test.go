package smsplugin_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	smsplugin "github.com/callgate/callgate/plugins/sms"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

func TestReceiptStatus(t *testing.T) {
	tests := []struct {
		stat  string
		want  string
		final bool
	}{
		{"DELIVRD", smsplugin.ReceiptDelivered, true},
		{"delivrd", smsplugin.ReceiptDelivered, true},
		{"UNDELIV", smsplugin.ReceiptFailed, true},
		{"REJECTD", smsplugin.ReceiptFailed, true},
		{"EXPIRED", smsplugin.ReceiptFailed, true},
		{"DELETED", smsplugin.ReceiptFailed, true},
		{"UNKNOWN", smsplugin.ReceiptFailed, true},
		{"ENROUTE", smsplugin.ReceiptAccepted, false},
		{"ACCEPTD", smsplugin.ReceiptAccepted, false},
		{"ACCEPTED", smsplugin.ReceiptAccepted, false},
		{"SKIPPED", smsplugin.ReceiptUnknown, false},
		{"", smsplugin.ReceiptUnknown, false},
	}
	for _, tt := range tests {
		t.Run("stat_"+tt.stat, func(t *testing.T) {
			got, final := smsplugin.ReceiptStatus(tt.stat)
			if got != tt.want || final != tt.final {
				t.Fatalf("ReceiptStatus(%q) = %q, %v; want %q, %v", tt.stat, got, final, tt.want, tt.final)
			}
		})
	}
}

// subscribe reads the plugin's receipt stream, as the gateway does, until
// the test ends.
func subscribe(t *testing.T, p *smsplugin.Plugin) <-chan *pluginv1.ParsedReceipt {
	t.Helper()
	ch := make(chan *pluginv1.ParsedReceipt, 64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = p.Receipts(ctx, func(r *pluginv1.ParsedReceipt) error {
			ch <- r
			return nil
		})
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ch
}

func nextReceipt(t *testing.T, peer *smsc, ch <-chan *pluginv1.ParsedReceipt) *pluginv1.ParsedReceipt {
	t.Helper()
	peer.next(t, "receipt_sent")
	// The peer has written the deliver_sm; the plugin reads it next.
	return <-ch
}

// TestReceipts_reach_the_stream: the SMSC's deliver_sm receipts come out
// of the plugin's receipt stream naming the delivery and its vendor id,
// with the stat mapped to callgate's statuses.
func TestReceipts_reach_the_stream(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port, "--receipts",
		"--receipt-stat", "15550000002=UNDELIV:001",
		"--receipt-stat", "15550000003=ENROUTE")
	p := newPlugin(t)
	receipts := subscribe(t, p)

	tests := []struct {
		name, dest, status, detail string
	}{
		{name: "delivered", dest: "+15550000001", status: "delivered", detail: "stat:DELIVRD err:000"},
		{name: "undeliverable", dest: "+15550000002", status: "failed", detail: "stat:UNDELIV err:001"},
		{name: "en_route", dest: "+15550000003", status: "accepted", detail: "stat:ENROUTE err:000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := send(t, p, &pluginv1.Delivery{Id: "dlv_" + tt.name, Destination: tt.dest, Body: []byte("x"), Settings: settings(port)})
			if out.GetKind() != delivered || out.GetVendorMessageId() == "" {
				t.Fatalf("outcome %v", out)
			}
			r := nextReceipt(t, peer, receipts)
			if r.GetDeliveryId() != "dlv_"+tt.name || r.GetVendorMessageId() != out.GetVendorMessageId() ||
				r.GetStatus() != tt.status || r.GetDetail() != tt.detail {
				t.Fatalf("receipt %v, want %s %q for %s", r, tt.status, tt.detail, out.GetVendorMessageId())
			}
		})
	}

	t.Run("every_part_of_a_split_text", func(t *testing.T) {
		out := send(t, p, &pluginv1.Delivery{Id: "dlv_long", Destination: "+15550000001",
			Body: []byte(strings.Repeat("0123456789", 40)), Settings: settings(port)})
		if out.GetKind() != delivered {
			t.Fatalf("outcome %v", out)
		}
		for part := range 3 {
			r := nextReceipt(t, peer, receipts)
			if r.GetDeliveryId() != "dlv_long" || r.GetVendorMessageId() != out.GetVendorMessageId() || r.GetStatus() != "delivered" ||
				!strings.Contains(r.GetDetail(), "part "+string(rune('1'+part))+" of 3") {
				t.Fatalf("receipt of part %d: %v (vendor id %s)", part+1, r, out.GetVendorMessageId())
			}
		}
	})
}

// TestReceipts_wait_for_a_subscriber: receipts that come while the
// gateway is not reading are kept for it.
func TestReceipts_wait_for_a_subscriber(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port, "--receipts")
	p := newPlugin(t)
	out := send(t, p, &pluginv1.Delivery{Id: "dlv_early", Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)})
	peer.next(t, "receipt_sent")
	peer.next(t, "resp") // the plugin answered the deliver_sm: it has read it
	r := <-subscribe(t, p)
	if r.GetDeliveryId() != "dlv_early" || r.GetVendorMessageId() != out.GetVendorMessageId() {
		t.Fatalf("receipt %v", r)
	}
}
