package assemblyscript_test

import (
	"context"
	"testing"
)

// BenchmarkASRoute measures one Route call of the AssemblyScript http rule
// as the gateway makes it (default limits, metering on): writing the input
// into the instance, decoding it, routing, encoding the decision and
// copying it out. Inputs are the route inputs of rules/http's benchmark: a
// callback of 38 bytes and one of 1.4 KB, each to two configs.
//
//	go test ./sdk/rule/assemblyscript -run '^$' -bench Route
func BenchmarkASRoute(b *testing.B) {
	benchRoute(b, "http")
}

// BenchmarkGoRoute is the same call of the built-in http rule, written in Go
// with sdk/rule, for comparison.
func BenchmarkGoRoute(b *testing.B) {
	benchRoute(b, "go_http")
}

func benchRoute(b *testing.B, name string) {
	r := module(b, name)
	ctx := context.Background()
	for _, bc := range []struct{ name, content string }{
		{"small", `{"event_type":"order.paid","order":42}`},
		{"large", benchContent},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := gatewayJSON(b, newInput(bc.content, configs, nil))
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var fuel uint64
			for b.Loop() {
				res, err := r.Route(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				fuel = res.Fuel
			}
			// Fuel counts function entries and loop iterations: the work
			// of a call, whatever else runs on the machine.
			b.ReportMetric(float64(fuel), "fuel/op")
		})
	}
}
