package ruleruntime

import (
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/callgate/callgate/core/ruleruntime/internal/meter"
)

// checkImports refuses imports other than callgate_v1's functions and WASI's.
// Signatures are checked by wazero when the first instance links.
func checkImports(imports []meter.Import) error {
	for _, imp := range imports {
		ok := imp.Kind == meter.KindFunc &&
			(imp.Module == "wasi_snapshot_preview1" ||
				imp.Module == hostModule && (imp.Name == "log" || imp.Name == "now_ms"))
		if !ok {
			return fmt.Errorf("import of %s %s.%s is not allowed (only %s.log, %s.now_ms and wasi_snapshot_preview1 functions)",
				imp.Kind, imp.Module, imp.Name, hostModule, hostModule)
		}
	}
	return nil
}

// checkExports checks the exports the ABI requires, and their signatures.
func checkExports(c wazero.CompiledModule) error {
	if _, ok := c.ExportedMemories()[exportMemory]; !ok {
		return fmt.Errorf("missing export %q (memory)", exportMemory)
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name            string
		params, results []api.ValueType
		required        bool
	}{
		{exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}, true},
		{exportRoute, []api.ValueType{i32, i32}, []api.ValueType{i64}, true},
		{exportClassify, []api.ValueType{i32, i32}, []api.ValueType{i64}, false},
		{exportInit, nil, nil, false},
	}
	fns := c.ExportedFunctions()
	var errs []error
	for _, w := range want {
		def, ok := fns[w.name]
		if !ok {
			if w.required {
				errs = append(errs, fmt.Errorf("missing export %q", w.name))
			}
			continue
		}
		if !sameTypes(def.ParamTypes(), w.params) || !sameTypes(def.ResultTypes(), w.results) {
			errs = append(errs, fmt.Errorf("export %q has type %s -> %s, want %s -> %s", w.name,
				typeNames(def.ParamTypes()), typeNames(def.ResultTypes()), typeNames(w.params), typeNames(w.results)))
		}
	}
	return errors.Join(errs...)
}

func sameTypes(a, b []api.ValueType) bool {
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

func typeNames(ts []api.ValueType) string {
	s := "("
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		s += api.ValueTypeName(t)
	}
	return s + ")"
}

// Classifies reports whether a rule module exports classify. It reads only
// the module's export section, so it costs nothing like a compilation.
func Classifies(bin []byte) (bool, error) {
	exports, err := meter.Exports(bin)
	if err != nil {
		return false, fmt.Errorf("ruleruntime: %w: %w", ErrInvalidModule, err)
	}
	for _, e := range exports {
		if e.Name == exportClassify && e.Kind == meter.KindFunc {
			return true, nil
		}
	}
	return false, nil
}
