package smsplugin

import (
	"regexp"
	"strings"

	"github.com/linxGnu/gosmpp/pdu"
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

// onDeliver logs a delivery receipt; see the package doc for why it goes
// no further.
func (s *session) onDeliver(d *pdu.DeliverSM) {
	r, ok := parseReceipt(d)
	if !ok {
		s.log.Info("smsc sent a mobile-originated message; dropped", "esm_class", d.EsmClass)
		return
	}
	s.log.Info("smsc delivery receipt", "vendor_message_id", r.messageID, "stat", r.stat, "err", r.err)
}
