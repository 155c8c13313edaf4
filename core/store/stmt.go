package store

import (
	"context"
	"database/sql"
	"sync"
)

// Statements are prepared once and kept: SQLite spends more time parsing a
// statement than running these small ones, so re-preparing each call was
// the largest cost on the ingest path.
type stmtCache struct {
	db      *sql.DB
	m       sync.Map // query -> *sql.Stmt
	pending sync.Map // queries to prepare when the connection is free
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// txn is the writer's transaction as write functions see it: the usual
// methods, each running a cached statement.
type txn struct {
	tx    *sql.Tx
	cache *stmtCache
	// touchConfigs is called before a write to callback_configs (see
	// configCache.begin).
	touchConfigs func()
}

// stmt returns the cached statement for query bound to the transaction,
// or nil when it is not prepared yet. The writer's only connection is busy
// with this transaction, so a statement cannot be prepared now: it is noted
// and prepared between transactions.
func (t *txn) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.cache.m.Load(query); ok {
		// The writer has one connection, so this reuses the statement
		// prepared on it rather than preparing again.
		return t.tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	t.cache.pending.Store(query, struct{}{})
	return nil
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// errRow is a *sql.Row stand-in for a statement that failed to prepare.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// preparePending prepares the statements transactions asked for, while no
// transaction holds the writer's connection. Queries built per call (with
// varying filters) are few in kind, so the cache stays small.
func (c *stmtCache) preparePending(ctx context.Context) {
	c.pending.Range(func(k, _ any) bool {
		c.pending.Delete(k)
		if _, err := c.get(ctx, k.(string)); err != nil {
			return true // it will run unprepared and fail or succeed there
		}
		return true
	})
}

// read runs a cached read statement.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}
