package smsplugin_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	smsplugin "github.com/callgate/callgate/plugins/sms"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

const (
	delivered = pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
	retryable = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
	permanent = pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT
)

// newPlugin returns a plugin logging into the test's output, closed at
// the end of the test.
func newPlugin(t *testing.T, opts ...smsplugin.Option) *smsplugin.Plugin {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := smsplugin.New(append([]smsplugin.Option{smsplugin.WithLogger(log)}, opts...)...)
	p.SetBackoffForTest(50*time.Millisecond, 500*time.Millisecond)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// settings for the peer on port, with extra name/value pairs on top.
func settings(port int, extra ...string) map[string]string {
	s := map[string]string{
		"host":       "127.0.0.1",
		"port":       strconv.Itoa(port),
		"systemId":   "callgate",
		"password":   "secret",
		"sourceAddr": "+15550001111",
		"timeout_ms": "3000",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i]] = extra[i+1]
	}
	return s
}

func send(t *testing.T, p *smsplugin.Plugin, d *pluginv1.Delivery) *pluginv1.Outcome {
	t.Helper()
	out, err := p.Send(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ucs2 is s in UTF-16 big-endian, written here rather than taken from
// the plugin's encoder.
func ucs2(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, v := range u {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func TestSend_gsm_text(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port)
	p := newPlugin(t)

	out := send(t, p, &pluginv1.Delivery{Id: "d1", Destination: "+8613800138000", Body: []byte("Hi @home {x} €5"), Settings: settings(port)})
	if out.GetKind() != delivered || out.GetVendorMessageId() != "msg-1" {
		t.Fatalf("outcome %v", out)
	}
	bind := peer.next(t, "bind")
	if bind.SystemID != "callgate" || bind.Password != "secret" || !bind.Accepted {
		t.Fatalf("bind %+v", bind)
	}
	sm := peer.next(t, "submit_sm")
	if sm.DestinationAddr != "8613800138000" || sm.DestAddrTon != 1 || sm.DestAddrNpi != 1 {
		t.Errorf("destination %q ton %d npi %d", sm.DestinationAddr, sm.DestAddrTon, sm.DestAddrNpi)
	}
	if sm.SourceAddr != "15550001111" || sm.SourceAddrTon != 1 || sm.SourceAddrNpi != 1 {
		t.Errorf("source %q ton %d npi %d", sm.SourceAddr, sm.SourceAddrTon, sm.SourceAddrNpi)
	}
	if sm.DataCoding != 0 || sm.EsmClass != 0 || sm.RegisteredDelivery != 1 {
		t.Errorf("data_coding %d esm_class %d registered_delivery %d", sm.DataCoding, sm.EsmClass, sm.RegisteredDelivery)
	}
	// GSM 03.38, unpacked: '@' is 0x00; '{', '}' and '€' are escapes.
	want := []byte{'H', 'i', ' ', 0x00, 'h', 'o', 'm', 'e', ' ', 0x1B, 0x28, 'x', 0x1B, 0x29, ' ', 0x1B, 0x65, '5'}
	if got := unhex(t, sm.ShortMessageHex); !bytes.Equal(got, want) {
		t.Errorf("short_message % X, want % X", got, want)
	}
}

func TestSend_chinese_is_ucs2(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port)
	p := newPlugin(t)
	const body = "您的订单已支付，金额 42 元。"
	out := send(t, p, &pluginv1.Delivery{Destination: "+8613800138000", Body: []byte(body), Settings: settings(port)})
	if out.GetKind() != delivered || out.GetVendorMessageId() == "" {
		t.Fatalf("outcome %v", out)
	}
	sm := peer.next(t, "submit_sm")
	if sm.DataCoding != 8 || sm.EsmClass != 0 {
		t.Errorf("data_coding %d esm_class %d", sm.DataCoding, sm.EsmClass)
	}
	if got := unhex(t, sm.ShortMessageHex); !bytes.Equal(got, ucs2(body)) {
		t.Errorf("short_message % X, want % X", got, ucs2(body))
	}
}

// concat reads a concatenation UDH (IEI 0x00, 8-bit reference) off a
// part and returns reference, total, number and the rest.
func concat(t *testing.T, b []byte) (ref, total, num byte, rest []byte) {
	t.Helper()
	if len(b) < 6 || b[0] != 5 || b[1] != 0 || b[2] != 3 {
		t.Fatalf("no concatenation header: % X", b[:min(len(b), 8)])
	}
	return b[3], b[4], b[5], b[6:]
}

func TestSend_long_text_is_split_with_udh(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		dataCoding int
		parts      int
		encode     func(string) []byte
	}{
		{
			name: "gsm", body: strings.Repeat("0123456789", 40), // 400 septets: 153 + 153 + 94
			dataCoding: 0, parts: 3, encode: func(s string) []byte { return []byte(s) },
		},
		{
			name: "ucs2", body: strings.Repeat("订单已支付", 20), // 100 units: 67 + 33
			dataCoding: 8, parts: 2, encode: ucs2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t)
			peer := startSMSC(t, port)
			p := newPlugin(t)
			out := send(t, p, &pluginv1.Delivery{Destination: "+4915112345678", Body: []byte(tt.body), Settings: settings(port)})
			if out.GetKind() != delivered {
				t.Fatalf("outcome %v", out)
			}
			var ids []string
			var joined []byte
			var ref0 byte
			for i := range tt.parts {
				sm := peer.next(t, "submit_sm")
				if sm.EsmClass&0x40 == 0 || sm.DataCoding != tt.dataCoding {
					t.Fatalf("part %d: esm_class 0x%02X data_coding %d", i+1, sm.EsmClass, sm.DataCoding)
				}
				ref, total, num, rest := concat(t, unhex(t, sm.ShortMessageHex))
				if i == 0 {
					ref0 = ref
				}
				if ref != ref0 || int(total) != tt.parts || int(num) != i+1 {
					t.Fatalf("part %d: ref %d total %d num %d", i+1, ref, total, num)
				}
				// 153 septets or 134 octets of UCS-2 fit beside the header.
				if limit := map[int]int{0: 153, 8: 134}[tt.dataCoding]; len(rest) > limit {
					t.Fatalf("part %d: %d octets, more than %d", i+1, len(rest), limit)
				}
				joined = append(joined, rest...)
				ids = append(ids, sm.MessageID)
			}
			if !bytes.Equal(joined, tt.encode(tt.body)) {
				t.Errorf("parts put together differ from the text")
			}
			// The first part's id stands for the text.
			if out.GetVendorMessageId() != ids[0] {
				t.Errorf("vendor message id %q, parts %v", out.GetVendorMessageId(), ids)
			}
		})
	}
}

