package meter

import (
	"fmt"
	"math"
)

// Opcodes the rewrite looks at or emits. Those it only skips are named in
// skipImmediates.
const (
	opUnreachable        = 0x00
	opBlock              = 0x02
	opLoop               = 0x03
	opIf                 = 0x04
	opElse               = 0x05
	opEnd                = 0x0b
	opBr                 = 0x0c
	opReturn             = 0x0f
	opCall               = 0x10
	opCallIndirect       = 0x11
	opReturnCall         = 0x12
	opReturnCallIndirect = 0x13
	opLocalGet           = 0x20
	opLocalSet           = 0x21
	opLocalTee           = 0x22
	opGlobalGet          = 0x23
	opGlobalSet          = 0x24
	opMemoryGrow         = 0x40
	opI32Const           = 0x41
	opI64Const           = 0x42
	opI32LtS             = 0x48
	opI64LtS             = 0x53
	opI32Add             = 0x6a
	opI32Sub             = 0x6b
	opI64Sub             = 0x7d
	prefixMisc           = 0xfc
	prefixSIMD           = 0xfd
)

// frameCost is what a function's frame takes from the stack budget: one unit
// for the frame itself and one per four params and locals, which the engine
// may spill.
func frameCost(slots uint64) int32 {
	c := 1 + slots/4
	if c > math.MaxInt32/2 {
		c = math.MaxInt32 / 2
	}
	return int32(c)
}

// rewriteCode instruments every body of a code section payload and returns
// the new payload and the number of bodies.
func (m *module) rewriteCode(payload []byte) ([]byte, int, error) {
	r := &reader{b: payload}
	n, err := r.u32()
	if err != nil {
		return nil, 0, fmt.Errorf("meter: code section: %w", err)
	}
	if int(n) != len(m.funcTypes) {
		return nil, 0, fmt.Errorf("meter: %d function bodies for %d declared functions", n, len(m.funcTypes))
	}
	out := make([]byte, 0, len(payload)+len(payload)/4+64)
	out = appendU32(out, n)
	for i := 0; i < int(n); i++ {
		size, err := r.u32()
		if err != nil {
			return nil, 0, fmt.Errorf("meter: body of function %d: %w", m.importedFuncs+uint32(i), err)
		}
		start := r.off
		b, err := r.bytes(int(size))
		if err != nil {
			return nil, 0, fmt.Errorf("meter: body of function %d: %w", m.importedFuncs+uint32(i), err)
		}
		nb, err := m.rewriteBody(i, b)
		if err != nil {
			return nil, 0, fmt.Errorf("meter: function %d (code offset 0x%x): %w", m.importedFuncs+uint32(i), start, err)
		}
		out = appendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	if !r.eof() {
		return nil, 0, fmt.Errorf("meter: %d bytes after the last function body", len(payload)-r.off)
	}
	return out, int(n), nil
}

// rewriteBody instruments one function body (locals and expression).
func (m *module) rewriteBody(idx int, b []byte) ([]byte, error) {
	ft := m.types[m.funcTypes[idx]]
	r := &reader{b: b}
	decls, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("locals: %w", err)
	}
	declsStart := r.off
	slots := uint64(len(ft.params))
	for j := uint32(0); j < decls; j++ {
		count, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("locals: %w", err)
		}
		t, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("locals: %w", err)
		}
		if !isValType(t) {
			return nil, fmt.Errorf("locals: %w value type 0x%02x", ErrUnsupported, t)
		}
		slots += uint64(count)
	}
	if slots >= math.MaxUint32 {
		return nil, fmt.Errorf("locals: %d locals", slots)
	}
	f := &funcRewrite{m: m, fuel: uint32(slots), cost: frameCost(slots)}

	// The same locals and one more: the fuel counter's working copy.
	out := make([]byte, 0, len(b)+len(b)/4+64)
	out = appendU32(out, decls+1)
	out = append(out, b[declsStart:r.off]...)
	out = append(out, 0x01, 0x7e)
	out = f.appendEntry(out)
	out = append(out, opBlock)
	out = append(out, m.blockTypeFor(ft.results)...)

	copied := r.off // b[:copied] is in out already
	depth := uint32(0)
	for {
		start := r.off
		op, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("expression does not end: %w", err)
		}
		switch op {
		case opBlock, opIf:
			if err := skipBlockType(r); err != nil {
				return nil, fmt.Errorf("at 0x%x: block type: %w", start, err)
			}
			depth++
		case opLoop:
			if err := skipBlockType(r); err != nil {
				return nil, fmt.Errorf("at 0x%x: block type: %w", start, err)
			}
			depth++
			out = append(out, b[copied:r.off]...)
			copied = r.off
			out = f.appendSpend(out)
			m.loops++
		case opElse:
		case opEnd:
			if depth > 0 {
				depth--
				continue
			}
			if !r.eof() {
				return nil, fmt.Errorf("at 0x%x: %d bytes after the function's end", start, len(b)-r.off)
			}
			// The body's own end now closes the wrapper block; hand the
			// fuel and the frame back, then end the function.
			out = append(out, b[copied:]...)
			out = f.appendExit(out)
			return append(out, opEnd), nil
		case opReturn:
			out = append(out, b[copied:start]...)
			out = append(out, opBr)
			out = appendU32(out, depth) // the wrapper block
			copied = r.off
		case opCall, opCallIndirect:
			callee, err := r.u32()
			if err == nil && op == opCallIndirect {
				_, err = r.u32()
			}
			if err != nil {
				return nil, fmt.Errorf("at 0x%x: call: %w", start, err)
			}
			if op == opCall && callee < m.importedFuncs {
				continue // host functions spend no fuel
			}
			// The callee spends from the global: store the working copy
			// before, and take the global back after.
			out = append(out, b[copied:start]...)
			out = f.appendStoreFuel(out)
			out = append(out, b[start:r.off]...)
			copied = r.off
			out = f.appendLoadFuel(out)
		case opReturnCall, opReturnCallIndirect:
			if err := skipImmediates(op, r); err != nil {
				return nil, fmt.Errorf("at 0x%x: %w", start, err)
			}
			out = append(out, b[copied:start]...)
			out = f.appendExit(out)
			copied = start
		case opMemoryGrow:
			if _, err := r.u32(); err != nil {
				return nil, fmt.Errorf("at 0x%x: memory.grow: %w", start, err)
			}
			out = append(out, b[copied:r.off]...)
			copied = r.off
			out = append(out, opGlobalSet)
			out = appendU32(out, m.growIndex())
			out = append(out, opGlobalGet)
			out = appendU32(out, m.growIndex())
		default:
			if err := skipImmediates(op, r); err != nil {
				return nil, fmt.Errorf("at 0x%x: %w", start, err)
			}
		}
	}
}

