// Command custom is a tenant's own rule for the gateway's tests, written
// against sdk/rule like any tenant's: it sends the content to every
// callback config with the header X-Custom-Rule naming its version (and
// X-Custom-Tag from ext.tag, when given), and logs what it did. With
// ext.failover set it sends to the first config only, with the other
// configs as fallbacks in order, each retried once after 100 ms.
//
// The tests build it at test time, as a tenant would:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -ldflags='-buildid= -X main.version=2' -o custom.wasm .
package main

import (
	"strconv"

	"github.com/callgate/callgate/sdk/rule"
)

// version is set at build time with -X main.version, so that one source
// makes distinct modules, hence distinct rule versions.
var version = "1"

func init() { rule.Handle(route) }

// main is never called: the module is a WASI reactor.
func main() {}

func route(in *rule.Input) (*rule.Decision, error) {
	if len(in.Configs) == 0 {
		return nil, rule.Reject(rule.CodeNoCallbackConfig, "custom: the tenant has no callback config")
	}
	headers := map[string]string{"Content-Type": "text/plain; charset=utf-8", "X-Custom-Rule": version}
	if tag := in.Properties.Ext["tag"]; tag != "" {
		headers["X-Custom-Tag"] = tag
	}
	d := &rule.Decision{Deliveries: make([]rule.Delivery, 0, len(in.Configs))}
	for _, c := range in.Configs {
		d.Deliveries = append(d.Deliveries, rule.Delivery{
			Channel: "http", ConfigID: c.ID, Method: "POST", Headers: headers, Body: in.Content,
		})
	}
	if in.Properties.Ext["failover"] != "" {
		for i := range d.Deliveries {
			d.Deliveries[i].RetrySchedule = []int64{100}
		}
		primary := d.Deliveries[0]
		primary.Fallbacks = d.Deliveries[1:]
		d.Deliveries = []rule.Delivery{primary}
	}
	rule.Log(rule.LevelInfo, "custom v"+version+" routed "+in.MessageID+" to "+strconv.Itoa(len(in.Configs))+" configs")
	return d, nil
}
