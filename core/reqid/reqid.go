// Package reqid gives every request a server-made id, carried in its
// context, answered in the X-Request-Id header and written in its logs.
package reqid

import (
	"context"
	"net/http"

	"github.com/callgate/callgate/core/store"
)

// Header is the response header that carries the id.
const Header = "X-Request-Id"

type key struct{}

// New makes a request id.
func New() string { return store.NewID("req") }

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the request id in ctx, making one if there is none.
func From(ctx context.Context) string {
	if id, ok := ctx.Value(key{}).(string); ok {
		return id
	}
	return New()
}

// Middleware gives each request an id before next sees it.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := New()
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}