// funcRewrite holds what the code injected into one function needs.
//
// Fuel lives in a local while the function runs, so that a loop spends it in
// a register rather than with a load and a store of the global, which made a
// tight loop four times slower. The global is brought up to date before
// calls, at exits and before a fuel trap, and read back after calls.
type funcRewrite struct {
	m    *module
	fuel uint32 // index of the local holding the fuel
	cost int32  // the frame's cost in stack units
}

// appendEntry appends the code run first in every function: take the frame
// from the stack budget, trapping when it is spent, then load the fuel and
// spend one unit.
func (f *funcRewrite) appendEntry(out []byte) []byte {
	s := f.m.stackIndex()
	out = append(out, opGlobalGet)
	out = appendU32(out, s)
	out = append(out, opI32Const)
	out = appendS64(out, int64(f.cost))
	out = append(out, opI32Sub, opGlobalSet)
	out = appendU32(out, s)
	out = append(out, opGlobalGet)
	out = appendU32(out, s)
	out = append(out, opI32Const, 0x00, opI32LtS, opIf, 0x40, opUnreachable, opEnd)
	out = f.appendLoadFuel(out)
	return f.appendSpend(out)
}

// appendSpend appends: fuel -= 1; if fuel < floor { store fuel; unreachable }.
func (f *funcRewrite) appendSpend(out []byte) []byte {
	out = append(out, opLocalGet)
	out = appendU32(out, f.fuel)
	out = append(out, opI64Const, 0x01, opI64Sub, opLocalTee)
	out = appendU32(out, f.fuel)
	out = append(out, opGlobalGet)
	out = appendU32(out, f.m.floorIndex())
	out = append(out, opI64LtS, opIf, 0x40)
	out = f.appendStoreFuel(out)
	return append(out, opUnreachable, opEnd)
}

// appendStoreFuel appends: global fuel = local fuel.
func (f *funcRewrite) appendStoreFuel(out []byte) []byte {
	out = append(out, opLocalGet)
	out = appendU32(out, f.fuel)
	out = append(out, opGlobalSet)
	return appendU32(out, f.m.fuelIndex())
}

// appendLoadFuel appends: local fuel = global fuel.
func (f *funcRewrite) appendLoadFuel(out []byte) []byte {
	out = append(out, opGlobalGet)
	out = appendU32(out, f.m.fuelIndex())
	out = append(out, opLocalSet)
	return appendU32(out, f.fuel)
}

// appendExit appends the code run when the function ends: store the fuel
// and give the frame back to the stack budget.
func (f *funcRewrite) appendExit(out []byte) []byte {
	out = f.appendStoreFuel(out)
	s := f.m.stackIndex()
	out = append(out, opGlobalGet)
	out = appendU32(out, s)
	out = append(out, opI32Const)
	out = appendS64(out, int64(f.cost))
	out = append(out, opI32Add, opGlobalSet)
	return appendU32(out, s)
}