func TestSend_error_statuses(t *testing.T) {
	port := freePort(t)
	startSMSC(t, port,
		"--status", "15550000011=0x0B", // ESME_RINVDSTADR
		"--status", "15550000088=0x58", // ESME_RTHROTTLED
		"--status", "15550000008=0x08", // ESME_RSYSERR
		"--status", "15550000020=0x14", // ESME_RMSGQFUL
		"--status", "15550000104=0x104", // ESME_RINVDCS
		"--status", "15550001100=0x450", // vendor-specific
	)
	p := newPlugin(t)
	tests := []struct {
		dest   string
		want   pluginv1.OutcomeKind
		status int32
	}{
		{"+15550000011", permanent, 0x0B},
		{"+15550000088", retryable, 0x58},
		{"+15550000008", retryable, 0x08},
		{"+15550000020", retryable, 0x14},
		{"+15550000104", permanent, 0x104},
		{"+15550001100", retryable, 0x450},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			out := send(t, p, &pluginv1.Delivery{Destination: tt.dest, Body: []byte("x"), Settings: settings(port)})
			if out.GetKind() != tt.want || out.GetStatusCode() != tt.status || !strings.Contains(out.GetError(), fmt.Sprintf("0x%08X", tt.status)) {
				t.Fatalf("outcome %v, want %v status 0x%X", out, tt.want, tt.status)
			}
		})
	}
	// A part that fails ends the delivery: later parts are not sent.
	t.Run("long_text_stops_at_failed_part", func(t *testing.T) {
		out := send(t, p, &pluginv1.Delivery{Destination: "+15550000011", Body: []byte(strings.Repeat("x", 300)), Settings: settings(port)})
		if out.GetKind() != permanent || !strings.Contains(out.GetError(), "part 1 of 2") {
			t.Fatalf("outcome %v", out)
		}
	})
}

func TestSend_no_answer_is_retryable(t *testing.T) {
	port := freePort(t)
	startSMSC(t, port, "--silent", "15550000404")
	p := newPlugin(t)
	start := time.Now()
	out := send(t, p, &pluginv1.Delivery{Destination: "+15550000404", Body: []byte("x"), Settings: settings(port, "timeout_ms", "300")})
	if out.GetKind() != retryable || !strings.Contains(out.GetError(), "no submit_sm_resp") {
		t.Fatalf("outcome %v", out)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s with a 300ms timeout", d)
	}
	// The session is still good for the next delivery.
	if out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)}); out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
}

