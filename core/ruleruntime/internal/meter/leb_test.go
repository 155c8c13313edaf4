package meter

import (
	"math"
	"testing"
)

func TestLEB_round_trip(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 127, 128, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		r := &reader{b: appendS64(nil, v)}
		got, err := r.sleb(64)
		if err != nil || got != v || !r.eof() {
			t.Errorf("sleb(%d) = %d, %v (eof %v)", v, got, err, r.eof())
		}
	}
	for _, v := range []uint64{0, 1, 127, 128, 1 << 32, math.MaxUint64} {
		r := &reader{b: appendU64(nil, v)}
		got, err := r.u64()
		if err != nil || got != v || !r.eof() {
			t.Errorf("u64(%d) = %d, %v", v, got, err)
		}
	}
	if _, err := (&reader{b: appendU64(nil, 1<<32)}).u32(); err == nil {
		t.Error("u32 accepted 2^32")
	}
}
