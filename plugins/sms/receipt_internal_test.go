package smsplugin

import "testing"

func TestTracker_forgets_the_oldest_and_final_receipts(t *testing.T) {
	tr := newTracker(3)
	a := sessionKey{addr: "a:2775", systemID: "x"}
	b := sessionKey{addr: "b:2775", systemID: "x"}
	tr.add(a, "1", receiptTarget{deliveryID: "d1"})
	tr.add(b, "1", receiptTarget{deliveryID: "d2"}) // same id, other SMSC
	tr.add(a, "2", receiptTarget{deliveryID: "d3", vendorID: "1", part: 2, parts: 2})

	if got, ok := tr.find(b, "1", false); !ok || got.deliveryID != "d2" || got.vendorID != "1" {
		t.Fatalf("find(b, 1) = %+v, %v", got, ok)
	}
	if got, ok := tr.find(a, "2", false); !ok || got.vendorID != "1" || got.part != 2 {
		t.Fatalf("find(a, 2) = %+v, %v", got, ok)
	}
	// An intermediate receipt keeps the message; a final one forgets it.
	if _, ok := tr.find(a, "2", true); !ok {
		t.Fatal("final receipt of a known message not found")
	}
	if _, ok := tr.find(a, "2", false); ok {
		t.Fatal("message still known after its final receipt")
	}
	// A fourth message pushes out the oldest, (a, 1).
	tr.add(a, "3", receiptTarget{deliveryID: "d4"})
	tr.add(a, "4", receiptTarget{deliveryID: "d5"})
	if _, ok := tr.find(a, "1", false); ok {
		t.Fatal("the oldest message is still known past the limit")
	}
	for _, id := range []string{"3", "4"} {
		if _, ok := tr.find(a, id, false); !ok {
			t.Fatalf("message %s forgotten", id)
		}
	}
	if len(tr.byKey) > 3 {
		t.Fatalf("%d messages known, limit 3", len(tr.byKey))
	}
}
