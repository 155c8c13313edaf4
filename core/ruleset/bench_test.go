package ruleset_test

import (
	"context"
	"testing"
	"time"

	"github.com/callgate/callgate/core/route"
)

// BenchmarkRouteHTTPRule is one callback through the built-in http rule as
// the gateway ships it (metered, default limits): encode the input, call
// the pooled instance, decode the decision, for a tenant with two configs.
// The active-version lookup is remembered after the first call, so the
// store is not read in the loop.
func BenchmarkRouteHTTPRule(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	in := route.Input{
		TenantID: "t1", MessageID: "msg_01J9ZB6Q6F3W4K8Y2N5R7T1V0X", Rule: "http", AppKey: "t1",
		Content: `{"event_type":"order.paid","order":{"id":42,"amount":"19.90","currency":"EUR"}}`,
		Configs: configs,
	}
	// The other built-in rules compile in the background: wait for them,
	// so that their compilation is not measured too.
	for deadline := time.Now().Add(time.Minute); !f.set.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the built-in rules did not compile within a minute")
		}
	}
	if dec, err := f.set.Route(ctx, in); err != nil || len(dec.Deliveries) != 2 {
		b.Fatalf("route: %+v %v", dec, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.set.Route(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
