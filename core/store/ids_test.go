package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

func TestNewID_format(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
	}{
		{name: "message", prefix: "msg"},
		{name: "delivery", prefix: "dlv"},
		{name: "single_letter", prefix: "x"},
		{name: "long", prefix: "request_with_underscore"},
		{name: "empty", prefix: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := store.NewID(tt.prefix)
			if len(id) != len(tt.prefix)+1+26 {
				t.Errorf("NewID(%q) = %q, %d characters, want %d", tt.prefix, id, len(id), len(tt.prefix)+27)
			}
			rest, ok := strings.CutPrefix(id, tt.prefix+"_")
			if !ok {
				t.Fatalf("NewID(%q) = %q, want prefix %q", tt.prefix, id, tt.prefix+"_")
			}
			for _, r := range rest {
				if !strings.ContainsRune(crockford, r) {
					t.Errorf("NewID(%q) = %q has %q, not in Crockford's lower-case base32", tt.prefix, id, r)
				}
			}
		})
	}
}

// TestNewID_timestamp decodes the time an id carries: its first ten digits
// are 50 bits, two zero bits and the 48-bit Unix milliseconds.
func TestNewID_timestamp(t *testing.T) {
	t.Parallel()
	before := time.Now().UnixMilli()
	id := store.NewID("msg")
	after := time.Now().UnixMilli()
	var v int64
	for _, r := range id[len("msg_") : len("msg_")+10] {
		v = v<<5 | int64(strings.IndexRune(crockford, r))
	}
	if v < before || v > after {
		t.Errorf("NewID carries %d ms, want between %d and %d", v, before, after)
	}
}

func TestNewID_unique(t *testing.T) {
	t.Parallel()
	const n = 100_000
	seen := make(map[string]struct{}, n)
	for range n {
		id := store.NewID("msg")
		if _, dup := seen[id]; dup {
			t.Fatalf("NewID repeated %q after %d ids", id, len(seen))
		}
		seen[id] = struct{}{}
	}
}

// TestNewID_sorts_by_time takes ids across a few milliseconds: any id from
// a later millisecond sorts after every id from an earlier one.
func TestNewID_sorts_by_time(t *testing.T) {
	t.Parallel()
	type stamped struct {
		id string
		ms int64 // a millisecond the id was surely made in or after
	}
	var all []stamped
	distinct := map[int64]bool{}
	// Until ids from a few different milliseconds are in hand; a busy
	// machine may take a while to get there.
	for deadline := time.Now().Add(5 * time.Second); len(distinct) < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("ids from only %d milliseconds in 5s", len(distinct))
		}
		lo := time.Now().UnixMilli()
		id := store.NewID("dlv")
		hi := time.Now().UnixMilli()
		if lo == hi { // the id's millisecond is known exactly
			all = append(all, stamped{id, lo})
			distinct[lo] = true
		}
	}
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b stamped) int { return strings.Compare(a.id, b.id) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].ms < sorted[i-1].ms {
			t.Fatalf("%s (made at %d ms) sorts after %s (made at %d ms)",
				sorted[i].id, sorted[i].ms, sorted[i-1].id, sorted[i-1].ms)
		}
	}

	// And across a sleep, explicitly.
	a := store.NewID("dlv")
	sleepPastMillisecond()
	b := store.NewID("dlv")
	if a >= b {
		t.Errorf("NewID made %q then, a millisecond later, %q: not in order", a, b)
	}
}
