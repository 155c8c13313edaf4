package store

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet, lower-cased: no i, l, o or u, so
// ids read back without confusion.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// idState makes ids from one process strictly increasing: within one
// millisecond the random part is incremented instead of drawn again, as
// monotonic ULIDs do.
var idState struct {
	sync.Mutex
	ms uint64
	hi uint16 // top 16 of the 80 random bits
	lo uint64 // low 64 of the 80 random bits
}

// NewID returns prefix + "_" + 26 characters: 48 bits of milliseconds then
// 80 random bits. Ids sort by creation time (strictly, within a process),
// which keeps inserts at the end of their index and lets pages be keyed by
// id.
func NewID(prefix string) string {
	ms := uint64(time.Now().UnixMilli())
	idState.Lock()
	if ms <= idState.ms {
		ms = idState.ms // the clock stood still or stepped back: stay monotonic
		idState.lo++
		if idState.lo == 0 {
			idState.hi++
		}
	} else {
		var b [10]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("read random bytes: " + err.Error()) // crypto/rand never fails on supported platforms
		}
		idState.ms = ms
		idState.hi = binary.BigEndian.Uint16(b[:2])
		// Leave headroom so increments within a millisecond never carry
		// into the timestamp.
		idState.lo = binary.BigEndian.Uint64(b[2:]) >> 1
	}
	hi := ms<<16 | uint64(idState.hi)
	lo := idState.lo
	idState.Unlock()

	var sb strings.Builder
	sb.Grow(len(prefix) + 27)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	// 128 bits as 26 base32 digits, most significant first.
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	sb.Write(out[:])
	return sb.String()
}
