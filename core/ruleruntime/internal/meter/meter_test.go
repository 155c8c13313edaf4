package meter_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/callgate/callgate/core/ruleruntime/internal/meter"
	"github.com/callgate/callgate/core/ruleruntime/internal/wattest"
)

var cfg = meter.Config{
	FuelExport:  "callgate_v1_fuel",
	FloorExport: "callgate_v1_floor",
	StackExport: "callgate_v1_stack",
	GrowExport:  "callgate_v1_grow",
	InitialFuel: math.MaxInt64 / 2,
	StackBudget: 1 << 20,
}

func instantiate(t *testing.T, rt wazero.Runtime, wasm []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return mod
}

func TestInstrument_same_results(t *testing.T) {
	ctx := context.Background()
	wasm := wattest.Compile(t, "testdata/programs.wat")
	m, err := meter.Instrument(wasm, cfg)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	if m.Functions == 0 || m.Loops < 3 {
		t.Errorf("Functions=%d Loops=%d, want some of each", m.Functions, m.Loops)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	orig := instantiate(t, rt, wasm)
	inst := instantiate(t, rt, m.Wasm)

	calls := []struct {
		name string
		args []uint64
	}{
		{"fact", []uint64{0}}, {"fact", []uint64{1}}, {"fact", []uint64{20}},
		{"fib", []uint64{0}}, {"fib", []uint64{15}},
		{"switch", []uint64{0}}, {"switch", []uint64{1}}, {"switch", []uint64{2}}, {"switch", []uint64{3}}, {"switch", []uint64{99}},
		{"apply", []uint64{0, 7, 5}}, {"apply", []uint64{1, 7, 5}}, {"apply", []uint64{2, 7, 5}},
		{"divmod", []uint64{17, 5}}, {"divmod_early", []uint64{17, 0}}, {"divmod_early", []uint64{17, 4}},
		{"blockparams", []uint64{9, 4}},
		{"sumdown", []uint64{0}}, {"sumdown", []uint64{10}},
		{"mem", nil}, {"growfail", nil},
		{"simd", nil}, {"simdmem", nil},
		{"misc", nil}, {"floats", []uint64{api.EncodeF64(1.5)}},
		{"refs", nil}, {"selt", []uint64{0}}, {"selt", []uint64{1}},
		{"bump", nil}, {"bump", nil},
		{"data", nil},
	}
	for _, c := range calls {
		want, err := orig.ExportedFunction(c.name).Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("original %s%v: %v", c.name, c.args, err)
		}
		got, err := inst.ExportedFunction(c.name).Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("metered %s%v: %v", c.name, c.args, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s%v: got %v, want %v", c.name, c.args, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s%v: got %v, want %v", c.name, c.args, got, want)
			}
		}
	}
	if got := inst.ExportedGlobal("callgate_v1_stack").Get(); got != uint64(cfg.StackBudget) {
		t.Errorf("stack budget after balanced calls = %d, want %d", got, cfg.StackBudget)
	}
	if got := int32(inst.ExportedGlobal("callgate_v1_grow").Get()); got != -1 {
		t.Errorf("last grow = %d, want -1 after growfail", got)
	}
	if k := inst.ExportedGlobal("k"); k == nil || k.Get() != 7 {
		t.Errorf("exported global k moved: %v", k)
	}
}

