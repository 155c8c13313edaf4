//go:build mips || mips64 || ppc64 || s390x

package rule

import "encoding/binary"

// load returns the eight bytes of b from i on as a little-endian word.
func load(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// store writes x to the eight bytes of b from i on, little-endian.
func store(b []byte, i int, x uint64) { binary.LittleEndian.PutUint64(b[i:], x) }
