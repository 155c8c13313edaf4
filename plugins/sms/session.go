package smsplugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// Errors a submit fails with when there is no answer to wait for; all of
// them are retryable.
var (
	errNotBound       = errors.New("not bound to the SMSC")
	errConnectionLost = errors.New("connection to the SMSC lost before it answered")
)

// answer is the SMSC's response to one submit_sm.
type answer struct {
	status    data.CommandStatusType
	messageID string
	nack      bool // generic_nack rather than submit_sm_resp
	err       error
}

// session is one SMSC account's transceiver bind. Its run goroutine owns
// the gosmpp session: it binds, notices the bind is lost, and binds again
// with backoff until close stops it.
type session struct {
	key sessionKey
	cfg config
	p   *Plugin
	log *slog.Logger

	ready chan struct{} // closed once the first bind attempt has ended
	stop  chan struct{} // closed by close
	done  chan struct{} // closed when run returns

	mu      sync.Mutex
	gs      *gosmpp.Session // nil while unbound
	lastErr error           // why it is unbound
	pending map[int32]waiter
}

// waiter is a submit waiting for its answer, and what the message's
// receipts will be about.
type waiter struct {
	ch     chan answer
	target receiptTarget
}

func newSession(key sessionKey, cfg config, p *Plugin) *session {
	return &session{
		key: key, cfg: cfg, p: p,
		log:     p.log.With("smsc", key.String()),
		ready:   make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		lastErr: errNotBound,
		pending: make(map[int32]waiter),
	}
}

// run keeps the session bound until close.
func (s *session) run() {
	defer close(s.done)
	first := true
	backoff := s.p.minBackoff
	for {
		gs, lost, err := s.bind()
		s.mu.Lock()
		s.gs, s.lastErr = gs, err
		s.mu.Unlock()
		if first {
			close(s.ready)
			first = false
		}
		if err != nil {
			s.log.Warn("smsc bind failed", "error", err, "retry_in", backoff)
			select {
			case <-s.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, s.p.maxBackoff)
			continue
		}
		backoff = s.p.minBackoff
		s.log.Info("smsc bound")

		select {
		case <-s.stop:
			s.unbind(gs, ErrClosed)
			return
		case <-lost:
			s.log.Warn("smsc connection lost; binding again")
			s.unbind(gs, errConnectionLost)
		}
	}
}

// bind connects and binds as a transceiver. lost is closed when the
// session later fails for any reason but our own Close.
func (s *session) bind() (*gosmpp.Session, <-chan struct{}, error) {
	timeout := s.cfg.timeout
	dial := func(addr string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: timeout}).Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		// Bounds the bind exchange, which gosmpp reads without a
		// deadline of its own; reads and writes after it set theirs.
		_ = c.SetDeadline(time.Now().Add(timeout))
		return c, nil
	}
	lost := make(chan struct{})
	var once sync.Once
	settings := gosmpp.Settings{
		EnquireLink:  s.p.enquireLink,
		ReadTimeout:  s.p.enquireLink + timeout,
		WriteTimeout: timeout,
		OnPDU:        s.onPDU,
		OnReceivingError: func(err error) {
			s.log.Debug("smsc read failed", "error", err)
		},
		OnSubmitError: func(_ pdu.PDU, err error) {
			s.log.Debug("smsc write failed", "error", err)
		},
		OnClosed: func(state gosmpp.State) {
			if state != gosmpp.ExplicitClosing {
				once.Do(func() { close(lost) })
			}
		},
	}
	auth := gosmpp.Auth{SMSC: s.key.addr, SystemID: s.key.systemID, Password: s.key.password}
	// A rebinding interval of 0 turns gosmpp's own rebinding off: run
	// does it, with backoff, and can stop it.
	gs, err := gosmpp.NewSession(gosmpp.TRXConnector(dial, auth), settings, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("bind to %s: %w", s.key, err)
	}
	return gs, lost, nil
}

// unbind closes gs and fails every submit still waiting on it.
func (s *session) unbind(gs *gosmpp.Session, why error) {
	s.mu.Lock()
	s.gs, s.lastErr = nil, why
	pending := s.pending
	s.pending = make(map[int32]waiter)
	s.mu.Unlock()
	for _, w := range pending {
		w.ch <- answer{err: why}
	}
	_ = gs.Close()
}

// close stops run and waits for it.
func (s *session) close() {
	close(s.stop)
	<-s.done
}

// downErr is nil while bound, else why not.
func (s *session) downErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gs != nil {
		return nil
	}
	return s.lastErr
}

// waitReady waits for the first bind attempt, so that a delivery that
// starts a session is sent on it rather than refused.
func (s *session) waitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// submit sends one submit_sm and waits for its answer. Receipts for the
// message the SMSC accepts are reported about target.
func (s *session) submit(ctx context.Context, p *pdu.SubmitSM, target receiptTarget) answer {
	seq := p.GetSequenceNumber()
	ch := make(chan answer, 1)
	s.mu.Lock()
	gs := s.gs
	if gs == nil {
		err := s.lastErr
		s.mu.Unlock()
		return answer{err: fmt.Errorf("%w: %w", errNotBound, err)}
	}
	s.pending[seq] = waiter{ch: ch, target: target}
	s.mu.Unlock()

	if err := gs.Transceiver().Submit(p); err != nil {
		s.forget(seq)
		return answer{err: fmt.Errorf("submit_sm: %w", err)}
	}
	select {
	case a := <-ch:
		return a
	case <-ctx.Done():
		s.forget(seq)
		return answer{err: fmt.Errorf("no submit_sm_resp: %w", ctx.Err())}
	}
}

func (s *session) forget(seq int32) {
	s.mu.Lock()
	delete(s.pending, seq)
	s.mu.Unlock()
}

// resolve hands an answer to the submit waiting for seq, if any. The
// message id of an accepted submit is tracked here, on the reading
// goroutine, so that a receipt the SMSC sends right after the answer
// already finds it.
func (s *session) resolve(seq int32, a answer) {
	s.mu.Lock()
	w, ok := s.pending[seq]
	delete(s.pending, seq)
	s.mu.Unlock()
	if !ok {
		s.log.Debug("smsc answered a submit nobody waits for", "sequence", seq, "status", a.status)
		return
	}
	if a.status == data.ESME_ROK && !a.nack && a.messageID != "" {
		s.p.tracked.add(s.key, a.messageID, w.target)
	}
	w.ch <- a
}

// onPDU is gosmpp's callback for what the SMSC sends, run on the
// session's reading goroutine; it must not block. enquire_link and
// unbind are answered by gosmpp, deliver_sm too before this is called.
func (s *session) onPDU(p pdu.PDU, _ bool) {
	switch v := p.(type) {
	case *pdu.SubmitSMResp:
		s.resolve(v.SequenceNumber, answer{status: v.CommandStatus, messageID: v.MessageID})
	case *pdu.GenericNack:
		s.resolve(v.SequenceNumber, answer{status: v.CommandStatus, nack: true})
	case *pdu.DeliverSM:
		s.onDeliver(v)
	case *pdu.EnquireLinkResp:
	default:
		s.log.Debug("smsc sent an unexpected PDU", "type", fmt.Sprintf("%T", p))
	}
}
