package ruleruntime_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/ruleruntime"
)

// newRuntime returns a Runtime closed when the test ends.
func newRuntime(t testing.TB, tune ruleruntime.Tuning) *ruleruntime.Runtime {
	t.Helper()
	ctx := context.Background()
	tune.Meter = true
	rt, err := ruleruntime.NewTuned(ctx, ruleruntime.Options{CacheDir: cacheDir()}, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return rt
}

func compile(t testing.TB, rt *ruleruntime.Runtime, name string, wasm []byte, lim ruleruntime.Limits) *ruleruntime.Rule {
	t.Helper()
	rule, err := rt.Compile(context.Background(), name, wasm, lim)
	if err != nil {
		t.Fatalf("Compile %s: %v", name, err)
	}
	return rule
}

// sentinels are the errors a call may wrap; each failure wraps exactly one.
var sentinels = []error{
	ruleruntime.ErrTrap, ruleruntime.ErrTimeout, ruleruntime.ErrMemory,
	ruleruntime.ErrOutputTooLarge, ruleruntime.ErrBadPointer, ruleruntime.ErrNoClassify,
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("err = %v wraps %v too", err, s)
		}
	}
}

func TestRoute_behaviours(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{})
	// Growing memory is slow on a busy machine; time must not be what fails.
	patient := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{Time: 5 * time.Second})
	ctx := context.Background()
	tests := []struct {
		name    string
		input   string
		want    error
		output  string
		logs    []ruleruntime.LogLine
		mention string
		patient bool
	}{
		{name: "echo_and_log", input: `e{"abi":1}`, output: `e{"abi":1}`,
			logs: []ruleruntime.LogLine{{Level: slog.LevelInfo, Text: `e{"abi":1}`}}},
		{name: "empty_input", input: "", output: ""},
		{name: "deep_but_bounded_recursion", input: "d", output: "d"},
		{name: "stdout_and_stderr_become_logs", input: "o", output: "",
			logs: []ruleruntime.LogLine{{Level: slog.LevelInfo, Text: "hello stdout"}, {Level: slog.LevelWarn, Text: "hello stderr"}}},
		{name: "no_files_visible", input: "f", output: "\x08\x08"}, // EBADF twice: no preopen, no open
		{name: "endless_loop", input: "l", want: ruleruntime.ErrTimeout},
		{name: "endless_recursion", input: "r", want: ruleruntime.ErrTrap, mention: "call stack exhausted", patient: true},
		{name: "memory_bomb", input: "g", want: ruleruntime.ErrMemory, mention: "256 pages", patient: true},
		{name: "unreachable", input: "t", want: ruleruntime.ErrTrap, mention: "unreachable"},
		{name: "division_by_zero", input: "z", want: ruleruntime.ErrTrap, mention: "divide by zero"},
		{name: "output_outside_memory", input: "p", want: ruleruntime.ErrBadPointer},
		{name: "huge_output", input: "h", want: ruleruntime.ErrOutputTooLarge},
		{name: "log_outside_memory", input: "B", want: ruleruntime.ErrBadPointer, mention: "log"},
		{name: "proc_exit", input: "x", want: ruleruntime.ErrTrap, mention: "exited with code 3"},
		{name: "alloc_answers_zero", input: "13 bytes long", want: ruleruntime.ErrMemory},
		{name: "alloc_outside_memory", input: "14 bytes long!", want: ruleruntime.ErrBadPointer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := rule
			if tt.patient {
				rule = patient
			}
			res, err := rule.Route(ctx, []byte(tt.input))
			checkErr(t, err, tt.want)
			if tt.mention != "" && !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %v, want it to mention %q", err, tt.mention)
			}
			if tt.want == nil && string(res.Output) != tt.output {
				t.Errorf("output = %q, want %q", res.Output, tt.output)
			}
			if tt.logs != nil && !equalLogs(res.Logs, tt.logs) {
				t.Errorf("logs = %v, want %v", res.Logs, tt.logs)
			}
			if res.Duration <= 0 {
				t.Errorf("duration = %v", res.Duration)
			}
			// Whatever happened, the rule serves the next call.
			res, err = rule.Route(ctx, []byte("e-next"))
			if err != nil || string(res.Output) != "e-next" {
				t.Fatalf("next call: %q, %v", res.Output, err)
			}
		})
	}
}

