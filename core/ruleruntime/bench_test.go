package ruleruntime_test

import (
	"context"
	"testing"
	"time"

	"github.com/callgate/callgate/core/ruleruntime"
)

// routeInput is a route input of a typical size; behave.wat echoes it.
var routeInput = []byte(`{"abi":1,"tenantId":"demo","messageId":"msg_01J9Z","rule":"http",` +
	`"content":"{\"event_type\":\"order.paid\",\"order\":42}","properties":{"appKey":"demo","rule":"http"},` +
	`"configs":[{"id":"cfg_01","url":"https://example.com/cb","hasKey":true,"hasToken":true}]}`)

// BenchmarkRoute compares the ways of bounding a call's time: metering (with
// the per-instance timer as backstop, what the package does) against no
// metering, each with and without wazero's WithCloseOnContextDone (which
// then gets a context deadline per call). "unmetered/timer" has no
// protection at all and is the floor.
func BenchmarkRoute(b *testing.B) {
	modules := []struct {
		name  string
		wasm  func(testing.TB) []byte
		input []byte
	}{
		{"wat_echo", func(t testing.TB) []byte { return wat(t, "behave") }, routeInput},
		{"wat_loop_1M", func(t testing.TB) []byte { return wat(t, "behave") }, []byte("s")},
		{"wat_calls_100k", func(t testing.TB) []byte { return wat(t, "behave") }, []byte("k")},
		{"go_route", goReactor, routeInput},
		{"go_work", goReactor, []byte("work")},
	}
	modes := []struct {
		name string
		tune ruleruntime.Tuning
	}{
		{"metered/timer", ruleruntime.Tuning{Meter: true}},
		{"metered/closeOnContextDone", ruleruntime.Tuning{Meter: true, CloseOnContextDone: true}},
		{"unmetered/closeOnContextDone", ruleruntime.Tuning{CloseOnContextDone: true}},
		{"unmetered/timer", ruleruntime.Tuning{}},
	}
	ctx := context.Background()
	for _, m := range modules {
		wasm := m.wasm(b)
		for _, mode := range modes {
			b.Run(m.name+"/"+mode.name, func(b *testing.B) {
				rt, err := ruleruntime.NewTuned(ctx, ruleruntime.Options{CacheDir: cacheDir()}, mode.tune)
				if err != nil {
					b.Fatal(err)
				}
				defer rt.Close(ctx)
				rule, err := rt.Compile(ctx, m.name, wasm, ruleruntime.Limits{Time: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := rule.Route(ctx, m.input); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRouteParallel is the production mode under concurrent callers.
func BenchmarkRouteParallel(b *testing.B) {
	ctx := context.Background()
	for _, m := range []struct {
		name string
		wasm func(testing.TB) []byte
	}{{"wat_echo", func(t testing.TB) []byte { return wat(t, "behave") }}, {"go_route", goReactor}} {
		b.Run(m.name, func(b *testing.B) {
			rt := newRuntime(b, ruleruntime.Tuning{})
			// A generous limit: instances made during the run stall calls.
			rule := compile(b, rt, m.name, m.wasm(b), ruleruntime.Limits{Time: time.Second})
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := rule.Route(ctx, routeInput); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCalibrate measures how much fuel code spends per millisecond,
// which is what FuelPerMillisecond is chosen from.
func BenchmarkCalibrate(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		wasm  func(testing.TB) []byte
		input string
	}{
		{"wat_tight_loop", func(t testing.TB) []byte { return wat(t, "behave") }, "s"},
		{"wat_calls", func(t testing.TB) []byte { return wat(t, "behave") }, "k"},
		{"go_work", goReactor, "work"},
	} {
		b.Run(c.name, func(b *testing.B) {
			rt := newRuntime(b, ruleruntime.Tuning{})
			rule := compile(b, rt, c.name, c.wasm(b), ruleruntime.Limits{Time: time.Second})
			var fuel uint64
			var took time.Duration
			for b.Loop() {
				res, _ := rule.Route(ctx, []byte(c.input))
				fuel += res.Fuel
				took += res.Duration
			}
			b.ReportMetric(float64(fuel)/float64(took.Milliseconds()+1), "fuel/ms")
		})
	}
}
