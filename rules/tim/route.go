package main

import (
	"strings"

	"github.com/callgate/callgate/sdk/rule"
)

// route POSTs the content, unchanged, to every callback config with the
// query Tencent IM puts on its callbacks:
//
//	SdkAppid         ext.sdkAppid, required, digits
//	CallbackCommand  the content's CallbackCommand, required
//	contenttype      json
//	ClientIP         ext.clientIP, when given
//	OptPlatform      ext.optPlatform, when given
//
// The ext keys are also read in the protocol's own spelling (SdkAppid,
// ClientIP, OptPlatform). A config with a token gets sign "tim": the sender
// adds Sign and RequestTime, made with the token, which the rule never
// sees.
func route(in *rule.Input) (*rule.Decision, error) {
	ext := in.Properties.Ext
	appID := param(ext, "sdkAppid", "SdkAppid")
	if appID == "" {
		return nil, rule.Reject(rule.CodeParamError, "参数sdkAppid不能为空 (ext.sdkAppid is required)")
	}
	if !digits(appID) {
		return nil, rule.Reject(rule.CodeInvalidValue, "参数sdkAppid必须是数字 (ext.sdkAppid must be digits)")
	}
	msg, err := rule.Parse(in.Content)
	if err != nil || msg.Kind() != rule.KindObject {
		return nil, rule.Reject(rule.CodeInvalidValue,
			"参数content不是JSON对象 (content must be the callback's JSON object)")
	}
	command, _ := msg.Get("CallbackCommand").Text()
	if strings.TrimSpace(command) == "" {
		return nil, rule.Reject(rule.CodeParamError,
			"参数CallbackCommand不能为空 (the content's CallbackCommand is required)")
	}
	if len(in.Configs) == 0 {
		return nil, rule.Reject(rule.CodeNoCallbackConfig,
			"the tenant has no callback config: add one with ModifyCallbackConfig first")
	}

	query := map[string]string{"SdkAppid": appID, "CallbackCommand": command, "contenttype": "json"}
	if ip := param(ext, "clientIP", "ClientIP"); ip != "" {
		query["ClientIP"] = ip
	}
	if platform := param(ext, "optPlatform", "OptPlatform"); platform != "" {
		query["OptPlatform"] = platform
	}
	d := &rule.Decision{Deliveries: make([]rule.Delivery, 0, len(in.Configs))}
	for _, c := range in.Configs {
		dl := rule.Delivery{
			Channel:     "http",
			ConfigID:    c.ID,
			Destination: c.URL,
			Method:      "POST",
			Headers:     map[string]string{"Content-Type": "application/json"},
			Query:       query,
			Body:        in.Content,
		}
		if c.HasToken {
			dl.Sign = "tim"
		}
		d.Deliveries = append(d.Deliveries, dl)
	}
	return d, nil
}

// param returns the first of the ext keys that is set, trimmed.
func param(ext map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(ext[k]); v != "" {
			return v
		}
	}
	return ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