func equalLogs(a, b []ruleruntime.LogLine) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRoute_fuel_reported(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{})
	res, err := rule.Route(context.Background(), []byte("d"))
	if err != nil {
		t.Fatal(err)
	}
	// 10001 function entries of $depth, plus route and alloc.
	if res.Fuel < 10_001 || res.Fuel > 10_010 {
		t.Errorf("fuel = %d, want about 10003", res.Fuel)
	}
}

func TestRoute_fuel_stops_loops(t *testing.T) {
	// 5M units: a few milliseconds, long before the wall clock's 5s.
	rt := newRuntime(t, ruleruntime.Tuning{FuelPerMS: 1000})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{Time: 5 * time.Second})
	for _, input := range []string{"l", "s", "k"} { // endless, 1M iterations, 100k calls
		res, err := rule.Route(context.Background(), []byte(input))
		if input == "k" {
			// 100k iterations and calls; route, $pack, and alloc with its loop.
			if err != nil || res.Fuel != 200_004 {
				t.Errorf("%q: fuel %d, %v; want 200004 and no error", input, res.Fuel, err)
			}
			continue
		}
		if input == "s" {
			if err != nil {
				t.Errorf("%q: %v", input, err)
			}
			continue
		}
		checkErr(t, err, ruleruntime.ErrTimeout)
		if !strings.Contains(err.Error(), "fuel budget of 5000000 units spent") || res.Fuel != 5_000_000 {
			t.Errorf("%q: err = %v, fuel %d; want the fuel budget spent", input, err, res.Fuel)
		}
	}
}

func TestRoute_now_ms(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{})
	before := time.Now().UnixMilli()
	res, err := rule.Route(context.Background(), []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()
	if len(res.Output) != 8 {
		t.Fatalf("output = %x", res.Output)
	}
	if got := int64(binary.LittleEndian.Uint64(res.Output)); got < before || got > after {
		t.Errorf("now_ms = %d, want within [%d, %d]", got, before, after)
	}
}

func TestRoute_logs_are_bounded(t *testing.T) {
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	rt, err := ruleruntime.New(ctx, ruleruntime.Options{CacheDir: cacheDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	rule := compile(t, rt, "chatty", wat(t, "behave"), ruleruntime.Limits{})
	input := "L" + strings.Repeat("é", 1500) // 3001 bytes; cut at 1 KiB without splitting a rune
	res, err := rule.Route(ctx, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Logs) != 101 {
		t.Fatalf("%d lines, want 100 and a note", len(res.Logs))
	}
	first := res.Logs[0]
	if first.Level != slog.LevelWarn || len(first.Text) != 1023 || !strings.HasPrefix(input, first.Text) {
		t.Errorf("first line: level %v, %d bytes", first.Level, len(first.Text))
	}
	if last := res.Logs[100].Text; !strings.Contains(last, "50 more log lines dropped") {
		t.Errorf("last line = %q", last)
	}
	if n := strings.Count(logged.String(), "rule=chatty"); n != 101 {
		t.Errorf("%d lines reached the logger, want 101", n)
	}
}

func TestClassify(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	ctx := context.Background()
	behave := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{})
	minimal := compile(t, rt, "minimal", wat(t, "minimal"), ruleruntime.Limits{})
	if !behave.HasClassify() || minimal.HasClassify() {
		t.Fatalf("HasClassify: behave %v, minimal %v", behave.HasClassify(), minimal.HasClassify())
	}
	res, err := behave.Classify(ctx, []byte(`{"abi":1,"statusCode":200}`))
	if err != nil || string(res.Output) != `{"verdict":"success","reason":""}` {
		t.Errorf("Classify = %q, %v", res.Output, err)
	}
	_, err = minimal.Classify(ctx, []byte("{}"))
	checkErr(t, err, ruleruntime.ErrNoClassify)
}

// muchFuel is about 30 times the fuel code spends in a millisecond, so that
// the wall clock stops a loop first, and yet fuel ends it if a garbage
// collection keeps the timer from firing.
const muchFuel = 20_000_000

func TestRoute_wall_clock_backstop(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{FuelPerMS: muchFuel})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{Time: 20 * time.Millisecond})
	ctx := context.Background()
	start := time.Now()
	_, err := rule.Route(ctx, []byte("l"))
	checkErr(t, err, ruleruntime.ErrTimeout)
	if !strings.Contains(err.Error(), "wall-clock") {
		t.Errorf("err = %v, want the wall clock to be named", err)
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("stopped after %v, want about 20ms", took)
	}
	if res, err := rule.Route(ctx, []byte("e")); err != nil || string(res.Output) != "e" {
		t.Fatalf("next call: %q, %v", res.Output, err)
	}
}

