// Package meter rewrites a WebAssembly module so that the host can bound the
// work it does and the native stack it uses, cheaply and without help from
// the engine.
//
// Instrument appends four mutable globals at the end of the global section
// (so no existing global index moves) and exports them:
//
//   - a fuel counter (i64). At every function entry and every loop header the
//     rewritten code subtracts one and executes unreachable when the counter
//     goes below the floor. The host sets it before a call and reads it after:
//     a negative value means the budget was spent. While a function runs, the
//     counter lives in a local added to it (a register, so loops stay cheap)
//     and the global is brought up to date around calls and at exits.
//   - the fuel floor (i64, 0). Only the host writes it: raising it from
//     another goroutine stops the guest at its next function entry or loop
//     header. (Writing the counter instead does not work: a tight loop keeps
//     its own pending store of the counter and overwrites the host's.)
//   - a stack budget (i32). Every function entry subtracts the function's
//     frame cost (one unit plus one per four params and locals) and traps
//     below zero; every exit adds it back. Deep recursion traps long before
//     the engine grows its native stack to hundreds of megabytes.
//   - the result of the last memory.grow (i32), so that a trap after a failed
//     grow can be told apart from any other trap.
//
// Exits are made explicit by wrapping each body in a block of the function's
// result type: branches to the function's label now land on that block, return
// becomes a branch to it, and the stack budget is given back after it. Function
// indices do not change, because no function is added.
//
// Every instruction of every body is decoded: the MVP, multi-value block types,
// sign extension, saturating truncation and bulk memory (0xFC), reference types,
// tail calls and SIMD (0xFD). Exception handling, threads and GC are refused
// with an error naming the opcode. Custom sections named .debug_* are dropped,
// since their code offsets would no longer be true; other custom sections
// (such as "name") are kept.
package meter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Config names the globals Instrument adds and gives their initial values.
type Config struct {
	// FuelExport is the export name of the i64 fuel counter.
	FuelExport string
	// FloorExport is the export name of the i64 fuel floor.
	FloorExport string
	// StackExport is the export name of the i32 stack budget.
	StackExport string
	// GrowExport is the export name of the i32 holding the last memory.grow
	// result (-1 after a failed grow).
	GrowExport string
	// InitialFuel is the fuel counter's value at instantiation, which is what
	// a start function runs on.
	InitialFuel int64
	// StackBudget is the stack budget's value at instantiation, in units of
	// about 64 bytes of native stack.
	StackBudget int32
}

// ExternKind is the kind of an import or export.
type ExternKind byte

// The kinds of imports and exports.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
	KindTag    ExternKind = 4
)

// String returns the kind as the text format writes it.
func (k ExternKind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	case KindTag:
		return "tag"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Import is one import of the module.
type Import struct {
	Module, Name string
	Kind         ExternKind
}

// Export is one export of the original module.
type Export struct {
	Name  string
	Kind  ExternKind
	Index uint32
}

// Module is an instrumented module and what was learnt reading it.
type Module struct {
	// Wasm is the instrumented binary.
	Wasm []byte
	// Imports and Exports are those of the original module.
	Imports []Import
	Exports []Export
	// Functions is the number of function bodies instrumented and Loops the
	// number of loop headers metered.
	Functions, Loops int
}

// ErrUnsupported is wrapped by the errors for valid Wasm that the rewriter
// does not handle (exception handling, threads, GC).
var ErrUnsupported = errors.New("unsupported")

// Section ids, in the order the binary format requires them.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionRank orders non-custom sections as the binary format requires.
var sectionRank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11, secCode: 12, secData: 13,
}

type section struct {
	id      byte
	payload []byte
}

type funcType struct {
	params, results []byte
}

// module holds what the rewrite needs while it runs.
type module struct {
	cfg           Config
	types         []funcType
	newTypes      []funcType // appended to the type section
	funcTypes     []uint32   // type index of each defined function
	importedFuncs uint32
	importedGlobs uint32
	definedGlobs  uint32
	imports       []Import
	exports       []Export
	loops         int
}

var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Instrument returns wasm rewritten as the package doc describes. It refuses
// binaries it cannot decode, and leaves validating the result to the engine.
func Instrument(wasm []byte, cfg Config) (*Module, error) {
	if cfg.FuelExport == "" || cfg.FloorExport == "" || cfg.StackExport == "" || cfg.GrowExport == "" {
		return nil, errors.New("meter: export names must be set")
	}
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	m := &module{cfg: cfg}
	if err := m.readSections(secs); err != nil {
		return nil, err
	}
	out, funcs, err := m.rewrite(secs)
	if err != nil {
		return nil, err
	}
	return &Module{Wasm: out, Imports: m.imports, Exports: m.exports, Functions: funcs, Loops: m.loops}, nil
}

