package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	// One refused submission (no config yet) shows up by its code.
	if s, _ := post(t, http.DefaultClient, r.base+"/demo/message/v1/callbacks", "demo-secret", `{"content":"x"}`); s != 400 {
		t.Fatalf("submit without config: %d", s)
	}
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`callgate_ingest_total{code="FailedOperation.NoCallbackConfig",outcome="refused"} 1`,
		"callgate_queue_depth 0",
		"callgate_plugins_healthy 1",
		"callgate_store_commits",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
