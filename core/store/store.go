package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver, pure Go.
)

// Sentinel errors callers tell apart with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrClosed   = errors.New("store closed")
)

// Options configure Open.
type Options struct {
	// Path is the SQLite file; its folder is made if missing.
	Path string
	// Synchronous is "NORMAL" (default: a commit survives a killed process)
	// or "FULL" (a commit also survives a power loss, at a cost in speed).
	Synchronous string
	// MaxBatch caps how many writes share one transaction (default 256).
	MaxBatch int
	// Readers is the size of the read pool (default: 2 × CPUs, at least 4).
	Readers int
	// DisableAfter is how long an endpoint may fail before it is disabled
	// (default 72h).
	DisableAfter time.Duration
	// Secrets seals callback keys and tokens and channel settings at rest;
	// nil keeps them as they are (tests).
	Secrets Sealer
}

// Sealer encrypts values at rest.
type Sealer interface {
	Seal(plain string) string
	Open(sealed string) (string, error)
}

// Store is callgate's SQLite store. It is safe for concurrent use.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	wstmts stmtCache // statements prepared on the writer's connection
	rstmts stmtCache // statements prepared on the read pool
	box    Sealer

	disableAfter time.Duration // 0: DisableAfter
	configs      configCache
	ops          chan *writeOp
	stop         chan struct{}
	done         chan struct{}
	once         sync.Once

	closing sync.RWMutex // held for writing only to set closed
	closed  bool

	batches  sync.Mutex // guards the counters below
	nBatches int64
	nWrites  int64
}

type writeOp struct {
	fn   func(ctx context.Context, tx *txn) error
	err  error
	done chan struct{}
}

// Open opens (creating if needed) the store at opts.Path and brings its
// schema up to date.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("open store: no path")
	}
	sync := strings.ToUpper(opts.Synchronous)
	switch sync {
	case "":
		sync = "NORMAL"
	case "NORMAL", "FULL":
	default:
		return nil, fmt.Errorf("open store: synchronous must be NORMAL or FULL, not %q", opts.Synchronous)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 2*runtime.NumCPU())
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: make folder: %w", err)
	}
	pragmas := []string{
		"journal_mode(WAL)",
		"busy_timeout(10000)",
		"foreign_keys(ON)",
		"synchronous(" + sync + ")",
		// A savepoint's journal grows past SQLite's in-memory bound in a
		// busy shared transaction; kept in memory it costs no file writes.
		"temp_store(MEMORY)",
	}
	writer, err := sql.Open("sqlite", dsn(opts.Path, pragmas, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open store writer: %w", err)
	}
	// One connection: SQLite has one writer anyway, and the writer goroutine
	// is the only user, so nothing ever waits on a database lock here.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", dsn(opts.Path, append(pragmas, "query_only(1)"), ""))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open store readers: %w", err)
	}
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	s := &Store{
		writer: writer,
		reader: reader,
		wstmts: stmtCache{db: writer},
		rstmts: stmtCache{db: reader},
		box:    opts.Secrets,

		disableAfter: opts.DisableAfter,
		ops:          make(chan *writeOp, opts.MaxBatch*4),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	go s.writeLoop(opts.MaxBatch)
	return s, nil
}

func dsn(path string, pragmas []string, extra string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// SQLite decodes %-escapes in a URI filename, so a path with '?' or '#'
	// in it still names the right file.
	s := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	if extra != "" {
		s += "&" + extra
	}
	return s
}

// Close stops the writer after the writes already queued and closes the
// database. It is safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closing.Lock()
		s.closed = true
		s.closing.Unlock()
		close(s.stop)
		<-s.done
		s.wstmts.close()
		s.rstmts.close()
		err = errors.Join(s.reader.Close(), s.writer.Close())
	})
	return err
}

// Ping checks that the database answers reads.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	var one int
	if err := s.queryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	return nil
}

// Stats reports how many write transactions and writes the store has made,
// which shows how well group commit is batching.
func (s *Store) Stats() (batches, writes int64) {
	s.batches.Lock()
	defer s.batches.Unlock()
	return s.nBatches, s.nWrites
}

