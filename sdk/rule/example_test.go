package rule_test

import (
	"fmt"

	"github.com/callgate/callgate/sdk/rule"
)

// A route function goes through the JSON the gateway sends and reads with
// ServeJSON, exactly as callgate_v1_route calls it.
func ExampleRouteFunc_ServeJSON() {
	route := rule.RouteFunc(func(in *rule.Input) (*rule.Decision, error) {
		subject := in.Properties.Ext["subject"]
		if subject == "" {
			return nil, rule.Reject(rule.CodeParamError, "参数subject不能为空 (subject is required)")
		}
		return &rule.Decision{Deliveries: []rule.Delivery{{
			Channel: "email", Destination: in.Properties.Ext["destination"], Subject: subject, Body: in.Content,
		}}}, nil
	})
	fmt.Printf("%s\n", route.ServeJSON(nil, []byte(`{"abi":1,"content":"hello",
		"properties":{"ext":{"destination":"ops@example.com","subject":"Hi"}}}`)))
	fmt.Printf("%s\n", route.ServeJSON(nil, []byte(`{"abi":1,"content":"hello"}`)))
	// Output:
	// {"deliveries":[{"channel":"email","destination":"ops@example.com","body":"hello","subject":"Hi"}]}
	// {"reject":{"code":"InvalidParameter.ParamError","message":"参数subject不能为空 (subject is required)"}}
}

// Parse reads a callback's content or a receiver's answer; lookups chain
// through missing values.
func ExampleParse() {
	v, err := rule.Parse(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	status, _ := v.Get("ActionStatus").Text()
	code, ok := v.Get("ErrorCode").Int()
	fmt.Println(status, code, ok)
	_, ok = v.Get("Missing").Get("Deeper").Int()
	fmt.Println(ok)
	// Output:
	// OK 0 true
	// false
}

// AppendQuote and Value.AppendJSON build a JSON body without
// encoding/json.
func ExampleAppendQuote() {
	changes, _ := rule.Parse(`["id1", "id2"]`)
	body := []byte(`{"event_key":`)
	body = rule.AppendQuote(body, "a.gs.cert.1")
	body = append(body, `,"changes":`...)
	body = changes.AppendJSON(body)
	body = append(body, '}')
	fmt.Println(string(body))
	// Output:
	// {"event_key":"a.gs.cert.1","changes":["id1","id2"]}
}

// AppendInput writes an input as the gateway sends it, and DecodeDecision
// reads the answer as the gateway will: a rule's test through the JSON.
func ExampleDecodeDecision() {
	route := rule.RouteFunc(func(in *rule.Input) (*rule.Decision, error) {
		return &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: in.Configs[0].ID, Body: in.Content}}}, nil
	})
	input := rule.AppendInput(nil, &rule.Input{TenantID: "demo", Content: `{"order":42}`,
		Configs: []rule.Config{{ID: "cfg_1", URL: "https://example.com/cb"}}})
	fmt.Printf("%s\n", input)
	d, err := rule.DecodeDecision(route.ServeJSON(nil, input))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Deliveries[0].ConfigID, d.Deliveries[0].Body)
	// Output:
	// {"abi":1,"tenantId":"demo","messageId":"","rule":"","content":"{\"order\":42}","properties":{"appKey":"","rule":"","ext":{}},"configs":[{"id":"cfg_1","url":"https://example.com/cb","hasKey":false,"hasToken":false}]}
	// cfg_1 {"order":42}
}
