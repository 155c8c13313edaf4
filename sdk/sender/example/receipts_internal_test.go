package main

import (
	"strings"
	"testing"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// TestParseReport reads the vendor's reports into receipts, and refuses
// whole any body that is not one.
func TestParseReport(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []*pluginv1.ParsedReceipt
		wantErr string
	}{
		{name: "delivered_and_failed",
			body: `{"messages":[{"msgid":"m-1","state":"DELIVERED"},{"msgid":"m-2","ref":"dlv_2","state":"FAILED","error":"mailbox full"}]}`,
			want: []*pluginv1.ParsedReceipt{
				{VendorMessageId: "m-1", Status: "delivered"},
				{VendorMessageId: "m-2", DeliveryId: "dlv_2", Status: "failed", Detail: "mailbox full"},
			}},
		{name: "accepted_by_ref_only", body: `{"messages":[{"ref":"dlv_3","state":"ACCEPTED"}]}`,
			want: []*pluginv1.ParsedReceipt{{DeliveryId: "dlv_3", Status: "accepted"}}},
		{name: "unknown_fields_ignored", body: `{"account":"a1","messages":[{"msgid":"m-4","state":"DELIVERED","at":"2026-01-01T00:00:00Z"}]}`,
			want: []*pluginv1.ParsedReceipt{{VendorMessageId: "m-4", Status: "delivered"}}},
		{name: "empty_list", body: `{"messages":[]}`, want: []*pluginv1.ParsedReceipt{}},
		{name: "not_json", body: `<report/>`, wantErr: "not an echo report"},
		{name: "no_messages", body: `{"deliveries":[]}`, wantErr: `no "messages" list`},
		{name: "messages_not_a_list", body: `{"messages":{"msgid":"m-1"}}`, wantErr: "not an echo report"},
		{name: "no_ids", body: `{"messages":[{"msgid":"m-1","state":"DELIVERED"},{"state":"DELIVERED"}]}`, wantErr: "messages[1] has neither msgid nor ref"},
		{name: "unknown_state", body: `{"messages":[{"msgid":"m-1","state":"delivered"}]}`, wantErr: `messages[0]: unknown state "delivered"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseReport([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseReport = %v, %v; want error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parseReport = %v, want %v", got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.GetDeliveryId() != w.GetDeliveryId() || g.GetVendorMessageId() != w.GetVendorMessageId() ||
					g.GetStatus() != w.GetStatus() || g.GetDetail() != w.GetDetail() {
					t.Errorf("receipt %d = %v, want %v", i, g, w)
				}
			}
		})
	}
}

// TestVendorMessageID: the vendor's JSON answer names the message, else
// its X-Request-Id does.
func TestVendorMessageID(t *testing.T) {
	tests := []struct{ name, answer, requestID, want string }{
		{name: "msgid_in_answer", answer: `{"msgid":"m-1"}`, requestID: "r-1", want: "m-1"},
		{name: "request_id_without_answer", answer: ``, requestID: "r-1", want: "r-1"},
		{name: "request_id_when_answer_has_no_msgid", answer: `{"ok":true}`, requestID: "r-1", want: "r-1"},
		{name: "request_id_when_answer_is_not_json", answer: `accepted`, requestID: "r-1", want: "r-1"},
		{name: "neither", answer: `[]`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vendorMessageID([]byte(tt.answer), tt.requestID); got != tt.want {
				t.Errorf("vendorMessageID = %q, want %q", got, tt.want)
			}
		})
	}
}
