package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// benchResult is what one load run measured.
type benchResult struct {
	Target        string  `json:"target"`
	N             int     `json:"n"`
	Concurrency   int     `json:"concurrency"`
	Batch         int     `json:"batch,omitempty"` // callbacks per request, when more than one
	Acked         int64   `json:"acked"`
	Refused       int64   `json:"refused"`
	Throttled     int64   `json:"throttled,omitempty"` // 429 answers, retried after Retry-After
	Arrived       int64   `json:"arrived"`
	IngestPerSec  float64 `json:"ingestPerSec"`
	DeliverPerSec float64 `json:"deliveryPerSec,omitempty"`
	AckP50Ms      float64 `json:"ackP50Ms"`
	AckP99Ms      float64 `json:"ackP99Ms"`
	E2EP50Ms      float64 `json:"e2eP50Ms,omitempty"`
	E2EP99Ms      float64 `json:"e2eP99Ms,omitempty"`
	E2EMaxMs      float64 `json:"e2eMaxMs,omitempty"`
	CPUSeconds    float64 `json:"gatewayCpuSeconds,omitempty"`
	PeakRSSMiB    float64 `json:"gatewayPeakRssMiB,omitempty"`
	OfCeiling     float64 `json:"fractionOfCeiling,omitempty"`
	// With --hold: the receiver was down while the load ran, then came back.
	HeldPeakRSSMiB float64 `json:"heldPeakRssMiB,omitempty"`
	RecoverSeconds float64 `json:"recoverSeconds,omitempty"` // from its return to the first arrival
	DrainPerSec    float64 `json:"drainPerSec,omitempty"`    // arrivals a second from then on
}

// bench is the load tool: it posts callbacks to a running gateway, receives
// the deliveries on its own loopback receiver and reports rates and
// latencies (and, with --ceiling, what the same client reaches against a
// server that does nothing).
func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	addr := fs.String("addr", "http://127.0.0.1:8080", "the gateway's base URL")
	token := fs.String("token", "demo-secret", "the tenant's app secret")
	tenant := fs.String("tenant", "demo", "the tenant")
	n := fs.Int("n", 10000, "callbacks to send")
	c := fs.Int("c", 16, "concurrent senders")
	size := fs.Int("size", 500, "callback size in bytes")
	api := fs.String("api", "rest", "rest (the seed path) or connect")
	ceiling := fs.Bool("ceiling", false, "also measure the same client against a do-nothing server")
	rate := fs.Float64("rate", 0, "callbacks per second to pace at (0: as fast as possible)")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for deliveries after the last ack")
	output := fs.String("o", "table", "table or json")
	batch := fs.Int("batch", 1, "callbacks per request; above 1 they go to the batch path (SubmitCallbacks with --api connect)")
	hold := fs.Bool("hold", false, "keep the receiver down (503) until every callback is acked, then bring it back and measure the drain")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *api != "rest" && *api != "connect" {
		return fmt.Errorf("--api must be rest or connect")
	}
	if *batch < 1 || *batch > 500 {
		return fmt.Errorf("--batch must be 1 to 500")
	}
	base := strings.TrimRight(*addr, "/")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c * 2, MaxConnsPerHost: *c * 2}, Timeout: 30 * time.Second}

	var results []benchResult
	if *ceiling {
		r, err := ceilingRun(client, *n, *c, *size, *rate)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	r, err := gatewayRun(client, base, *tenant, *token, *api, *n, *c, *size, *batch, *rate, *wait, *hold)
	if err != nil {
		return err
	}
	if *ceiling && results[0].IngestPerSec > 0 {
		r.OfCeiling = r.IngestPerSec / results[0].IngestPerSec
	}
	results = append(results, r)
	if *output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	if *hold {
		fmt.Printf("held %d callbacks with the receiver down: gateway peak RSS %.1f MiB; after it came back the first arrived in %.1f s, then %.0f a second\n",
			r.Acked, r.HeldPeakRSSMiB, r.RecoverSeconds, r.DrainPerSec)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tacked\trefused\tarrived\tingest/s\tdelivered/s\tack p50\tack p99\te2e p50\te2e p99\te2e max\tcpu s\tpeak RSS\tof ceiling")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2f\t%.1fMiB\t%.2f\n",
			r.Target, r.Acked, r.Refused, r.Arrived, r.IngestPerSec, r.DeliverPerSec, r.AckP50Ms, r.AckP99Ms,
			r.E2EP50Ms, r.E2EP99Ms, r.E2EMaxMs, r.CPUSeconds, r.PeakRSSMiB, r.OfCeiling)
	}
	return tw.Flush()
}

