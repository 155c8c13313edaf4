package store_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/store"
)

// writers is how many goroutines insert at once in the parallel benchmark,
// about what a busy gateway has in flight.
const writers = 16

var synchronousModes = []struct {
	name string
	mode string
}{
	{"synchronous_normal", "NORMAL"},
	{"synchronous_full", "FULL"},
}

func benchMessage() (store.Message, []store.Delivery) {
	return store.Message{TenantID: "acme", Rule: "orders", Content: "order 42 shipped", Properties: []byte(`{"orderId":42}`), RequestID: "req_bench"},
		[]store.Delivery{{Channel: "webhook", Destination: "https://example.com/hook", Body: []byte(`{"orderId":42,"status":"shipped"}`),
			Headers: map[string]string{"Content-Type": "application/json"}}}
}

// reportInserts reports throughput and how many writes shared each commit.
func reportInserts(b *testing.B, s *store.Store) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
	if batches, writes := s.Stats(); batches > 0 {
		b.ReportMetric(float64(writes)/float64(batches), "writes/commit")
	}
}

// BenchmarkInsertMessage inserts a message with one delivery from about 16
// goroutines at once, which group commit folds into shared transactions.
func BenchmarkInsertMessage(b *testing.B) {
	for _, sm := range synchronousModes {
		b.Run(sm.name, func(b *testing.B) {
			s, _ := openStore(b, store.Options{Synchronous: sm.mode})
			b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m, ds := benchMessage()
					if _, _, _, err := s.InsertMessage(b.Context(), m, ds); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportInserts(b, s)
		})
	}
}

// BenchmarkInsertMessageSerial is the baseline: one writer, so every insert
// pays a commit of its own.
func BenchmarkInsertMessageSerial(b *testing.B) {
	for _, sm := range synchronousModes {
		b.Run(sm.name, func(b *testing.B) {
			s, _ := openStore(b, store.Options{Synchronous: sm.mode})
			b.ReportAllocs()
			for b.Loop() {
				m, ds := benchMessage()
				if _, _, _, err := s.InsertMessage(b.Context(), m, ds); err != nil {
					b.Fatal(err)
				}
			}
			reportInserts(b, s)
		})
	}
}

// BenchmarkDeliveryLifecycle is what the gateway writes for one callback
// that is delivered at the first attempt: the message with its delivery
// (stored already claimed), then the attempt and the delivery's end, from
// 16 goroutines at once as under load. 500-byte callbacks, as `callgate
// bench` sends.
func BenchmarkDeliveryLifecycle(b *testing.B) {
	s, _ := openStore(b, store.Options{})
	content := strings.Repeat("x", 500)
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			m := store.Message{TenantID: "acme", Rule: "http", Content: content, Properties: []byte(`{}`), RequestID: "req_bench"}
			ds := []store.Delivery{{Channel: "http", ConfigID: "cfg_bench", Destination: "https://example.com/hook",
				Body: []byte(content), Headers: map[string]string{"Content-Type": "application/json"}, LeaseUntil: now.Add(time.Minute)}}
			_, ds, _, err := s.InsertMessage(b.Context(), m, ds)
			if err != nil {
				b.Error(err)
				return
			}
			err = s.Complete(b.Context(), store.Completion{
				Attempt: store.Attempt{DeliveryID: ds[0].ID, Number: 1, StartedAt: now, Outcome: "delivered", StatusCode: 200,
					Latency: time.Millisecond, Response: `{"code":"000"}`},
				Status: store.StatusSucceeded,
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportInserts(b, s)
}
