package main_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// TestGracefulShutdown: SIGTERM while a receiver is still answering lets
// that send finish and be recorded, and the process exits 0; after a
// restart the delivery is not sent again.
func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	g := startGateway(t, data)
	release := make(chan struct{})
	rc := newReceiver(t, func(int) int {
		<-release
		return http.StatusOK
	})
	g.addConfig(rc.url, "", "")
	status, env := g.submit("slow")
	if status != 200 {
		t.Fatalf("submit: %d %+v", status, env)
	}
	id := env.Result["deliveryIds"].([]any)[0].(string)
	rc.waitFor(t, 20*time.Second, "the send", func(r []received) bool { return len(r) == 1 })

	g.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond) // the gateway is now draining
	close(release)
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not stop")
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d\n%s", code, g.logs.String())
	}

	g2 := startGateway(t, data)
	c := callgatev1connect.NewDeliveryServiceClient(http.DefaultClient, g2.base, bearer("demo-secret"))
	resp, err := c.GetDelivery(contextWithTimeout(t, 5*time.Second), connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.Msg; d.Delivery.Status != "succeeded" || len(d.Attempts) != 1 {
		t.Fatalf("after a graceful stop: %v", d)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}
