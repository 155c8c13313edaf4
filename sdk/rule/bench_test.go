package rule_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

// The benchmarks run natively and, to see what a rule pays, in
// WebAssembly:
//
//	GOOS=wasip1 GOARCH=wasm go test -c -o rule.test.wasm ./sdk/rule
//	wazero run rule.test.wasm -test.run '^$' -test.bench .

// benchContent is a callback of about 1.4 KB, an order event with many
// escaped quotes once embedded in the input.
var benchContent = `{"event_type":"order.paid","order":{"id":"ord_20260101_000042","amount":12999,` +
	`"currency":"CNY","buyer":{"id":"u_1001","name":"张三","phone":"+8613800138000"},"items":[` +
	strings.Repeat(`{"sku":"SKU-0001","name":"商品 \"特价\"","qty":1,"price":4333},`, 12) +
	`{"sku":"SKU-0002","name":"gift","qty":1,"price":0}]},"ts":1767225600000}`

func benchInput(content string) []byte {
	b := []byte(`{"abi":1,"tenantId":"demo","messageId":"msg_01JABCDEF0123456789","rule":"http","content":`)
	b = rule.AppendQuote(b, content)
	return append(b, `,"properties":{"appKey":"demo","rule":"http","ext":{}},"configs":[`+
		`{"id":"cfg_01","url":"https://a.example.com/cb","hasKey":true,"hasToken":true},`+
		`{"id":"cfg_02","url":"https://b.example.com/cb","hasKey":false,"hasToken":true}]}`...)
}

var (
	smallInput = benchInput(`{"event_type":"order.paid","order":42}`)
	largeInput = benchInput(benchContent)
)

func BenchmarkDecodeInput(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"small", smallInput}, {"large", largeInput}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rule.DecodeInput(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"_encoding_json", func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			for b.Loop() {
				var v struct {
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
					Configs []struct {
						ID       string `json:"id"`
						URL      string `json:"url"`
						HasKey   bool   `json:"hasKey"`
						HasToken bool   `json:"hasToken"`
					} `json:"configs"`
				}
				if err := json.Unmarshal(bc.in, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendDecision(b *testing.B) {
	d := &rule.Decision{}
	for _, id := range []string{"cfg_01", "cfg_02"} {
		d.Deliveries = append(d.Deliveries, rule.Delivery{Channel: "http", ConfigID: id,
			Destination: "https://a.example.com/cb", Method: "POST",
			Headers: map[string]string{"Content-Type": "application/json"}, Body: benchContent})
	}
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		out = rule.AppendDecision(out[:0], d)
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkValid(b *testing.B) {
	b.SetBytes(int64(len(benchContent)))
	for b.Loop() {
		if !rule.Valid(benchContent) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(benchContent)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rule.Parse(benchContent); err != nil {
			b.Fatal(err)
		}
	}
}
