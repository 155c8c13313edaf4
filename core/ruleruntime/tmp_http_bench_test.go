package ruleruntime_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/callgate/callgate/core/ruleruntime"
)

func BenchmarkTmpHTTPRule(b *testing.B) {
	ctx := context.Background()
	path := os.Getenv("RULE_WASM")
	if path == "" {
		path = "../../rules/wasm/http.wasm"
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	in := []byte(`{"abi":1,"tenantId":"t1","messageId":"msg_01J9ZB6Q6F3W4K8Y2N5R7T1V0X","rule":"http","content":"{\"event_type\":\"order.paid\",\"order\":{\"id\":42,\"amount\":\"19.90\",\"currency\":\"EUR\"}}","properties":{"appKey":"t1","rule":"http"},"configs":[{"id":"cfg_01","url":"https://example.com/cb","hasKey":true,"hasToken":true},{"id":"cfg_02","url":"https://example.org/cb","hasKey":false,"hasToken":true}]}`)
	for _, m := range []struct {
		name string
		tune ruleruntime.Tuning
	}{{"metered", ruleruntime.Tuning{Meter: true}}, {"unmetered", ruleruntime.Tuning{}}} {
		b.Run(m.name, func(b *testing.B) {
			rt, err := ruleruntime.NewTuned(ctx, ruleruntime.Options{CacheDir: cacheDir()}, m.tune)
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			rule, err := rt.Compile(ctx, "http", wasm, ruleruntime.Limits{Time: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rule.Route(ctx, in); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := rule.Route(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