func TestSend_source_addresses(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port)
	p := newPlugin(t)
	tests := []struct {
		source   string
		addr     string
		ton, npi int
	}{
		{source: "+447700900123", addr: "447700900123", ton: 1, npi: 1},
		{source: "12345", addr: "12345", ton: 0, npi: 1},
		{source: "Callgate", addr: "Callgate", ton: 5, npi: 0},
		{source: "", addr: "", ton: 0, npi: 0},
	}
	for _, tt := range tests {
		t.Run("source_"+tt.source, func(t *testing.T) {
			out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port, "sourceAddr", tt.source)})
			if out.GetKind() != delivered {
				t.Fatalf("outcome %v", out)
			}
			sm := peer.next(t, "submit_sm")
			if sm.SourceAddr != tt.addr || sm.SourceAddrTon != tt.ton || sm.SourceAddrNpi != tt.npi {
				t.Fatalf("source %q ton %d npi %d", sm.SourceAddr, sm.SourceAddrTon, sm.SourceAddrNpi)
			}
		})
	}
}

func TestSend_peer_down_is_retryable(t *testing.T) {
	port := freePort(t)
	p := newPlugin(t)
	start := time.Now()
	out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)})
	if out.GetKind() != retryable || !strings.Contains(out.GetError(), "bind") {
		t.Fatalf("outcome %v", out)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if err := p.Health(t.Context()); err == nil || !strings.Contains(err.Error(), "callgate@127.0.0.1") {
		t.Fatalf("Health = %v", err)
	}
	// The session stays down, so the next attempt fails without waiting.
	start = time.Now()
	if out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)}); out.GetKind() != retryable {
		t.Fatalf("outcome %v", out)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("second attempt took %s", d)
	}
}

func TestSend_bind_refused_is_retryable(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port, "--password", "right")
	p := newPlugin(t)
	out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port, "password", "wrong")})
	if out.GetKind() != retryable || !strings.Contains(out.GetError(), "bind") {
		t.Fatalf("outcome %v", out)
	}
	if b := peer.next(t, "bind"); b.Accepted {
		t.Fatalf("bind %+v", b)
	}
}

func TestSend_reconnects_after_peer_restart(t *testing.T) {
	port := freePort(t)
	first := startSMSC(t, port, "--id-prefix", "one")
	p := newPlugin(t)
	d := &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)}
	if out := send(t, p, d); out.GetKind() != delivered || out.GetVendorMessageId() != "one-1" {
		t.Fatalf("outcome %v", out)
	}

	first.kill()
	if out := send(t, p, d); out.GetKind() != retryable {
		t.Fatalf("with the peer gone: outcome %v", out)
	}

	second := startSMSC(t, port, "--id-prefix", "two")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := send(t, p, d)
		if out.GetKind() == delivered {
			if out.GetVendorMessageId() != "two-1" {
				t.Fatalf("outcome %v", out)
			}
			break
		}
		if out.GetKind() != retryable || time.Now().After(deadline) {
			t.Fatalf("after the restart: outcome %v", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b := second.next(t, "bind"); !b.Accepted {
		t.Fatalf("bind %+v", b)
	}
	if err := p.Health(t.Context()); err != nil {
		t.Fatalf("Health = %v", err)
	}
}

func TestSession_enquire_link_keeps_alive(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port)
	p := newPlugin(t)
	p.SetEnquireLinkForTest(100 * time.Millisecond)
	if out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)}); out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	peer.next(t, "enquire_link")
	peer.next(t, "enquire_link")
}

func TestSession_shared_per_account(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port)
	p := newPlugin(t)

	const n = 20
	var wg sync.WaitGroup
	outs := make([]*pluginv1.Outcome, n)
	for i := range n {
		wg.Go(func() {
			// A different sender on the same account shares the bind.
			s := settings(port, "sourceAddr", fmt.Sprintf("Shop%d", i%3))
			outs[i], _ = p.Send(t.Context(), &pluginv1.Delivery{Destination: fmt.Sprintf("+1555000%04d", i), Body: []byte("x"), Settings: s})
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, out := range outs {
		if out.GetKind() != delivered || ids[out.GetVendorMessageId()] {
			t.Fatalf("delivery %d: outcome %v", i, out)
		}
		ids[out.GetVendorMessageId()] = true
	}
	// Another account gets a bind of its own.
	if out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port, "systemId", "other")}); out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	time.Sleep(50 * time.Millisecond)
	binds := 0
	alnum := 0
	for _, e := range peer.drain() {
		switch e.Event {
		case "bind":
			binds++
		case "submit_sm":
			if e.SourceAddrTon == 5 && strings.HasPrefix(e.SourceAddr, "Shop") {
				alnum++
			}
		}
	}
	if binds != 2 || alnum != n {
		t.Fatalf("%d binds (want 2), %d alphanumeric senders (want %d)", binds, alnum, n)
	}
}

