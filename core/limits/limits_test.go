package limits_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/limits"
)

// tokens authenticates "Bearer <tenant>-secret" as that tenant and counts
// its calls.
type tokens struct{ calls int }

func (a *tokens) Tenant(_ context.Context, h http.Header) (auth.Principal, error) {
	a.calls++
	tok, _ := auth.BearerToken(h)
	tenant, ok := strings.CutSuffix(tok, "-secret")
	if !ok {
		return auth.Principal{}, apierr.New(apierr.Unauthorized, "invalid credentials")
	}
	return auth.Principal{TenantID: tenant, AppKey: tenant}, nil
}

func TestMiddleware(t *testing.T) {
	c := newClock()
	l := limits.New(limits.Options{Ingest: limits.Rate{PerSecond: 1, Burst: 1}, Now: c.Now})
	a := &tokens{}
	var seen []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := limits.Reuse(a).Tenant(r.Context(), r.Header)
		if err != nil {
			seen = append(seen, "refused")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		seen = append(seen, p.TenantID)
	})
	h := l.Middleware(a, func(r *http.Request) limits.Class {
		if strings.HasSuffix(r.URL.Path, "/callbacks") {
			return limits.Ingest
		}
		return limits.None
	}, next)
	call := func(path, tenant string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.Header.Set("Authorization", "Bearer "+tenant+"-secret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := call("/t1/callbacks", "t1"); rec.Code != http.StatusOK {
		t.Fatalf("first call: %d", rec.Code)
	}
	if a.calls != 1 {
		t.Errorf("a limited request was authenticated %d times, want once", a.calls)
	}
	rec := call("/t1/callbacks", "t1")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("second call: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	var env struct{ Code, Message, RequestID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Code != apierr.LimitExceeded || env.RequestID == "" {
		t.Fatalf("second call answered %s (%v)", rec.Body, err)
	}
	if rec := call("/t2/callbacks", "t2"); rec.Code != http.StatusOK {
		t.Errorf("another tenant: %d", rec.Code)
	}
	if rec := call("/t1/other", "t1"); rec.Code != http.StatusOK {
		t.Errorf("an unlimited path: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/t1/callbacks", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want next's own 401", rec.Code)
	}
	c.Advance(1e9)
	if rec := call("/t1/callbacks", "t1"); rec.Code != http.StatusOK {
		t.Errorf("a second later: %d", rec.Code)
	}
	if want := "t1 t2 t1 refused t1"; strings.Join(seen, " ") != want {
		t.Errorf("next saw %q, want %q", strings.Join(seen, " "), want)
	}
}

func TestInterceptor(t *testing.T) {
	c := newClock()
	l := limits.New(limits.Options{
		Ingest: limits.Rate{PerSecond: -1},
		Manage: limits.Rate{PerSecond: 0.5, Burst: 2},
		Now:    c.Now,
	})
	authn := &tokens{}
	authenticate := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			p, err := authn.Tenant(ctx, req.Header())
			if err != nil {
				return nil, apierr.ToConnect(err)
			}
			return next(auth.WithPrincipal(ctx, p), req)
		}
	})
	limited := l.Interceptor(map[string]limits.Class{
		"test.v1.Manage":       limits.Manage,
		"/test.v1.Other/Write": limits.Manage,
		"/test.v1.Other/Feed":  limits.Ingest,
	})
	mux := http.NewServeMux()
	for _, proc := range []string{"/test.v1.Manage/List", "/test.v1.Other/Write", "/test.v1.Other/Read", "/test.v1.Other/Feed"} {
		mux.Handle(proc, connect.NewUnaryHandler(proc,
			func(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
				return connect.NewResponse(&emptypb.Empty{}), nil
			}, connect.WithInterceptors(authenticate, limited)))
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(proc, tenant string) error {
		req := connect.NewRequest(&emptypb.Empty{})
		req.Header().Set("Authorization", "Bearer "+tenant+"-secret")
		_, err := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+proc).CallUnary(t.Context(), req)
		return err
	}

	for i := range 2 {
		if err := call("/test.v1.Manage/List", "t1"); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	err := call("/test.v1.Other/Write", "t1")
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted {
		t.Fatalf("third management call: %v, want resource_exhausted", err)
	}
	if got := ce.Meta().Get(apierr.CodeHeader); got != apierr.LimitExceeded {
		t.Errorf("%s = %q", apierr.CodeHeader, got)
	}
	if got := ce.Meta().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	for _, tc := range []struct{ proc, tenant string }{
		{"/test.v1.Other/Read", "t1"}, // not classed
		{"/test.v1.Other/Feed", "t1"}, // ingest, unlimited here
		{"/test.v1.Manage/List", "t2"},
	} {
		if err := call(tc.proc, tc.tenant); err != nil {
			t.Errorf("%s as %s: %v", tc.proc, tc.tenant, err)
		}
	}
	c.Advance(2e9)
	if err := call("/test.v1.Manage/List", "t1"); err != nil {
		t.Errorf("two seconds later: %v", err)
	}
}