func splitSections(wasm []byte) ([]section, error) {
	if len(wasm) < len(wasmHeader) || !bytes.Equal(wasm[:4], wasmHeader[:4]) {
		return nil, errors.New("meter: not a WebAssembly binary (bad magic)")
	}
	if !bytes.Equal(wasm[4:8], wasmHeader[4:]) {
		return nil, fmt.Errorf("meter: %w binary version %x (want 1; components are not rules)", ErrUnsupported, wasm[4:8])
	}
	r := &reader{b: wasm, off: len(wasmHeader)}
	var secs []section
	seen := map[byte]bool{}
	last := 0
	for !r.eof() {
		start := r.off
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("meter: section at 0x%x: size: %w", start, err)
		}
		payload, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("meter: section %d at 0x%x: %w", id, start, err)
		}
		if id != secCustom {
			rank, ok := sectionRank[id]
			if !ok {
				return nil, fmt.Errorf("meter: unknown section id %d at 0x%x", id, start)
			}
			if seen[id] || rank < last {
				return nil, fmt.Errorf("meter: section %d at 0x%x is duplicated or out of order", id, start)
			}
			seen[id] = true
			last = rank
		}
		secs = append(secs, section{id: id, payload: payload})
	}
	return secs, nil
}

func (m *module) readSections(secs []section) error {
	for _, s := range secs {
		r := &reader{b: s.payload}
		var err error
		switch s.id {
		case secType:
			err = m.readTypes(r)
		case secImport:
			err = m.readImports(r)
		case secFunction:
			err = m.readFunctions(r)
		case secGlobal:
			m.definedGlobs, err = r.u32()
		case secExport:
			err = m.readExports(r)
		}
		if err != nil {
			return fmt.Errorf("meter: section %d: %w", s.id, err)
		}
	}
	return nil
}

func (m *module) readTypes(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return fmt.Errorf("type %d: %w type form 0x%02x (GC types)", i, ErrUnsupported, form)
		}
		var ft funcType
		if ft.params, err = readValTypes(r); err != nil {
			return fmt.Errorf("type %d params: %w", i, err)
		}
		if ft.results, err = readValTypes(r); err != nil {
			return fmt.Errorf("type %d results: %w", i, err)
		}
		m.types = append(m.types, ft)
	}
	return nil
}

func readValTypes(r *reader) ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	b, err := r.bytes(int(n))
	if err != nil {
		return nil, err
	}
	for _, t := range b {
		if !isValType(t) {
			return nil, fmt.Errorf("%w value type 0x%02x", ErrUnsupported, t)
		}
	}
	return b, nil
}

// isValType reports whether t is a one-byte value type: numbers, v128,
// funcref and externref.
func isValType(t byte) bool {
	switch t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return true
	}
	return false
}

func (m *module) readImports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		var imp Import
		if imp.Module, err = r.name(); err != nil {
			return err
		}
		if imp.Name, err = r.name(); err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		imp.Kind = ExternKind(kind)
		switch imp.Kind {
		case KindFunc:
			_, err = r.u32()
			m.importedFuncs++
		case KindTable:
			if _, err = r.byte(); err == nil {
				err = readLimits(r)
			}
		case KindMemory:
			err = readLimits(r)
		case KindGlobal:
			_, err = r.bytes(2)
			m.importedGlobs++
		case KindTag:
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return fmt.Errorf("import %d: unknown kind 0x%02x", i, kind)
		}
		if err != nil {
			return fmt.Errorf("import %d (%s.%s): %w", i, imp.Module, imp.Name, err)
		}
		m.imports = append(m.imports, imp)
	}
	return nil
}

func readLimits(r *reader) error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 7 {
		return fmt.Errorf("unknown limits flags 0x%02x", flags)
	}
	bits := uint(32)
	if flags&4 != 0 {
		bits = 64
	}
	if _, err := r.uleb(bits); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.uleb(bits)
	}
	return err
}

func (m *module) readFunctions(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		t, err := r.u32()
		if err != nil {
			return err
		}
		if int(t) >= len(m.types) {
			return fmt.Errorf("function %d: type index %d out of range", i, t)
		}
		m.funcTypes = append(m.funcTypes, t)
	}
	return nil
}

func (m *module) readExports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		var e Export
		if e.Name, err = r.name(); err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		e.Kind = ExternKind(kind)
		if e.Index, err = r.u32(); err != nil {
			return err
		}
		for _, own := range m.cfg.exports() {
			if e.Name == own {
				return fmt.Errorf("export %q is reserved for the host", e.Name)
			}
		}
		m.exports = append(m.exports, e)
	}
	return nil
}

// exports returns the names of the added globals, in index order.
func (c Config) exports() []string {
	return []string{c.FuelExport, c.FloorExport, c.StackExport, c.GrowExport}
}

// Indices of the added globals.
func (m *module) fuelIndex() uint32  { return m.importedGlobs + m.definedGlobs }
func (m *module) floorIndex() uint32 { return m.fuelIndex() + 1 }
func (m *module) stackIndex() uint32 { return m.fuelIndex() + 2 }
func (m *module) growIndex() uint32  { return m.fuelIndex() + 3 }