func TestReceipts_are_logged(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port, "--receipts")
	var logs syncBuffer
	p := smsplugin.New(smsplugin.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	t.Cleanup(func() { _ = p.Close() })
	out := send(t, p, &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)})
	if out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	peer.next(t, "receipt_sent")
	// The plugin answers the deliver_sm.
	if r := peer.next(t, "resp"); r.Cmd != 0x80000005 || r.Status != 0 {
		t.Fatalf("answer to the receipt: %+v", r)
	}
	want := `"msg":"smsc delivery receipt","smsc":"callgate@127.0.0.1:` + strconv.Itoa(port) + `","vendor_message_id":"` + out.GetVendorMessageId() + `","stat":"DELIVRD","err":"000"`
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no receipt logged; logs:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "secret") {
		t.Fatalf("a log line shows the password:\n%s", logs.String())
	}
}

func TestClose_unbinds(t *testing.T) {
	port := freePort(t)
	peer := startSMSC(t, port)
	p := smsplugin.New()
	d := &pluginv1.Delivery{Destination: "+15550000001", Body: []byte("x"), Settings: settings(port)}
	if out := send(t, p, d); out.GetKind() != delivered {
		t.Fatalf("outcome %v", out)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	peer.next(t, "unbind")
	if out := send(t, p, d); out.GetKind() != retryable {
		t.Fatalf("after Close: outcome %v", out)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSend_bad_deliveries_are_permanent(t *testing.T) {
	// Nothing listens: these must fail before any connection.
	port := freePort(t)
	with := func(k, v string) map[string]string {
		s := settings(port)
		if v == "" {
			delete(s, k)
		} else {
			s[k] = v
		}
		return s
	}
	tests := []struct {
		name     string
		dest     string
		body     string
		settings map[string]string
		contains string
	}{
		{name: "no_plus", dest: "8613800138000", contains: "E.164"},
		{name: "leading_zero", dest: "+0123456", contains: "E.164"},
		{name: "spaces", dest: "+1 555 000 0001", contains: "E.164"},
		{name: "too_long", dest: "+1234567890123456", contains: "E.164"},
		{name: "letters", dest: "+1555CALLGATE", contains: "E.164"},
		{name: "empty_destination", dest: "", contains: "E.164"},
		{name: "empty_body", dest: "+15550000001", body: "-", contains: "empty"},
		{name: "not_utf8", dest: "+15550000001", body: "\xff\xfe", contains: "UTF-8"},
		{name: "too_many_parts", dest: "+15550000001", body: strings.Repeat("x", 153*smsplugin.MaxParts+1), contains: "at most"},
		{name: "no_host", dest: "+15550000001", settings: with("host", ""), contains: "host"},
		{name: "no_system_id", dest: "+15550000001", settings: with("systemId", ""), contains: "systemId"},
		{name: "long_system_id", dest: "+15550000001", settings: with("systemId", "a-very-long-system-id"), contains: "systemId"},
		{name: "long_password", dest: "+15550000001", settings: with("password", "123456789"), contains: "password"},
		{name: "bad_port", dest: "+15550000001", settings: with("port", "0"), contains: "port"},
		{name: "bad_timeout", dest: "+15550000001", settings: with("timeout_ms", "-1"), contains: "timeout_ms"},
		{name: "bad_source", dest: "+15550000001", settings: with("sourceAddr", "Callgate Shop!"), contains: "sourceAddr"},
	}
	p := newPlugin(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.settings
			if s == nil {
				s = settings(port)
			}
			body := tt.body
			switch body {
			case "":
				body = "hello"
			case "-":
				body = ""
			}
			out := send(t, p, &pluginv1.Delivery{Destination: tt.dest, Body: []byte(body), Settings: s})
			if out.GetKind() != permanent || !strings.Contains(out.GetError(), tt.contains) {
				t.Fatalf("outcome %v, want permanent mentioning %q", out, tt.contains)
			}
		})
	}
	if err := p.Health(t.Context()); err != nil {
		t.Fatalf("a bad delivery started a session: %v", err)
	}
}

func TestSend_nil_delivery(t *testing.T) {
	if _, err := smsplugin.New().Send(t.Context(), nil); err == nil {
		t.Fatal("nil delivery accepted")
	}
}

func TestDescribe(t *testing.T) {
	p := smsplugin.New()
	desc, err := p.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if desc.GetName() != "sms" || len(desc.GetChannelKinds()) != 1 || desc.GetChannelKinds()[0] != "sms" {
		t.Fatalf("Describe = %v", desc)
	}
	specs := map[string]*pluginv1.SettingSpec{}
	for _, s := range desc.GetSettings() {
		specs[s.GetName()] = s
	}
	for _, n := range []string{"host", "port", "systemId", "password", "sourceAddr", "timeout_ms"} {
		if specs[n] == nil || specs[n].GetDescription() == "" {
			t.Errorf("setting %s missing or undocumented", n)
		}
	}
	if !specs["password"].GetSecret() {
		t.Error("password is not secret")
	}
	if err := p.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
}
