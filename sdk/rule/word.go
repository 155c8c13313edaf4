//go:build !(mips || mips64 || ppc64 || s390x)

package rule

import "unsafe"

// The scanner and the encoder read and write JSON eight bytes at a time.
// load and store do it without bounds checks, a few instructions apiece
// that WebAssembly pays for every word: each call site has checked that
// i+8 <= len(b) already. On little-endian machines (WebAssembly, amd64,
// arm64) a word is one unaligned load or store; word_be.go is the
// portable version for the others.

// load returns the eight bytes of b from i on as a little-endian word.
func load(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// store writes x to the eight bytes of b from i on, little-endian.
func store(b []byte, i int, x uint64) {
	*(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i)) = x
}
