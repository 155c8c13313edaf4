package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIngest measures callbacks acknowledged per second on the seed
// REST path over loopback HTTP: auth, routing and the group-committed
// insert, with the dispatcher delivering in the background as in
// production. Run: go test -run '^$' -bench Ingest ./core/gateway/
func BenchmarkIngest(b *testing.B) {
	for _, sync := range []string{"NORMAL", "FULL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			var delivered atomic.Int64
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				delivered.Add(1)
			}))
			defer rcv.Close()
			cfg := testConfig(b.TempDir())
			cfg.Synchronous = sync
			cfg.IngestRate = -1 // measure the gateway, not its limiter
			r := start(b, cfg)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			if s, body := post(b, client, r.base+"/callgate.v1.ConfigService/ModifyCallbackConfig", "demo-secret",
				fmt.Sprintf(`{"operateType":1,"callbackInfo":{"callbackUrl":%q,"callbackToken":"t"}}`, rcv.URL+"/hook")); s != 200 {
				b.Fatalf("add config: %d %s", s, body)
			}
			b.SetParallelism(8) // 16 concurrent clients on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s, body := post(b, client, r.base+"/demo/message/v1/callbacks", "demo-secret",
						`{"content":"{\"event_type\":\"bench\"}","properties":{"appKey":"demo","rule":"http"}}`); s != 200 {
						b.Errorf("submit: %d %s", s, body)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "acks/s")
			// Wait for the deliveries so the next run starts from quiet.
			deadline := time.Now().Add(2 * time.Minute)
			for delivered.Load() < int64(b.N) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			b.ReportMetric(float64(delivered.Load())/time.Since(start).Seconds(), "delivered/s")
		})
	}
}
