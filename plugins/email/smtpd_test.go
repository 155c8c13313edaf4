package emailplugin_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Addresses the test server treats specially.
const (
	rcptUnknown  = "nobody@example.com"   // RCPT: 550 5.1.1
	rcptGreylist = "greylist@example.com" // RCPT: 451 4.7.1
	rcptBusy     = "busy@example.com"     // end of DATA: 451 4.3.0
)

// received is one message the test server accepted.
type received struct {
	from     string
	to       []string
	data     []byte
	authUser string
	tls      bool
}

// smtpd is a real SMTP server (emersion/go-smtp) on loopback that records
// what it accepts.
type smtpd struct {
	host string
	port int
	got  chan received

	// user and pass, when set, are required before MAIL.
	user, pass string
}

// serverOpts configures startSMTPD.
type serverOpts struct {
	user, pass string
	tls        *tls.Config // offered by STARTTLS, or from the first byte with implicit
	implicit   bool
	listenAddr string // default 127.0.0.1:0
}

func startSMTPD(t *testing.T, o serverOpts) *smtpd {
	t.Helper()
	addr := o.listenAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	host, portStr, _ := net.SplitHostPort(l.Addr().String())
	port, _ := strconv.Atoi(portStr)
	d := &smtpd{host: host, port: port, got: make(chan received, 16), user: o.user, pass: o.pass}

	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.Conn().(*tls.Conn)
		return &session{d: d, tls: isTLS}, nil
	}))
	s.Domain = "mx.test"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.MaxMessageBytes = 32 << 20
	s.EnableSMTPUTF8 = true
	// AUTH over plain TCP is allowed only because this is loopback.
	s.AllowInsecureAuth = true
	s.TLSConfig = o.tls
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return d
}

// next returns the next accepted message, failing the test if none comes.
func (d *smtpd) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-d.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the SMTP server received no message")
		return received{}
	}
}

// none fails the test if the server accepted a message.
func (d *smtpd) none(t *testing.T) {
	t.Helper()
	select {
	case r := <-d.got:
		t.Fatalf("the SMTP server accepted a message: from %s to %v", r.from, r.to)
	default:
	}
}

type session struct {
	d        *smtpd
	tls      bool
	authUser string
	from     string
	to       []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if s.d.user == "" || user != s.d.user || pass != s.d.pass {
			return smtp.ErrAuthFailed
		}
		s.authUser = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.d.user != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch to {
	case rcptUnknown:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	case rcptGreylist:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		if to == rcptBusy {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing"}
		}
	}
	s.d.got <- received{from: s.from, to: s.to, data: b, authUser: s.authUser, tls: s.tls}
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

var _ smtp.AuthSession = (*session)(nil)

// testCert makes a self-signed certificate for 127.0.0.1 and localhost
// and the pool that trusts it.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "callgate test SMTP server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(errors.Join(errors.New("parse test certificate"), err))
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

func serverTLS() *tls.Config {
	cert, _ := testCert()
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