func TestInstrument_budgets(t *testing.T) {
	ctx := context.Background()
	wasm := wattest.Compile(t, "testdata/programs.wat")
	tests := []struct {
		name      string
		call      string
		args      []uint64
		fuel      int64
		floor     int64
		stack     int32
		wantTrap  bool
		fuelSpent bool
		stackOut  bool
		spends    int64 // exact fuel a call that returns spends, if not 0
	}{
		// One entry and ten loop iterations.
		{name: "loop_within_fuel", call: "fact", args: []uint64{10}, fuel: 100, stack: 100, spends: 11},
		// fib(10) makes 177 calls: the callee's spending reaches the caller.
		{name: "calls_spend", call: "fib", args: []uint64{10}, fuel: 1000, stack: 100, spends: 177},
		// Entry, eleven iterations, and leaving through br_if to the function.
		{name: "loop_with_params", call: "sumdown", args: []uint64{10}, fuel: 1000, stack: 100, spends: 12},
		// Entry of apply and of the callee through the table.
		{name: "call_indirect_spends", call: "apply", args: []uint64{1, 7, 5}, fuel: 1000, stack: 100, spends: 2},
		{name: "endless_loop_runs_out", call: "spin", fuel: 10_000, stack: 100, wantTrap: true, fuelSpent: true},
		{name: "recursion_within_stack", call: "fib", args: []uint64{10}, fuel: 1 << 40, stack: 100},
		{name: "endless_recursion_runs_out_of_stack", call: "down", args: []uint64{0}, fuel: 1 << 40, stack: 1000, wantTrap: true, stackOut: true},
		{name: "endless_recursion_runs_out_of_fuel", call: "down", args: []uint64{0}, fuel: 500, stack: 1 << 30, wantTrap: true, fuelSpent: true},
		{name: "raised_floor_stops_at_once", call: "fact", args: []uint64{10}, fuel: 1 << 40, floor: math.MaxInt64, stack: 100, wantTrap: true},
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.InitialFuel, c.StackBudget = 1<<40, tt.stack
			m, err := meter.Instrument(wasm, c)
			if err != nil {
				t.Fatal(err)
			}
			mod := instantiate(t, rt, m.Wasm)
			fuel := mod.ExportedGlobal("callgate_v1_fuel").(api.MutableGlobal)
			fuel.Set(uint64(tt.fuel))
			mod.ExportedGlobal("callgate_v1_floor").(api.MutableGlobal).Set(uint64(tt.floor))
			_, err = mod.ExportedFunction(tt.call).Call(ctx, tt.args...)
			if (err != nil) != tt.wantTrap {
				t.Fatalf("err = %v, want trap %v", err, tt.wantTrap)
			}
			if err != nil && !strings.Contains(err.Error(), "unreachable") {
				t.Errorf("err = %v, want an unreachable trap", err)
			}
			if tt.spends != 0 && tt.fuel-int64(fuel.Get()) != tt.spends {
				t.Errorf("spent %d, want %d", tt.fuel-int64(fuel.Get()), tt.spends)
			}
			if spent := int64(fuel.Get()) < 0; spent != tt.fuelSpent {
				t.Errorf("fuel = %d, spent %v, want %v", int64(fuel.Get()), spent, tt.fuelSpent)
			}
			stack := int32(mod.ExportedGlobal("callgate_v1_stack").Get())
			if out := stack < 0; out != tt.stackOut {
				t.Errorf("stack = %d, out %v, want %v", stack, out, tt.stackOut)
			}
		})
	}
}

func TestInstrument_adds_missing_sections(t *testing.T) {
	ctx := context.Background()
	wasm := wattest.Compile(t, "testdata/bare.wat")
	c := cfg
	c.InitialFuel = 5
	m, err := meter.Instrument(wasm, c)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod := instantiate(t, rt, m.Wasm) // runs the start function on InitialFuel
	if got := int64(mod.ExportedGlobal("callgate_v1_fuel").Get()); got != 4 {
		t.Errorf("fuel after start = %d, want 4", got)
	}
	if b, _ := mod.Memory().ReadByte(0); b != 42 {
		t.Errorf("start function did not run: memory[0] = %d", b)
	}
}

func TestInstrument_refuses(t *testing.T) {
	good := wattest.Compile(t, "testdata/programs.wat")
	tests := []struct {
		name    string
		wasm    []byte
		want    string
		wantErr error
	}{
		{name: "empty", wasm: nil, want: "bad magic"},
		{name: "not_wasm", wasm: []byte("\x7fELF\x02\x01\x01\x00"), want: "bad magic"},
		{name: "component", wasm: []byte("\x00asm\x0d\x00\x01\x00"), wantErr: meter.ErrUnsupported},
		{name: "truncated", wasm: good[:len(good)-7], want: "unexpected end"},
		{name: "threads", wasm: wattest.Compile(t, "testdata/threads.wat", "--enable-threads"), wantErr: meter.ErrUnsupported, want: "threads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := meter.Instrument(tt.wasm, cfg)
			if err == nil {
				t.Fatal("Instrument accepted it")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