// skipBlockType skips a block type: empty (0x40), a value type, or a type
// index encoded as a non-negative s33.
func skipBlockType(r *reader) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if c == 0x40 || isValType(c) {
		r.off++
		return nil
	}
	idx, err := r.sleb(33)
	if err != nil {
		return err
	}
	if idx < 0 {
		return fmt.Errorf("%w block type 0x%02x", ErrUnsupported, c)
	}
	return nil
}

// skipImmediates skips the immediates of op, which has been read.
func skipImmediates(op byte, r *reader) error {
	switch {
	case op == 0x00 || op == 0x01 || op == 0x1a || op == 0x1b || op == 0xd1:
		// unreachable, nop, drop, select, ref.is_null
		return nil
	case op >= 0x45 && op <= 0xc4:
		// numeric instructions, sign extension included
		return nil
	case op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 || op == 0xd2:
		// br, br_if, call, return_call, ref.func
		_, err := r.u32()
		return err
	case op == 0x11 || op == 0x13:
		// call_indirect, return_call_indirect: type index, table index
		return skipU32s(r, 2)
	case op == 0x0e:
		// br_table: vec(label) default
		n, err := r.u32()
		if err != nil {
			return err
		}
		return skipU32s(r, int(n)+1)
	case op == 0x1c:
		// select t*
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			t, err := r.byte()
			if err != nil {
				return err
			}
			if !isValType(t) {
				return fmt.Errorf("select: %w value type 0x%02x", ErrUnsupported, t)
			}
		}
		return nil
	case op >= 0x20 && op <= 0x26:
		// local.get/set/tee, global.get/set, table.get/set
		_, err := r.u32()
		return err
	case op >= 0x28 && op <= 0x3e:
		return skipMemarg(r)
	case op == 0x3f || op == 0x40:
		// memory.size, memory.grow: memory index
		_, err := r.u32()
		return err
	case op == 0x41:
		_, err := r.sleb(32)
		return err
	case op == 0x42:
		_, err := r.sleb(64)
		return err
	case op == 0x43:
		_, err := r.bytes(4)
		return err
	case op == 0x44:
		_, err := r.bytes(8)
		return err
	case op == 0xd0:
		// ref.null: heap type
		t, err := r.byte()
		if err != nil {
			return err
		}
		if t != 0x70 && t != 0x6f {
			return fmt.Errorf("ref.null: %w heap type 0x%02x", ErrUnsupported, t)
		}
		return nil
	case op == prefixMisc:
		return skipMisc(r)
	case op == prefixSIMD:
		return skipSIMD(r)
	}
	return unsupportedOpcode(op)
}

func unsupportedOpcode(op byte) error {
	var what string
	switch op {
	case 0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f:
		what = " (exception handling)"
	case 0x14, 0x15, 0xd3, 0xd4, 0xd5, 0xd6, 0xfb:
		what = " (typed function references or GC)"
	case 0xfe:
		what = " (threads)"
	}
	return fmt.Errorf("%w opcode 0x%02x%s", ErrUnsupported, op, what)
}

func skipU32s(r *reader, n int) error {
	for i := 0; i < n; i++ {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// skipMemarg skips alignment (whose bit 6 announces a memory index, for
// multiple memories) and offset.
func skipMemarg(r *reader) error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.u64()
	return err
}

// skipMisc skips a 0xFC instruction: saturating truncation, bulk memory and
// table instructions.
func skipMisc(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // *.trunc_sat_*
		return nil
	case sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17):
		// data.drop, memory.fill, elem.drop, table.grow/size/fill
		_, err := r.u32()
		return err
	case sub == 8 || sub == 10 || sub == 12 || sub == 14:
		// memory.init, memory.copy, table.init, table.copy
		return skipU32s(r, 2)
	}
	return fmt.Errorf("%w opcode 0xfc %d", ErrUnsupported, sub)
}

// skipSIMD skips a 0xFD instruction, relaxed SIMD included.
func skipSIMD(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93:
		// v128.load*, v128.store, v128.load32_zero, v128.load64_zero
		return skipMemarg(r)
	case sub == 12 || sub == 13:
		// v128.const, i8x16.shuffle
		_, err := r.bytes(16)
		return err
	case sub >= 21 && sub <= 34:
		// extract_lane, replace_lane: lane index
		_, err := r.byte()
		return err
	case sub >= 84 && sub <= 91:
		// v128.load*_lane, v128.store*_lane: memarg, lane index
		if err := skipMemarg(r); err != nil {
			return err
		}
		_, err := r.byte()
		return err
	case sub <= 0x113:
		return nil
	}
	return fmt.Errorf("%w opcode 0xfd %d", ErrUnsupported, sub)
}
