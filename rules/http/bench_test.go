package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

// benchContent is a callback of about 1 KB, typical of an order event.
var benchContent = `{"event_type":"order.paid","order":{"id":"ord_20260101_000042","amount":12999,` +
	`"currency":"CNY","buyer":{"id":"u_1001","name":"张三","phone":"+8613800138000"},"items":[` +
	strings.Repeat(`{"sku":"SKU-0001","name":"商品 \"特价\"","qty":1,"price":4333},`, 12) +
	`{"sku":"SKU-0002","name":"gift","qty":1,"price":0}]},"ts":1767225600000}`

var (
	benchInput      = input(benchContent)
	benchInputSmall = input(`{"event_type":"order.paid","order":42}`)
)

func input(content string) string {
	b := []byte(`{"abi":1,"tenantId":"demo","messageId":"msg_01JABCDEF0123456789","rule":"http","content":`)
	b = rule.AppendQuote(b, content)
	b = append(b, `,"properties":{"appKey":"demo","rule":"http","ext":{}},"configs":[`+
		`{"id":"cfg_01","url":"https://a.example.com/cb","hasKey":true,"hasToken":true},`+
		`{"id":"cfg_02","url":"https://b.example.com/cb","hasKey":false,"hasToken":true}]}`...)
	return string(b)
}

// BenchmarkServeJSON measures what one callgate_v1_route call costs the
// http rule: decode the input, route, encode the decision, for a callback
// of 38 bytes and one of 1.4 KB, both to two configs. It runs natively, and
// in WebAssembly with
//
//	GOOS=wasip1 GOARCH=wasm go test -c -o http.test.wasm ./rules/http
//	wazero run http.test.wasm -test.run '^$' -test.bench .
func BenchmarkServeJSON(b *testing.B) {
	for _, bc := range []struct{ name, in string }{{"small", benchInputSmall}, {"large", benchInput}} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			var out []byte
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				out = rule.RouteFunc(route).ServeJSON(out[:0], in)
			}
		})
	}
}

// BenchmarkServeJSON_encodingJSON is the same call through encoding/json,
// for comparison.
func BenchmarkServeJSON_encodingJSON(b *testing.B) {
	for _, bc := range []struct{ name, in string }{{"small", benchInputSmall}, {"large", benchInput}} {
		b.Run(bc.name, func(b *testing.B) { benchEncodingJSON(b, []byte(bc.in)) })
	}
}

func benchEncodingJSON(b *testing.B, in []byte) {
	type config struct {
		ID       string `json:"id"`
		URL      string `json:"url"`
		HasKey   bool   `json:"hasKey"`
		HasToken bool   `json:"hasToken"`
	}
	type jsonInput struct {
		ABI        int    `json:"abi"`
		TenantID   string `json:"tenantId"`
		MessageID  string `json:"messageId"`
		Rule       string `json:"rule"`
		Content    string `json:"content"`
		Properties struct {
			AppKey string            `json:"appKey"`
			Rule   string            `json:"rule"`
			Ext    map[string]string `json:"ext"`
		} `json:"properties"`
		Configs []config `json:"configs"`
	}
	type delivery struct {
		Channel     string            `json:"channel"`
		ConfigID    string            `json:"configId,omitempty"`
		Destination string            `json:"destination,omitempty"`
		Method      string            `json:"method,omitempty"`
		Headers     map[string]string `json:"headers,omitempty"`
		Body        string            `json:"body,omitempty"`
	}
	type decision struct {
		Deliveries []delivery `json:"deliveries"`
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var v jsonInput
		if err := json.Unmarshal(in, &v); err != nil {
			b.Fatal(err)
		}
		contentType := contentText
		if isJSONDocument(v.Content) {
			contentType = contentJSON
		}
		var d decision
		for _, c := range v.Configs {
			d.Deliveries = append(d.Deliveries, delivery{Channel: "http", ConfigID: c.ID, Destination: c.URL,
				Method: "POST", Headers: map[string]string{"Content-Type": contentType}, Body: v.Content})
		}
		if _, err := json.Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
}
