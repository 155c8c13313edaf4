package assemblyscript_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// TestModules checks what the modules import and export against the ABI:
// callgate_v1's log and now_ms only (no WASI, no env.abort), and the
// exports with their exact signatures.
func TestModules(t *testing.T) {
	module(t, "http") // builds them
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	for _, name := range []string{"http", "probe"} {
		t.Run(name, func(t *testing.T) {
			wasm := shared.wasm[name]
			t.Logf("build/%s.wasm: %d bytes", name, len(wasm))
			// The example is about 25 KB: the bound catches a runtime or
			// library that would grow it (the incremental GC, toString's
			// tables).
			if name == "http" && len(wasm) > 32<<10 {
				t.Errorf("%d bytes, want at most 32 KiB", len(wasm))
			}
			m, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(ctx)
			for _, f := range m.ImportedFunctions() {
				mod, fn, _ := f.Import()
				if mod != "callgate_v1" || (fn != "log" && fn != "now_ms") {
					t.Errorf("imports %s.%s", mod, fn)
				}
			}
			if n := len(m.ImportedMemories()); n != 0 {
				t.Errorf("imports %d memories", n)
			}
			if _, ok := m.ExportedMemories()["memory"]; !ok {
				t.Error("no memory export")
			}
			fns := m.ExportedFunctions()
			for _, want := range []struct {
				name            string
				params, results []api.ValueType
			}{
				{"callgate_v1_alloc", []api.ValueType{i32}, []api.ValueType{i32}},
				{"callgate_v1_route", []api.ValueType{i32, i32}, []api.ValueType{i64}},
				{"callgate_v1_classify", []api.ValueType{i32, i32}, []api.ValueType{i64}},
			} {
				f, ok := fns[want.name]
				if !ok {
					t.Errorf("no export %s", want.name)
					continue
				}
				if !slices.Equal(f.ParamTypes(), want.params) || !slices.Equal(f.ResultTypes(), want.results) {
					t.Errorf("%s: %v -> %v, want %v -> %v", want.name, f.ParamTypes(), f.ResultTypes(), want.params, want.results)
				}
			}
			if len(fns) != 3 {
				names := make([]string, 0, len(fns))
				for n := range fns {
					names = append(names, n)
				}
				t.Errorf("exports %v, want the ABI's three functions only", names)
			}
		})
	}
}