func TestRoute_context(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{FuelPerMS: muchFuel})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{Time: 100 * time.Millisecond})
	t.Run("deadline_shorter_than_limit", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := rule.Route(ctx, []byte("l"))
		checkErr(t, err, ruleruntime.ErrTimeout)
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := rule.Route(ctx, []byte("l"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestCompile_refuses(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{FuelPerMS: 1000})
	tests := []struct {
		name    string
		wasm    []byte
		mention string
	}{
		{name: "not_wasm", wasm: []byte("{\"not\": \"wasm\"}"), mention: "bad magic"},
		{name: "truncated", wasm: wat(t, "minimal")[:40], mention: "unexpected end"},
		{name: "env_import", wasm: wat(t, "refused_env_import"), mention: "env.something"},
		{name: "host_memory_import", wasm: wat(t, "refused_host_memory"), mention: "memory callgate_v1.memory"},
		{name: "unknown_host_function", wasm: wat(t, "refused_unknown_host"), mention: "callgate_v1.http_get"},
		{name: "unknown_wasi_function", wasm: wat(t, "refused_unknown_wasi"), mention: "sock_connect_anywhere"},
		{name: "log_signature", wasm: wat(t, "refused_log_signature"), mention: "log"},
		{name: "no_route", wasm: wat(t, "refused_no_route"), mention: `missing export "callgate_v1_route"`},
		{name: "no_memory", wasm: wat(t, "refused_no_memory"), mention: `missing export "memory"`},
		{name: "route_signature", wasm: wat(t, "refused_route_signature"), mention: "want (i32 i32) -> (i64)"},
		{name: "memory_over_limit", wasm: wat(t, "refused_big_memory"), mention: "300"},
		{name: "initialize_never_ends", wasm: wat(t, "refused_init_loops"), mention: "_initialize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, err := rt.Compile(context.Background(), tt.name, tt.wasm, ruleruntime.Limits{})
			if !errors.Is(err, ruleruntime.ErrInvalidModule) {
				t.Fatalf("Compile = %v, %v; want ErrInvalidModule", rule, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %v, want it to mention %q", err, tt.mention)
			}
		})
	}
}

func TestInstances_discarded_after_errors(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{})
	ctx := context.Background()
	calls := func() (calls, inits byte) {
		t.Helper()
		res, err := rule.Route(ctx, []byte("n"))
		if err != nil {
			t.Fatal(err)
		}
		return res.Output[0], res.Output[1]
	}
	// One goroutine: the pool hands back the same instance every time.
	if c, i := calls(); c != 1 || i != 1 {
		t.Fatalf("first call: calls %d, inits %d; want 1, 1", c, i)
	}
	if c, _ := calls(); c != 2 {
		t.Fatalf("second call: calls %d, want 2 (same instance)", c)
	}
	for _, input := range []string{"t", "l", "g", "p", "h", "x"} {
		if _, err := rule.Route(ctx, []byte(input)); err == nil {
			t.Fatalf("%q did not fail", input)
		}
		if c, i := calls(); c != 1 || i != 1 {
			t.Fatalf("after %q: calls %d, inits %d; want a fresh instance", input, c, i)
		}
	}
	created, discarded := ruleruntime.Stats(rule)
	if created != 7 || discarded != 6 {
		t.Errorf("created %d, discarded %d; want 7, 6", created, discarded)
	}
}

func TestConcurrent_calls(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rules := map[string]*ruleruntime.Rule{
		"wat": compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{}),
		"go":  compile(t, rt, "goreactor", goReactor(t), ruleruntime.Limits{}),
	}
	for name, rule := range rules {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for g := range 32 {
				wg.Go(func() {
					for i := range 20 {
						input := []byte("e" + strings.Repeat("x", 20+g*10+i)) // never 13 or 14 bytes
						if i%7 == 3 {
							// Errors in the mix discard instances under load.
							if _, err := rule.Route(ctx, []byte("t")); err == nil && name == "wat" {
								errs <- errors.New("trap did not fail")
								return
							}
							continue
						}
						res, err := rule.Route(ctx, input)
						if err != nil {
							errs <- err
							return
						}
						if name == "wat" && !bytes.Equal(res.Output, input) {
							errs <- errors.New("wrong output " + string(res.Output))
							return
						}
						if name == "go" && !bytes.Contains(res.Output, input) {
							errs <- errors.New("wrong output " + string(res.Output))
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestGoReactor(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rule := compile(t, rt, "goreactor", goReactor(t), ruleruntime.Limits{})
	patient := compile(t, rt, "goreactor", goReactor(t), ruleruntime.Limits{Time: 5 * time.Second})
	ctx := context.Background()
	tests := []struct {
		name    string
		input   string
		want    error
		output  string
		logs    []ruleruntime.LogLine
		mention string // in the error or the logs
		patient bool
	}{
		{name: "route", input: `{"abi":1,"content":"hi"}`,
			output: `{"deliveries":[{"channel":"http","destination":"https://example.com/cb","body":"{\"abi\":1,\"content\":\"hi\"}"}]}`},
		{name: "log_stdout_stderr", input: "log", output: `{"deliveries":[{"channel":"http","destination":"https://example.com/cb","body":"log"}]}`,
			logs: []ruleruntime.LogLine{
				{Level: slog.LevelInfo, Text: "hello from go"},
				{Level: slog.LevelWarn, Text: "to stderr"},
				{Level: slog.LevelInfo, Text: "to stdout"},
			}},
		{name: "no_filesystem", input: "fs", output: "refused: open /etc/passwd: Bad file number"},
		{name: "endless_loop", input: "spin", want: ruleruntime.ErrTimeout},
		{name: "panic", input: "panic", want: ruleruntime.ErrTrap, mention: "panic: rule panicked on purpose"},
		{name: "memory_bomb", input: "bomb", want: ruleruntime.ErrMemory, mention: "out of memory", patient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := rule
			if tt.patient {
				rule = patient
			}
			res, err := rule.Route(ctx, []byte(tt.input))
			checkErr(t, err, tt.want)
			if tt.mention != "" && !strings.Contains(fmt.Sprint(err, res.Logs), tt.mention) {
				t.Errorf("err = %v, logs %q; want them to mention %q", err, res.Logs, tt.mention)
			}
			if tt.want == nil && string(res.Output) != tt.output {
				t.Errorf("output = %q, want %q", res.Output, tt.output)
			}
			if tt.logs != nil && !equalLogs(res.Logs, tt.logs) {
				t.Errorf("logs = %q, want %q", res.Logs, tt.logs)
			}
			t.Logf("%s: %v, fuel %d, %d log lines", tt.name, res.Duration, res.Fuel, len(res.Logs))
		})
	}
	res, err := rule.Classify(ctx, []byte(`{"statusCode":200}`))
	if err != nil || string(res.Output) != `{"verdict":"success","reason":""}` {
		t.Errorf("Classify = %q, %v", res.Output, err)
	}
	res, err = rule.Route(ctx, []byte("clock"))
	if err != nil || len(res.Output) < 13 {
		t.Errorf("clock = %q, %v", res.Output, err)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	rt, err := ruleruntime.New(ctx, ruleruntime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rule := compile(t, rt, "minimal", wat(t, "minimal"), ruleruntime.Limits{})
	if _, err := rule.Route(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := rule.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rule.Route(ctx, []byte("x")); !errors.Is(err, ruleruntime.ErrClosed) {
		t.Errorf("Route after Rule.Close = %v, want ErrClosed", err)
	}
	other := compile(t, rt, "minimal", wat(t, "minimal"), ruleruntime.Limits{MemoryPages: 2})
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Route(ctx, []byte("x")); !errors.Is(err, ruleruntime.ErrClosed) {
		t.Errorf("Route after Runtime.Close = %v, want ErrClosed", err)
	}
	if _, err := rt.Compile(ctx, "late", wat(t, "minimal"), ruleruntime.Limits{}); !errors.Is(err, ruleruntime.ErrClosed) {
		t.Errorf("Compile after Close = %v, want ErrClosed", err)
	}
}

func TestCompile_cache_dir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i := range 2 {
		rt, err := ruleruntime.New(ctx, ruleruntime.Options{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		rule := compile(t, rt, "minimal", wat(t, "minimal"), ruleruntime.Limits{})
		if res, err := rule.Route(ctx, []byte("hi")); err != nil || string(res.Output) != "hi" {
			t.Fatalf("run %d: %q, %v", i, res.Output, err)
		}
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Errorf("cache dir holds %d entries (%v), want the compiled rule", len(entries), err)
	}
}
