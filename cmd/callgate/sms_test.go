package main_test

import (
	"bufio"
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// startSMSC runs the sms plugin's SMSC peer (plugins/sms/testdata/smsc.pl,
// on Debian's Net::SMPP) on a free loopback port with args, until the test
// ends, and returns the port.
func startSMSC(t *testing.T, args ...string) int {
	t.Helper()
	if out, err := exec.Command("perl", "-MNet::SMPP", "-MJSON::PP", "-e", "1").CombinedOutput(); err != nil {
		t.Fatalf("the SMSC peer needs perl with Net::SMPP (apt-get install -y libnet-smpp-perl): %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("perl", append([]string{"../../plugins/sms/testdata/smsc.pl", "--port", strconv.Itoa(port)}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				var e struct{ Event string }
				_ = json.Unmarshal(sc.Bytes(), &e)
				listening <- e.Event == "listening"
				first = false
			}
		}
		if first {
			listening <- false
		}
	}()
	t.Cleanup(func() {
		// The peer exits when its stdin closes.
		stdin.Close()
		_ = cmd.Wait()
	})
	if !<-listening {
		t.Fatalf("the SMSC peer did not start: %s", logs.String())
	}
	return port
}

// deliveryView is what GetDelivery answers, as JSON.
type deliveryView struct {
	Delivery struct {
		Status  string `json:"status"`
		Channel string `json:"channel"`
	} `json:"delivery"`
	Receipts []struct {
		ChannelID string `json:"channelId"`
		Status    string `json:"status"`
		Detail    string `json:"detail"`
	} `json:"receipts"`
}

// TestSMSDeliveryReceipts: a callback with the sms rule goes out through
// the sms plugin process to a real SMPP peer, which accepts it and then
// sends a delivery receipt (deliver_sm); the plugin passes the receipt to
// the gateway over its receipt stream, and it shows on the delivery.
func TestSMSDeliveryReceipts(t *testing.T) {
	port := startSMSC(t, "--receipts", "--receipt-stat", "15550000002=UNDELIV:001")
	g := startGateway(t, t.TempDir())
	if s := g.call("/callgate.v1.ChannelService/PutChannel", "demo-secret", map[string]any{"channel": map[string]any{
		"id": "sms", "plugin": "sms", "settings": map[string]string{
			"host": "127.0.0.1", "port": strconv.Itoa(port), "systemId": "callgate", "password": "secret",
			"sourceAddr": "Callgate"},
	}}, nil); s != 200 {
		t.Fatalf("put channel: %d", s)
	}
	for _, tc := range []struct {
		name, destination, status, detail string
	}{
		{name: "delivered", destination: "+15550000001", status: "delivered", detail: "stat:DELIVRD err:000"},
		{name: "undeliverable", destination: "+15550000002", status: "failed", detail: "stat:UNDELIV err:001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env envelope
			if s := g.call("/demo/message/v1/callbacks", "demo-secret", map[string]any{
				"content":    "Your code is 1234",
				"properties": map[string]any{"rule": "sms", "ext": map[string]string{"destination": tc.destination}},
			}, &env); s != 200 {
				t.Fatalf("submit: %d %+v", s, env)
			}
			ids, _ := env.Result["deliveryIds"].([]any)
			if len(ids) != 1 {
				t.Fatalf("deliveries %v", env.Result)
			}
			id, _ := ids[0].(string)
			var v deliveryView
			deadline := time.Now().Add(20 * time.Second)
			for {
				v = deliveryView{}
				if s := g.call("/callgate.v1.DeliveryService/GetDelivery", "demo-secret", map[string]string{"id": id}, &v); s != 200 {
					t.Fatalf("get delivery: %d", s)
				}
				if v.Delivery.Status == "succeeded" && len(v.Receipts) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no receipt on delivery %s: %+v", id, v)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if r := v.Receipts[0]; len(v.Receipts) != 1 || r.Status != tc.status || r.Detail != tc.detail || r.ChannelID != "sms" {
				t.Fatalf("receipts %+v, want one %s %q on channel sms", v.Receipts, tc.status, tc.detail)
			}
		})
	}
}