// load makes n requests with c workers and returns the ack latency of
// each request; post says how many callbacks a request had acked.
func load(n, c int, rate float64, post func(i int) (int, error)) (acked, refused int64, lat []time.Duration, took time.Duration) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, n/c+1)
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				if interval > 0 {
					if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
						time.Sleep(d)
					}
				}
				t0 := time.Now()
				k, err := post(i)
				if err != nil {
					atomic.AddInt64(&refused, 1)
					continue
				}
				mine = append(mine, time.Since(t0))
				atomic.AddInt64(&acked, int64(k))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return acked, refused, lat, time.Since(start)
}

func gatewayRun(client *http.Client, base, tenant, token, api string, n, c, size, batch int, rate float64, wait time.Duration, hold bool) (benchResult, error) {
	res := benchResult{Target: "callgate (" + api + ")", N: n, Concurrency: c}
	if batch > 1 {
		res.Target, res.Batch = fmt.Sprintf("callgate (%s, batches of %d)", api, batch), batch
	}
	// The receiver records when each callback arrives; the callback carries
	// its own send time, so end-to-end latency needs no bookkeeping.
	var arrived atomic.Int64
	var e2eMu sync.Mutex
	e2e := make([]time.Duration, 0, n)
	seen := make(map[string]bool, n)
	// With hold, the receiver is down (503) until back is set; firstBack
	// and last are when the first and last callbacks arrived after that.
	var back atomic.Bool
	var firstBack, last time.Time
	back.Store(!hold)
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !back.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		now := time.Now()
		id := r.Header.Get("webhook-id")
		e2eMu.Lock()
		first := !seen[id]
		seen[id] = true
		if first {
			if sent, ok := sentAt(body); ok {
				e2e = append(e2e, now.Sub(sent))
			}
			if firstBack.IsZero() {
				firstBack = now
			}
			last = now
		}
		e2eMu.Unlock()
		if first {
			arrived.Add(1)
		}
		w.Write([]byte(`{"code":"000"}`))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	go rcv.Serve(ln)
	defer rcv.Close()
	hook := "http://" + ln.Addr().String() + "/bench"
	if err := modifyConfig(client, base, token, 1, hook); err != nil {
		return res, fmt.Errorf("add the receiver's config (is the gateway running with --dev?): %w", err)
	}
	defer modifyConfig(client, base, token, 2, hook)

	cpu0, _ := scrape(client, base, "process_cpu_seconds_total")
	var peak atomic.Int64
	stopRSS := make(chan struct{})
	go func() {
		for {
			if v, err := scrape(client, base, "process_resident_memory_bytes"); err == nil && int64(v) > peak.Load() {
				peak.Store(int64(v))
			}
			select {
			case <-stopRSS:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	defer close(stopRSS)

	pad := strings.Repeat("x", max(0, size-60))
	path, contentType := base+"/"+tenant+"/message/v1/callbacks", "application/json"
	switch {
	case api == "connect" && batch > 1:
		path = base + "/callgate.v1.CallbackService/SubmitCallbacks"
	case api == "connect":
		path = base + "/callgate.v1.CallbackService/SubmitCallback"
	case batch > 1:
		path += "/batch"
	}
	requests := (n + batch - 1) / batch
	start := time.Now()
	var throttled atomic.Int64
	acked, refused, lat, took := load(requests, c, rate/float64(batch), func(j int) (int, error) {
		var body []byte
		k := min(batch, n-j*batch)
		if batch == 1 {
			content := fmt.Sprintf(`{"n":%d,"sentNs":%d,"pad":%q}`, j, time.Now().UnixNano(), pad)
			body, _ = json.Marshal(map[string]any{"content": content, "properties": map[string]string{"rule": "http"}})
		} else {
			cbs := make([]map[string]any, k)
			for m := range cbs {
				content := fmt.Sprintf(`{"n":%d,"sentNs":%d,"pad":%q}`, j*batch+m, time.Now().UnixNano(), pad)
				cbs[m] = map[string]any{"content": content, "properties": map[string]string{"rule": "http"}}
			}
			body, _ = json.Marshal(map[string]any{"callbacks": cbs})
		}
		for {
			req, _ := http.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				if batch == 1 {
					return 1, nil
				}
				return batchAccepted(answer, k)
			case http.StatusTooManyRequests:
				// Over the tenant's ingest limit: a well-behaved client
				// waits as told and sends again.
				throttled.Add(1)
				time.Sleep(retryAfter(resp.Header.Get("Retry-After")))
			default:
				return 0, fmt.Errorf("status %d", resp.StatusCode)
			}
		}
	})
	res.Throttled = throttled.Load()
	if res.Throttled > 0 {
		fmt.Fprintf(os.Stderr, "callgate bench: the gateway throttled %d requests (429): the tenant's ingest limit, not the gateway, set the pace; lift it with: callgate tenants update %s --ingest-rate -1\n",
			res.Throttled, tenant)
	}
	res.Acked, res.Refused = acked, refused
	res.IngestPerSec = float64(acked) / took.Seconds()
	res.AckP50Ms, res.AckP99Ms = pct(lat, 0.5), pct(lat, 0.99)
	var backAt time.Time
	if hold {
		// Every callback is acked and held: note the memory it takes, then
		// bring the receiver back.
		time.Sleep(time.Second)
		res.HeldPeakRSSMiB = float64(peak.Load()) / (1 << 20)
		backAt = time.Now()
		back.Store(true)
	}
	deadline := time.Now().Add(wait)
	for arrived.Load() < acked && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	res.Arrived = arrived.Load()
	res.DeliverPerSec = float64(res.Arrived) / time.Since(start).Seconds()
	e2eMu.Lock()
	res.E2EP50Ms, res.E2EP99Ms, res.E2EMaxMs = pct(e2e, 0.5), pct(e2e, 0.99), pct(e2e, 1)
	if hold && !firstBack.IsZero() {
		res.RecoverSeconds = firstBack.Sub(backAt).Seconds()
		if d := last.Sub(firstBack).Seconds(); d > 0 {
			res.DrainPerSec = float64(res.Arrived) / d
		}
	}
	e2eMu.Unlock()
	if cpu1, err := scrape(client, base, "process_cpu_seconds_total"); err == nil {
		res.CPUSeconds = cpu1 - cpu0
	}
	res.PeakRSSMiB = float64(peak.Load()) / (1 << 20)
	if res.Arrived < acked {
		fmt.Fprintf(os.Stderr, "callgate bench: %d acknowledged callbacks had not arrived after %s\n", acked-res.Arrived, wait)
	}
	return res, nil
}

// ceilingRun measures the same client against a server that does nothing,
// on this machine, now: the figure the gateway's rates are read against.
func ceilingRun(client *http.Client, n, c, size int, rate float64) (benchResult, error) {
	res := benchResult{Target: "ceiling (do-nothing server)", N: n, Concurrency: c}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":"OK","message":"success","result":{}}`))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/demo/message/v1/callbacks"
	pad := strings.Repeat("x", max(0, size-60))
	acked, refused, lat, took := load(n, c, rate, func(i int) (int, error) {
		body := fmt.Sprintf(`{"content":%q}`, fmt.Sprintf(`{"n":%d,"sentNs":%d,"pad":%q}`, i, time.Now().UnixNano(), pad))
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return 1, nil
	})
	res.Acked, res.Refused = acked, refused
	res.IngestPerSec = float64(acked) / took.Seconds()
	res.AckP50Ms, res.AckP99Ms = pct(lat, 0.5), pct(lat, 0.99)
	return res, nil
}

// batchAccepted reads how many of a batch of k were accepted, from the
// REST envelope or the Connect answer; a batch with refusals is an error,
// as a refused single callback is.
func batchAccepted(answer []byte, k int) (int, error) {
	var a struct {
		Accepted int `json:"accepted"`
		Result   struct {
			Accepted int `json:"accepted"`
		} `json:"result"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return 0, fmt.Errorf("read batch answer: %w", err)
	}
	got := max(a.Accepted, a.Result.Accepted)
	if got != k {
		return got, fmt.Errorf("%d of a batch of %d refused", k-got, k)
	}
	return got, nil
}

func modifyConfig(client *http.Client, base, token string, op int, url string) error {
	body, _ := json.Marshal(map[string]any{"operateType": op, "callbackInfo": map[string]string{"callbackUrl": url}})
	req, _ := http.NewRequest(http.MethodPost, base+"/callgate.v1.ConfigService/ModifyCallbackConfig", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return nil
}

// scrape reads one unlabelled value from the gateway's /metrics.
func scrape(client *http.Client, base, name string) (float64, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New(name + " not found")
}

// retryAfter reads a Retry-After header in seconds (fractions allowed),
// with a short pause when there is none.
func retryAfter(h string) time.Duration {
	if s, err := strconv.ParseFloat(h, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return 10 * time.Millisecond
}

// sentAt finds the send time the load put in a callback.
func sentAt(body []byte) (time.Time, bool) {
	_, rest, ok := bytes.Cut(body, []byte(`"sentNs":`))
	if !ok {
		return time.Time{}, false
	}
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// pct returns the q-quantile in milliseconds.
func pct(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}
