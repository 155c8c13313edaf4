package rules_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/callgate/callgate/rules"
)

// TestBuiltin checks each module against the rule ABI v1: the exports
// with their signatures, classify only in the rules that judge answers
// (the others leave it to the gateway, which then makes no second call),
// and nothing imported beyond WASI and callgate_v1.
func TestBuiltin(t *testing.T) {
	mods := rules.Builtin()
	if got, want := slices.Sorted(maps.Keys(mods)), []string{"ebaas", "email", "http", "sms", "tim"}; !slices.Equal(got, want) {
		t.Fatalf("Builtin() has %v, want %v", got, want)
	}
	wantExports := map[string]string{
		"memory":            "memory",
		"callgate_v1_alloc": "(i32) -> (i32)",
		"callgate_v1_route": "(i32 i32) -> (i64)",
		"_initialize":       "() -> ()",
	}
	const classify, classifySig = "callgate_v1_classify", "(i32 i32) -> (i64)"
	classifies := map[string]bool{"ebaas": true, "tim": true}
	for name, data := range mods {
		t.Run(name, func(t *testing.T) {
			m, err := parseModule(data)
			if err != nil {
				t.Fatal(err)
			}
			for export, sig := range wantExports {
				if got, ok := m.exports[export]; !ok {
					t.Errorf("no export %s", export)
				} else if got != sig {
					t.Errorf("export %s is %s, want %s", export, got, sig)
				}
			}
			switch got, ok := m.exports[classify]; {
			case ok != classifies[name]:
				t.Errorf("export %s: %v, want %v", classify, ok, classifies[name])
			case ok && got != classifySig:
				t.Errorf("export %s is %s, want %s", classify, got, classifySig)
			}
			for _, imp := range m.imports {
				switch {
				case imp.module == "wasi_snapshot_preview1":
				case imp.module == "callgate_v1" && imp.name == "log" && imp.sig == "(i32 i32 i32) -> ()":
				case imp.module == "callgate_v1" && imp.name == "now_ms" && imp.sig == "() -> (i64)":
				default:
					t.Errorf("import %s.%s %s is not in the ABI", imp.module, imp.name, imp.sig)
				}
			}
		})
	}
}

// module is what the test reads of a WebAssembly binary: imports and
// exports, with the signatures of functions.
type module struct {
	imports []wasmImport
	exports map[string]string // name -> signature, or "memory", "table", "global"
}

type wasmImport struct{ module, name, sig string }

// parseModule reads the type, import, function and export sections of a
// WebAssembly 1.0 binary (https://webassembly.github.io/spec/core/binary/).
func parseModule(data []byte) (*module, error) {
	r := &reader{data: data}
	if string(r.bytes(4)) != "\x00asm" || string(r.bytes(4)) != "\x01\x00\x00\x00" {
		return nil, errors.New("not a WebAssembly 1.0 module")
	}
	m := &module{exports: map[string]string{}}
	var types, funcs []string // signatures by type index and by function index
	for r.err == nil && r.pos < len(data) {
		id := r.byte()
		sec := &reader{data: r.bytes(int(r.uleb()))}
		switch id {
		case 1: // types
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				if sec.byte() != 0x60 {
					return nil, errors.New("a type is not a function type")
				}
				params, results := sec.valtypes(), sec.valtypes()
				types = append(types, "("+params+") -> ("+results+")")
			}
		case 2: // imports
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				imp := wasmImport{module: sec.name(), name: sec.name()}
				switch sec.byte() {
				case 0:
					imp.sig = at(types, sec.uleb())
					funcs = append(funcs, imp.sig)
				case 1:
					sec.byte()
					sec.limits()
					imp.sig = "table"
				case 2:
					sec.limits()
					imp.sig = "memory"
				case 3:
					sec.bytes(2)
					imp.sig = "global"
				}
				m.imports = append(m.imports, imp)
			}
		case 3: // functions
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				funcs = append(funcs, at(types, sec.uleb()))
			}
		case 7: // exports
			for n := sec.uleb(); n > 0 && sec.err == nil; n-- {
				name, kind, index := sec.name(), sec.byte(), sec.uleb()
				m.exports[name] = [...]string{at(funcs, index), "table", "memory", "global"}[kind%4]
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	return m, r.err
}

func at(sigs []string, i uint64) string {
	if i >= uint64(len(sigs)) {
		return "?"
	}
	return sigs[i]
}

type reader struct {
	data []byte
	pos  int
	err  error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || r.pos+n > len(r.data) {
		r.err = errors.New("truncated module")
		return nil
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b := r.byte()
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
	}
	return v
}

func (r *reader) name() string { return string(r.bytes(int(r.uleb()))) }

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.uleb()
	}
	r.uleb()
}

func (r *reader) valtypes() string {
	var names []string
	for n := r.uleb(); n > 0 && r.err == nil; n-- {
		switch r.byte() {
		case 0x7f:
			names = append(names, "i32")
		case 0x7e:
			names = append(names, "i64")
		case 0x7d:
			names = append(names, "f32")
		case 0x7c:
			names = append(names, "f64")
		default:
			names = append(names, "?")
		}
	}
	return strings.Join(names, " ")
}
