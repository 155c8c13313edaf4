package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// report is the made-up echo vendor's delivery report, posted to the
// gateway's feedback path for the channel:
//
//	{"messages": [
//	  {"msgid": "m-1", "state": "DELIVERED"},
//	  {"msgid": "m-2", "ref": "dlv_...", "state": "FAILED", "error": "mailbox full"}
//	]}
//
// msgid is the id the vendor answered the delivery with (see
// vendorMessageID), ref the delivery id when the vendor kept it.
type report struct {
	Messages *[]reportMessage `json:"messages"`
}

type reportMessage struct {
	MsgID string `json:"msgid"`
	Ref   string `json:"ref"`
	State string `json:"state"`
	Error string `json:"error"`
}

// states maps the vendor's states onto the receipt statuses callgate
// shows, the ones the built-in sms plugin uses too.
var states = map[string]string{
	"DELIVERED": "delivered",
	"FAILED":    "failed",
	"ACCEPTED":  "accepted", // taken by the vendor, not yet delivered
}

// ParseReceipt implements sender.ReceiptParser: it reads one report into a
// receipt per message. A body that is not such a report is refused whole
// with codes.InvalidArgument, which the gateway answers the poster as a
// 400 InvalidParameter.ReceiptFormat carrying this message.
func (e *echo) ParseReceipt(_ context.Context, req *pluginv1.ParseReceiptRequest) ([]*pluginv1.ParsedReceipt, error) {
	receipts, err := parseReport(req.GetBody())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	e.log.Info("report read", "channel", req.GetChannelId(), "receipts", len(receipts))
	return receipts, nil
}

// parseReport reads the vendor's report; it is kept apart from the gRPC
// error so that it is tested on its own.
func parseReport(body []byte) ([]*pluginv1.ParsedReceipt, error) {
	var rep report
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("not an echo report: %v", err)
	}
	if rep.Messages == nil {
		return nil, fmt.Errorf(`not an echo report: no "messages" list`)
	}
	out := make([]*pluginv1.ParsedReceipt, 0, len(*rep.Messages))
	for i, m := range *rep.Messages {
		st, ok := states[m.State]
		switch {
		case m.MsgID == "" && m.Ref == "":
			return nil, fmt.Errorf("messages[%d] has neither msgid nor ref", i)
		case !ok:
			return nil, fmt.Errorf("messages[%d]: unknown state %q (DELIVERED, FAILED or ACCEPTED)", i, m.State)
		}
		out = append(out, &pluginv1.ParsedReceipt{DeliveryId: m.Ref, VendorMessageId: m.MsgID, Status: st, Detail: m.Error})
	}
	return out, nil
}

// vendorMessageID is the id the vendor gave a message it accepted: the
// msgid of its JSON answer, else its X-Request-Id header. Its reports name
// the message by that id.
func vendorMessageID(answer []byte, requestID string) string {
	var a struct {
		MsgID string `json:"msgid"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(answer), []byte("{")) && json.Unmarshal(answer, &a) == nil && a.MsgID != "" {
		return a.MsgID
	}
	return requestID
}
