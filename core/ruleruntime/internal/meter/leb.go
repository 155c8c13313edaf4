package meter

import (
	"errors"
	"fmt"
)

// errEOF is returned when a section, body or immediate ends early.
var errEOF = errors.New("unexpected end of input")

// reader walks a byte slice, decoding the encodings of the Wasm binary
// format. Offsets are kept so that errors can say where they happened.
type reader struct {
	b   []byte
	off int
}

func (r *reader) eof() bool { return r.off >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errEOF
	}
	return r.b[r.off], nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, errEOF
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// u32 decodes an unsigned LEB128 of at most 5 bytes that fits 32 bits.
func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// u64 decodes an unsigned LEB128 of at most 10 bytes.
func (r *reader) u64() (uint64, error) { return r.uleb(64) }

func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	var shift uint
	for {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, fmt.Errorf("LEB128 longer than %d bits", bits)
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift > bits && bits < 64 && v>>bits != 0 {
				return 0, fmt.Errorf("LEB128 overflows %d bits", bits)
			}
			return v, nil
		}
	}
}

// sleb decodes a signed LEB128 of at most ceil(bits/7) bytes.
func (r *reader) sleb(bits uint) (int64, error) {
	var v int64
	var shift uint
	for {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, fmt.Errorf("signed LEB128 longer than %d bits", bits)
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
}

// name decodes a length-prefixed UTF-8 name.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func appendU32(b []byte, v uint32) []byte { return appendU64(b, uint64(v)) }

func appendU64(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
