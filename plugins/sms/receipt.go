package smsplugin

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/linxGnu/gosmpp/pdu"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// receipt is what an SMSC's delivery receipt says about one submitted
// message.
type receipt struct {
	// messageID is the id the SMSC gave the message in submit_sm_resp.
	messageID string
	// stat is the final state: DELIVRD, EXPIRED, DELETED, UNDELIV,
	// ACCEPTD, UNKNOWN or REJECTD.
	stat string
	// err is the network-specific error code, "000" or empty if none.
	err string
}

// receiptField matches the key:value pairs of SMPP 3.4 Appendix B's
// receipt text ("id:... sub:... dlvrd:... submit date:... done date:...
// stat:... err:... text:...").
var receiptField = regexp.MustCompile(`(?i)(?:^|\s)(id|stat|err):(\S*)`)

// messageStates are the values of the message_state TLV (5.2.28).
var messageStates = map[byte]string{
	1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED",
	5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}

// parseReceipt reads a delivery receipt from a deliver_sm. ok is false
// when the PDU is not a receipt (a mobile-originated message). The TLVs
// receipted_message_id and message_state win over the text, which SMSCs
// format loosely.
func parseReceipt(d *pdu.DeliverSM) (r receipt, ok bool) {
	// Bits 2-5 of esm_class give the message type; 0x04 is an SMSC
	// delivery receipt. Some SMSCs set 0x08 (SME acknowledgement) or
	// 0x20 (intermediate notification) for the same purpose.
	if d.EsmClass&0x3C == 0 {
		return r, false
	}
	// The text is read as bytes: receipts are ASCII whatever their
	// data_coding says.
	if raw, err := d.Message.GetMessageData(); err == nil {
		for _, m := range receiptField.FindAllStringSubmatch(string(raw), -1) {
			switch strings.ToLower(m[1]) {
			case "id":
				r.messageID = m[2]
			case "stat":
				r.stat = strings.ToUpper(m[2])
			case "err":
				r.err = m[2]
			}
		}
	}
	if f, found := d.OptionalParameters[pdu.TagReceiptedMessageID]; found && f.String() != "" {
		r.messageID = f.String()
	}
	if f, found := d.OptionalParameters[pdu.TagMessageStateOption]; found && len(f.Data) == 1 {
		if st, known := messageStates[f.Data[0]]; known {
			r.stat = st
		}
	}
	return r, true
}

// Receipt statuses as the gateway records them.
const (
	ReceiptDelivered = "delivered"
	ReceiptFailed    = "failed"
	// ReceiptAccepted is an intermediate state: the SMSC holds the
	// message (ENROUTE, ACCEPTD) and a final receipt may follow.
	ReceiptAccepted = "accepted"
	// ReceiptUnknown is a stat the plugin does not know.
	ReceiptUnknown = "unknown"
)

// ReceiptStatus maps an SMPP receipt's stat to a callgate receipt status
// and says whether it is final. DELIVRD is delivered; UNDELIV, REJECTD,
// EXPIRED, DELETED and UNKNOWN are failed; ENROUTE and ACCEPTD (also
// spelt ACCEPTED) are accepted and not final; anything else is unknown.
func ReceiptStatus(stat string) (status string, final bool) {
	switch strings.ToUpper(stat) {
	case "DELIVRD":
		return ReceiptDelivered, true
	case "UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN":
		return ReceiptFailed, true
	case "ENROUTE", "ACCEPTD", "ACCEPTED":
		return ReceiptAccepted, false
	}
	return ReceiptUnknown, false
}

// receiptTarget is what a submitted message's receipts are about.
type receiptTarget struct {
	deliveryID string
	// vendorID is the message id the delivery was reported with: that
	// of the text's first part.
	vendorID    string
	part, parts int
}

// trackKey names a message: message ids are only unique per SMSC.
type trackKey struct {
	smsc sessionKey
	id   string
}

