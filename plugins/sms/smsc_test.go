package smsplugin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// perlPackage is the Debian package the SMSC peer needs; CI installs it.
const perlPackage = "libnet-smpp-perl"

// event is one line the peer printed: what it received or did.
type event struct {
	Event              string `json:"event"`
	SystemID           string `json:"system_id"`
	Password           string `json:"password"`
	Accepted           bool   `json:"accepted"`
	Seq                int    `json:"seq"`
	SourceAddr         string `json:"source_addr"`
	SourceAddrTon      int    `json:"source_addr_ton"`
	SourceAddrNpi      int    `json:"source_addr_npi"`
	DestinationAddr    string `json:"destination_addr"`
	DestAddrTon        int    `json:"dest_addr_ton"`
	DestAddrNpi        int    `json:"dest_addr_npi"`
	EsmClass           int    `json:"esm_class"`
	DataCoding         int    `json:"data_coding"`
	RegisteredDelivery int    `json:"registered_delivery"`
	ShortMessageHex    string `json:"short_message_hex"`
	Status             int    `json:"status"`
	MessageID          string `json:"message_id"`
	Cmd                uint32 `json:"cmd"`
}

// smsc is the SMSC peer: testdata/smsc.pl, on Debian's Net::SMPP, run as
// a child process on a loopback port.
type smsc struct {
	port   int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	read   chan struct{} // closed when stdout is drained
	stderr *syncBuffer
}

var checkPerl = sync.OnceValues(func() ([]byte, error) {
	return exec.Command("perl", "-MNet::SMPP", "-MJSON::PP", "-e", "1").CombinedOutput()
})

// requirePerl fails, never skips, when the peer cannot run: CI must run
// these tests.
func requirePerl(t *testing.T) {
	t.Helper()
	if out, err := checkPerl(); err != nil {
		t.Fatalf("the SMSC peer needs perl with Net::SMPP: install Debian's %s (apt-get install -y %s): %v\n%s",
			perlPackage, perlPackage, err, out)
	}
}

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSMSC runs the peer on port with extra arguments (see smsc.pl) and
// waits until it listens.
func startSMSC(t *testing.T, port int, args ...string) *smsc {
	t.Helper()
	requirePerl(t)
	cmd := exec.Command("perl", append([]string{"testdata/smsc.pl", "--port", strconv.Itoa(port)}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &smsc{port: port, cmd: cmd, stdin: stdin, events: make(chan event, 1024), read: make(chan struct{}), stderr: &syncBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err == nil {
				s.events <- e
			}
		}
	}()
	t.Cleanup(s.stop)
	select {
	case e := <-s.events:
		if e.Event != "listening" {
			t.Fatalf("smsc said %+v first", e)
		}
	case <-s.read:
		t.Fatalf("smsc exited before listening: %s", s.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("smsc did not listen within 10s: %s", s.stderr)
	}
	return s
}

// stop closes the peer's stdin, which ends it, and waits.
func (s *smsc) stop() {
	_ = s.stdin.Close()
	select {
	case <-s.read:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.read
	}
	_ = s.cmd.Wait()
}

// kill ends the peer at once, as a crash would; the kernel closes its
// connections.
func (s *smsc) kill() {
	_ = s.cmd.Process.Kill()
	<-s.read
	_ = s.cmd.Wait()
}

// next returns the next event of the given kind, dropping others.
func (s *smsc) next(t *testing.T, kind string) event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-s.events:
			if e.Event == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("smsc reported no %q within 5s (stderr: %s)", kind, s.stderr)
		}
	}
}

// drain returns every event reported so far.
func (s *smsc) drain() []event {
	var out []event
	for {
		select {
		case e := <-s.events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
