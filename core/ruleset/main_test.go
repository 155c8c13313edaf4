package ruleset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/callgate/callgate/core/ruleset"
	"github.com/callgate/callgate/core/store"
	"github.com/callgate/callgate/rules"
)

// shared is what every test reuses: the built-in modules, read once, and
// one compilation cache, so that wazero compiles each module once.
var shared struct {
	builtin  map[string][]byte
	cacheDir string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ruleset-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.cacheDir = filepath.Join(dir, "cache")
	shared.builtin = rules.Builtin()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a real store in a temporary folder with the tenants t1 and
// t2, and a Set over it with the built-in rules.
type fixture struct {
	store *store.Store
	set   *ruleset.Set
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureOn(tb, nil, ruleset.Options{})
}

// newFixtureOn is newFixture with the Set reading the store through wrap,
// when given, and made with opts; the built-in rules are the shipped ones
// unless opts.Builtin is not nil. CacheDir is always the shared one.
func newFixtureOn(tb testing.TB, wrap func(*store.Store) ruleset.Store, opts ruleset.Options) *fixture {
	tb.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(tb.TempDir(), "callgate.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	for _, id := range []string{"t1", "t2"} {
		if _, err := s.CreateTenant(ctx, store.Tenant{ID: id, Name: id}); err != nil {
			tb.Fatal(err)
		}
	}
	var rs ruleset.Store = s
	if wrap != nil {
		rs = wrap(s)
	}
	opts.CacheDir = shared.cacheDir
	if opts.Builtin == nil {
		opts.Builtin = shared.builtin
	}
	set, err := ruleset.New(ctx, rs, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := set.Close(context.Background()); err != nil {
			tb.Errorf("close set: %v", err)
		}
	})
	return &fixture{store: s, set: set}
}

// put stores a new active version of a tenant's rule.
func (f *fixture) put(tb testing.TB, tenantID, code string, wasm []byte) store.RuleVersion {
	tb.Helper()
	rv, err := f.store.PutRule(context.Background(), store.RuleVersion{TenantID: tenantID, Code: code, Wasm: wasm}, false)
	if err != nil {
		tb.Fatal(err)
	}
	return rv
}

// wat compiles testdata/name.wat with wabt's wat2wasm, failing the test
// with what to install when it is missing.
func wat(tb testing.TB, name string) []byte {
	tb.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		tb.Fatalf("wat2wasm not found in PATH: install wabt (apt-get install -y wabt) to build testdata/%s.wat: %v", name, err)
	}
	out := filepath.Join(tb.TempDir(), name+".wasm")
	if msg, err := exec.Command(bin, filepath.Join("testdata", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm testdata/%s.wat: %v\n%s", name, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}