// tracker remembers which delivery each submitted message belongs to,
// for the most recent [MaxTracked] messages; the oldest are forgotten
// first. A receipt for a message it does not know (after the plugin
// restarted, or too long after) is still reported, by message id alone.
type tracker struct {
	mu    sync.Mutex
	limit int
	byKey map[trackKey]receiptTarget
	order []trackKey // a ring: order[next] is the oldest once full
	next  int
}

// MaxTracked bounds how many submitted messages the plugin remembers the
// delivery of.
const MaxTracked = 100_000

func newTracker(limit int) *tracker {
	return &tracker{limit: limit, byKey: make(map[trackKey]receiptTarget)}
}

func (t *tracker) add(smsc sessionKey, id string, target receiptTarget) {
	if target.vendorID == "" {
		target.vendorID = id
	}
	k := trackKey{smsc: smsc, id: id}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byKey[k]; ok {
		t.byKey[k] = target
		return
	}
	if len(t.order) < t.limit {
		t.order = append(t.order, k)
	} else {
		delete(t.byKey, t.order[t.next])
		t.order[t.next] = k
		t.next = (t.next + 1) % t.limit
	}
	t.byKey[k] = target
}

// find returns what the message is about; a final receipt forgets it.
func (t *tracker) find(smsc sessionKey, id string, final bool) (receiptTarget, bool) {
	k := trackKey{smsc: smsc, id: id}
	t.mu.Lock()
	defer t.mu.Unlock()
	target, ok := t.byKey[k]
	if ok && final {
		// Its slot in the ring is reused when its turn comes.
		delete(t.byKey, k)
	}
	return target, ok
}

// MaxQueuedReceipts bounds the receipts kept while the gateway is not
// reading them; past it the oldest are dropped.
const MaxQueuedReceipts = 10_000

// onDeliver turns a delivery receipt into a receipt for the gateway and
// queues it; it runs on the session's reading goroutine and never blocks.
func (s *session) onDeliver(d *pdu.DeliverSM) {
	r, ok := parseReceipt(d)
	if !ok {
		s.log.Info("smsc sent a mobile-originated message; dropped", "esm_class", d.EsmClass)
		return
	}
	status, final := ReceiptStatus(r.stat)
	s.log.Info("smsc delivery receipt", "vendor_message_id", r.messageID, "stat", r.stat, "err", r.err, "status", status)
	if r.messageID == "" {
		return
	}
	pr := &pluginv1.ParsedReceipt{VendorMessageId: r.messageID, Status: status, Detail: receiptDetail(r, 0, 0)}
	if target, known := s.p.tracked.find(s.key, r.messageID, final); known {
		pr.DeliveryId, pr.VendorMessageId = target.deliveryID, target.vendorID
		pr.Detail = receiptDetail(r, target.part, target.parts)
	}
	s.p.queueReceipt(pr)
}

// receiptDetail says what the SMSC reported, for people.
func receiptDetail(r receipt, part, parts int) string {
	d := "stat:" + r.stat
	if r.err != "" {
		d += " err:" + r.err
	}
	if parts > 1 {
		d += fmt.Sprintf(" (part %d of %d, message id %s)", part, parts, r.messageID)
	}
	return d
}

// queueReceipt keeps a receipt for the gateway, dropping the oldest when
// the queue is full.
func (p *Plugin) queueReceipt(r *pluginv1.ParsedReceipt) {
	for {
		select {
		case p.receipts <- r:
			return
		default:
		}
		select {
		case old := <-p.receipts:
			p.log.Warn("receipt queue full; dropped the oldest receipt", "vendor_message_id", old.GetVendorMessageId())
		default:
		}
	}
}

// Receipts passes the SMSCs' delivery receipts to the gateway as they
// come, until ctx ends or send fails. Receipts that came while nobody
// was reading were queued (at most [MaxQueuedReceipts]).
func (p *Plugin) Receipts(ctx context.Context, send func(*pluginv1.ParsedReceipt) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-p.receipts:
			if err := send(r); err != nil {
				// Kept for the next subscriber, unless the queue filled
				// up meanwhile.
				p.queueReceipt(r)
				return err
			}
		}
	}
}