// write runs fn in the writer's next transaction and returns once that
// transaction is committed (or fn failed and was rolled back to its
// savepoint). fn must not keep tx, and must use the context it is given,
// never its caller's: cancelling a statement interrupts SQLite, which rolls
// back the whole shared transaction.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	op := &writeOp{fn: fn, done: make(chan struct{})}
	// The read lock keeps Close from stopping the writer between the check
	// and the send, so every queued write is run.
	s.closing.RLock()
	if s.closed {
		s.closing.RUnlock()
		return ErrClosed
	}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		s.closing.RUnlock()
		return ctx.Err()
	}
	s.closing.RUnlock()
	// Once queued, the write will run: wait for it even if ctx ends, so a
	// caller never reports failure for a write that then commits.
	<-op.done
	return op.err
}

func (s *Store) writeLoop(maxBatch int) {
	defer close(s.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-s.ops:
			batch = append(batch[:0], op)
		case <-s.stop:
			// Finish what was queued before Close.
			for {
				select {
				case op := <-s.ops:
					s.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
		// Drain what is already queued, never waiting for more: a lone write
		// commits at once, a burst shares one commit.
	drain:
		for len(batch) < maxBatch {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*writeOp) {
	if err := s.commitShared(batch); errors.Is(err, errTxLost) {
		// SQLite rolled the shared transaction back by itself (an I/O error,
		// a full disk): nothing of it is kept, so each write that did not
		// fail on its own gets a transaction of its own.
		for _, op := range batch {
			if op.err != nil && !errors.Is(op.err, errTxLost) {
				continue
			}
			op.err = nil
			if err := s.commitShared([]*writeOp{op}); err != nil && op.err == nil {
				op.err = err
			}
		}
	} else if err != nil {
		for _, op := range batch {
			if op.err == nil {
				op.err = err
			}
		}
	} else {
		s.batches.Lock()
		s.nBatches++
		s.nWrites += int64(len(batch))
		s.batches.Unlock()
	}
	for _, op := range batch {
		close(op.done)
	}
	s.wstmts.preparePending(context.Background())
}

// errTxLost means SQLite ended the transaction itself, so savepoints no
// longer nest inside it.
var errTxLost = errors.New("transaction lost")

// commitShared runs batch in one transaction. It returns errTxLost when
// the transaction was rolled back under it; each op's own failure is in
// op.err.
func (s *Store) commitShared(batch []*writeOp) error {
	ctx := context.Background()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	// Once a write changes callback configs, the config cache is bypassed
	// until the transaction has ended and the cache is cleared: no reader
	// keeps or sees configs older than what it may read in the store.
	var touched bool
	defer func() {
		if touched {
			s.configs.end()
		}
	}()
	t := &txn{tx: tx, cache: &s.wstmts, touchConfigs: func() {
		if !touched {
			touched = true
			s.configs.begin()
		}
	}}
	for _, op := range batch {
		op.err = runInSavepoint(ctx, t, op.fn)
		if errors.Is(op.err, errTxLost) {
			tx.Rollback()
			return errTxLost
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit write: %w", err)
	}
	return nil
}

func runInSavepoint(ctx context.Context, tx *txn, fn func(context.Context, *txn) error) (err error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
				// The savepoint is gone with the whole transaction.
				err = errors.Join(err, errTxLost)
				return
			}
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE op"); rerr != nil {
			err = errors.Join(err, fmt.Errorf("release savepoint: %w", rerr))
		}
	}()
	return fn(ctx, tx)
}

// millis is how times are stored: Unix milliseconds.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (s *Store) seal(v string) string {
	if s.box == nil {
		return v
	}
	return s.box.Seal(v)
}

func (s *Store) open(v string) (string, error) {
	if s.box == nil {
		return v, nil
	}
	out, err := s.box.Open(v)
	if err != nil {
		return "", fmt.Errorf("open sealed value (is this the master key it was sealed with?): %w", err)
	}
	return out, nil
}
