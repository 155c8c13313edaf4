package ruleruntime

import "github.com/tetratelabs/wazero/experimental"

// doublingAllocator backs each rule's linear memory with a Go slice whose
// capacity at least doubles when the rule grows past it, up to the memory
// limit. wazero's own growth appends a page at a time (capacity grows by a
// quarter), so a rule growing page by page to 16 MiB spent 20 to 180 ms
// copying; doubling copies about as much memory as the rule ends with.
// Nothing is reserved up front, so idle instances cost only what they use.
type doublingAllocator struct{}

// Allocate implements experimental.MemoryAllocator.
func (doublingAllocator) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	return &doublingMemory{buf: make([]byte, 0, capacity), max: maxBytes}
}

type doublingMemory struct {
	buf []byte
	max uint64
}

// Reallocate implements experimental.LinearMemory. Bytes past the old
// length are zero: new slices are zeroed and the rule cannot write past its
// memory's length.
func (m *doublingMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	capacity := min(max(size, 2*uint64(cap(m.buf))), m.max)
	b := make([]byte, size, capacity)
	copy(b, m.buf)
	m.buf = b
	return b
}

// Free implements experimental.LinearMemory. The slice is left to the
// garbage collector, so a call still running on it cannot fault.
func (m *doublingMemory) Free() { m.buf = nil }

var _ experimental.MemoryAllocator = doublingAllocator{}
