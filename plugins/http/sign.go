package httpplugin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// protocolSignature returns the query parameters of a receiver protocol's
// own signature, which a rule asks for by name (Delivery.Sign) because
// rules never see the token it needs.
func protocolSignature(d *pluginv1.Delivery) (map[string]string, error) {
	switch d.GetSign() {
	case "":
		return nil, nil
	case "tim":
		// Tencent IM third-party callbacks: Sign = hex(SHA-256(token +
		// RequestTime)), RequestTime in Unix seconds.
		if d.GetCallbackToken() == "" {
			return nil, fmt.Errorf("sign %q needs the config's callbackToken", d.GetSign())
		}
		ts := d.GetTimestamp()
		if ts == 0 {
			ts = time.Now().Unix()
		}
		rt := strconv.FormatInt(ts, 10)
		sum := sha256.Sum256([]byte(d.GetCallbackToken() + rt))
		return map[string]string{"RequestTime": rt, "Sign": hex.EncodeToString(sum[:])}, nil
	default:
		return nil, fmt.Errorf("unknown sign %q (known: tim)", d.GetSign())
	}
}