// rewrite re-encodes the module with instrumented code, the added globals and
// exports, and any block types the wrappers need.
func (m *module) rewrite(secs []section) ([]byte, int, error) {
	// Code first: it may add types.
	var code []byte
	funcs := 0
	for _, s := range secs {
		if s.id == secCode {
			var err error
			if code, funcs, err = m.rewriteCode(s.payload); err != nil {
				return nil, 0, err
			}
		}
	}
	if funcs != len(m.funcTypes) {
		return nil, 0, fmt.Errorf("meter: %d function bodies for %d declared functions", funcs, len(m.funcTypes))
	}

	replaced := map[byte][]byte{
		secGlobal: m.globalSection(secs),
		secExport: m.exportSection(secs),
	}
	if code != nil {
		replaced[secCode] = code
	}
	if len(m.newTypes) > 0 {
		replaced[secType] = m.typeSection(secs)
	}

	out := append([]byte(nil), wasmHeader...)
	emit := func(id byte, payload []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(payload)))
		out = append(out, payload...)
	}
	// emitMissing writes the added sections that rank before rank, in order.
	emitMissing := func(rank int) {
		for _, id := range []byte{secGlobal, secExport} {
			if p, ok := replaced[id]; ok && !hasSection(secs, id) && sectionRank[id] < rank {
				emit(id, p)
				delete(replaced, id)
			}
		}
	}
	for _, s := range secs {
		if s.id == secCustom {
			if isDebugSection(s.payload) {
				continue
			}
			emit(s.id, s.payload)
			continue
		}
		emitMissing(sectionRank[s.id])
		if p, ok := replaced[s.id]; ok {
			emit(s.id, p)
			delete(replaced, s.id)
			continue
		}
		emit(s.id, s.payload)
	}
	emitMissing(len(sectionRank) + 1)
	return out, funcs, nil
}

// isDebugSection reports whether a custom section holds DWARF, whose code
// offsets the rewrite invalidates.
func isDebugSection(payload []byte) bool {
	name, err := (&reader{b: payload}).name()
	return err == nil && strings.HasPrefix(name, ".debug_")
}

func hasSection(secs []section, id byte) bool {
	for _, s := range secs {
		if s.id == id {
			return true
		}
	}
	return false
}

func sectionPayload(secs []section, id byte) []byte {
	for _, s := range secs {
		if s.id == id {
			return s.payload
		}
	}
	return nil
}

// vecTail returns the count of a vector section and the bytes after it.
func vecTail(payload []byte) (uint32, []byte) {
	if payload == nil {
		return 0, nil
	}
	r := &reader{b: payload}
	n, _ := r.u32() // read before, cannot fail
	return n, payload[r.off:]
}

func (m *module) globalSection(secs []section) []byte {
	n, tail := vecTail(sectionPayload(secs, secGlobal))
	out := appendU32(nil, n+4)
	out = append(out, tail...)
	out = append(out, 0x7e, 0x01, opI64Const) // mut i64 = InitialFuel
	out = appendS64(out, m.cfg.InitialFuel)
	out = append(out, opEnd)
	out = append(out, 0x7e, 0x01, opI64Const, 0x00, opEnd) // mut i64 = 0
	out = append(out, 0x7f, 0x01, opI32Const)              // mut i32 = StackBudget
	out = appendS64(out, int64(m.cfg.StackBudget))
	out = append(out, opEnd)
	out = append(out, 0x7f, 0x01, opI32Const, 0x00, opEnd) // mut i32 = 0
	return out
}

func (m *module) exportSection(secs []section) []byte {
	n, tail := vecTail(sectionPayload(secs, secExport))
	names := m.cfg.exports()
	out := appendU32(nil, n+uint32(len(names)))
	out = append(out, tail...)
	for i, name := range names {
		out = appendName(out, name)
		out = append(out, byte(KindGlobal))
		out = appendU32(out, m.fuelIndex()+uint32(i))
	}
	return out
}

func (m *module) typeSection(secs []section) []byte {
	n, tail := vecTail(sectionPayload(secs, secType))
	out := appendU32(nil, n+uint32(len(m.newTypes)))
	out = append(out, tail...)
	for _, t := range m.newTypes {
		out = append(out, 0x60)
		out = appendU32(out, uint32(len(t.params)))
		out = append(out, t.params...)
		out = appendU32(out, uint32(len(t.results)))
		out = append(out, t.results...)
	}
	return out
}

// blockTypeFor returns the encoded block type of a block with no params and
// the given results, adding a type when more than one result needs one.
func (m *module) blockTypeFor(results []byte) []byte {
	switch len(results) {
	case 0:
		return []byte{0x40}
	case 1:
		return []byte{results[0]}
	}
	all := append(m.types, m.newTypes...)
	for i, t := range all {
		if len(t.params) == 0 && bytes.Equal(t.results, results) {
			return appendS64(nil, int64(i))
		}
	}
	m.newTypes = append(m.newTypes, funcType{results: results})
	return appendS64(nil, int64(len(all)))
}

// Exports lists a binary's exports without rewriting it: what a caller
// needs to know of a module it does not compile yet.
func Exports(wasm []byte) ([]Export, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	m := &module{}
	if p := sectionPayload(secs, secExport); p != nil {
		if err := m.readExports(&reader{b: p}); err != nil {
			return nil, fmt.Errorf("meter: section %d: %w", secExport, err)
		}
	}
	return m.exports, nil
}
