package smsplugin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/linxGnu/gosmpp/data"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// permanentStatuses are the submit_sm_resp statuses that say the message
// itself is wrong, so sending it again cannot succeed. Any other status
// (throttling, a full queue, system errors, vendor-specific codes) is
// retried.
var permanentStatuses = map[data.CommandStatusType]bool{
	data.ESME_RINVMSGLEN:       true,
	data.ESME_RINVCMDLEN:       true,
	data.ESME_RINVCMDID:        true,
	data.ESME_RINVPRTFLG:       true,
	data.ESME_RINVREGDLVFLG:    true,
	data.ESME_RINVSRCADR:       true,
	data.ESME_RINVDSTADR:       true,
	data.ESME_RINVSERTYP:       true,
	data.ESME_RINVESMCLASS:     true,
	data.ESME_RINVSRCTON:       true,
	data.ESME_RINVSRCNPI:       true,
	data.ESME_RINVDSTTON:       true,
	data.ESME_RINVDSTNPI:       true,
	data.ESME_RINVSCHED:        true,
	data.ESME_RINVEXPIRY:       true,
	data.ESME_RINVDFTMSGID:     true,
	data.ESME_RX_P_APPN:        true,
	data.ESME_RX_R_APPN:        true,
	data.ESME_RINVOPTPARSTREAM: true,
	data.ESME_ROPTPARNOTALLWD:  true,
	data.ESME_RINVPARLEN:       true,
	data.ESME_RMISSINGOPTPARAM: true,
	data.ESME_RINVOPTPARAMVAL:  true,
	// ESME_RINVDCS, from SMPP 5.0 but answered by many 3.4 SMSCs.
	data.CommandStatusType(0x00000104): true,
}

// Send makes one delivery attempt. Everything the SMSC or the network
// does is reported in the Outcome; the error is only for a nil delivery.
func (p *Plugin) Send(ctx context.Context, d *pluginv1.Delivery) (*pluginv1.Outcome, error) {
	if d == nil {
		return nil, errors.New("send: no delivery")
	}
	start := time.Now()
	out := p.send(ctx, d)
	out.LatencyMs = time.Since(start).Milliseconds()
	return out, nil
}

func (p *Plugin) send(ctx context.Context, d *pluginv1.Delivery) *pluginv1.Outcome {
	cfg, err := parseConfig(d)
	if err != nil {
		return permanent(err.Error())
	}
	dst, err := destination(d.GetDestination())
	if err != nil {
		return permanent(err.Error())
	}
	src, err := source(cfg.sourceAddr)
	if err != nil {
		return permanent(fmt.Sprintf("setting %s: %v", SettingSourceAddr, err))
	}
	t, err := encodeText(string(d.GetBody()))
	if err != nil {
		return permanent(err.Error())
	}
	// One reference per delivery attempt; random so that parts of two
	// texts to one phone are unlikely to be taken for one text.
	pdus, err := submits(src, dst, t, byte(rand.Uint32()))
	if err != nil {
		return permanent(err.Error())
	}

	s, err := p.session(cfg)
	if err != nil {
		return retryable(err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		return retryable(fmt.Sprintf("smsc %s: no bind in time (limit %s)", s.key, cfg.timeout))
	}
	// The first part's message id stands for the whole text: receipts of
	// later parts are reported under it.
	target := receiptTarget{deliveryID: d.GetId(), parts: len(pdus)}
	for i, pd := range pdus {
		target.part = i + 1
		a := s.submit(ctx, pd, target)
		if out := judge(a, s.key, i, len(pdus)); out != nil {
			return out
		}
		if i == 0 {
			target.vendorID = a.messageID
		}
	}
	return &pluginv1.Outcome{
		Kind:            pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED,
		VendorMessageId: target.vendorID,
	}
}

// judge turns an answer into a failed Outcome, or nil for success.
func judge(a answer, key sessionKey, i, n int) *pluginv1.Outcome {
	where := fmt.Sprintf("smsc %s", key)
	if n > 1 {
		// Parts before this one went out and will go again on a retry.
		where += fmt.Sprintf(", part %d of %d", i+1, n)
	}
	switch {
	case a.err != nil:
		return retryable(fmt.Sprintf("%s: %v", where, a.err))
	case a.status == data.ESME_ROK && !a.nack:
		return nil
	}
	what := "submit_sm_resp"
	if a.nack {
		what = "generic_nack"
	}
	msg := fmt.Sprintf("%s: %s status 0x%08X (%s)", where, what, uint32(a.status), a.status.Desc())
	out := retryable(msg)
	if permanentStatuses[a.status] {
		out = permanent(msg)
	}
	out.StatusCode = int32(a.status)
	return out
}

func permanent(msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, Error: msg}
}

func retryable(msg string) *pluginv1.Outcome {
	return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, Error: msg}
}
