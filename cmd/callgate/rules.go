package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

const rulesUsage = `Usage:
  callgate rules build DIR [-o FILE]                  build the Go rule in DIR into a module (default DIR's name .wasm)
  callgate rules push --code CODE [--inactive] FILE   upload a module as a new version of the tenant's rule CODE
  callgate rules test --code CODE --content TEXT [--ext KEY=VALUE ...]
                                                      run a rule on a callback: nothing is stored or sent
  callgate rules list                                 the tenant's active rules and the built-in ones

push, test and list talk to a running gateway: --addr URL (default
http://127.0.0.1:8080, env CALLGATE_URL), --token SECRET (the tenant's app
secret, env CALLGATE_TOKEN), -o table|json.
`

// rulesCmd is `callgate rules`: it builds a rule written in Go with
// sdk/rule, and uploads, tries and lists a tenant's rules through
// RuleService.
func rulesCmd(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, rulesUsage)
		return errors.New("rules: a subcommand is required")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "build":
		return ruleBuild(rest)
	case "push":
		return rulePush(rest)
	case "test":
		return ruleTest(rest)
	case "list":
		return ruleList(rest)
	case "help", "-h", "--help":
		fmt.Print(rulesUsage)
		return nil
	default:
		fmt.Fprint(os.Stderr, rulesUsage)
		return fmt.Errorf("rules: unknown subcommand %q", sub)
	}
}

// parseRuleArgs parses args with fs, allowing flags after positional
// arguments (callgate rules build DIR -o FILE), and returns the positional
// ones.
func parseRuleArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// ruleBuild builds a Go rule folder into a WASI reactor the way the
// built-in rules are built (rules/internal/build), so that the same source
// and toolchain give the same bytes: GOOS=wasip1 GOARCH=wasm go build
// -trimpath -buildmode=c-shared -buildvcs=false -ldflags=-buildid=, with the
// variables that change code generation set rather than inherited.
func ruleBuild(args []string) error {
	fs := flag.NewFlagSet("rules build", flag.ContinueOnError)
	out := fs.String("o", "", "the module file to write (default DIR's name with .wasm, in the current folder)")
	pos, err := parseRuleArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("rules build: one folder is required: callgate rules build DIR -o FILE")
	}
	dir, err := filepath.Abs(pos[0])
	if err != nil {
		return fmt.Errorf("rules build: %w", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("rules build: %s is not a folder", pos[0])
	}
	file := *out
	if file == "" {
		file = filepath.Base(dir) + ".wasm"
	}
	if file, err = filepath.Abs(file); err != nil {
		return fmt.Errorf("rules build: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("rules build: the go command is needed to build a Go rule: %w", err)
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildmode=c-shared", "-buildvcs=false",
		"-ldflags=-buildid=", "-o", file, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=", "GOWASM=", "GOEXPERIMENT=", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rules build: go build in %s: %w", dir, err)
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("rules build: %w", err)
	}
	sum := sha256.Sum256(wasm)
	fmt.Printf("%s\t%d bytes\tsha256 %s\n", file, len(wasm), hex.EncodeToString(sum[:]))
	return nil
}

// ruleFlags are the flags of the subcommands that call the gateway.
type ruleFlags struct {
	addr, token, output string
}

func (f *ruleFlags) register(fs *flag.FlagSet) {
	addr := os.Getenv("CALLGATE_URL")
	if addr == "" {
		addr = "http://127.0.0.1:8080"
	}
	fs.StringVar(&f.addr, "addr", addr, "the gateway's base URL (env CALLGATE_URL)")
	fs.StringVar(&f.token, "token", os.Getenv("CALLGATE_TOKEN"), "the tenant's app secret (env CALLGATE_TOKEN)")
	fs.StringVar(&f.output, "o", "table", "output: table or json")
}

func (f *ruleFlags) check() error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("-o %q: table or json", f.output)
	}
	return nil
}

// client is a RuleService client on the gateway, with the bearer token.
func (f *ruleFlags) client() callgatev1connect.RuleServiceClient {
	token := f.token
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	})
	return callgatev1connect.NewRuleServiceClient(&http.Client{Timeout: time.Minute},
		strings.TrimRight(f.addr, "/"), connect.WithInterceptors(auth))
}

// printJSON writes m as protobuf JSON, indented by encoding/json: protojson
// varies its spacing on purpose, and a person or a script reading the
// output is better served by the same bytes every time.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = out.WriteTo(w)
	return err
}

// printRules writes rules as a table.
func printRules(w io.Writer, rules []*callgatev1.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tVERSION\tBUILTIN\tACTIVE\tCLASSIFIES\tSIZE\tSHA256\tCREATED")
	for _, r := range rules {
		version, size, created := strconv.Itoa(int(r.GetVersion())), strconv.FormatInt(r.GetSizeBytes(), 10), ""
		if r.GetBuiltin() {
			version, size = "-", "-"
		}
		if r.GetCreateTime() != nil && !r.GetBuiltin() {
			created = r.GetCreateTime().AsTime().Format(time.RFC3339)
		}
		sha := r.GetSha256()
		if len(sha) > 12 {
			sha = sha[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%t\t%s\t%s\t%s\n", r.GetCode(), version, r.GetBuiltin(), r.GetActive(),
			r.GetClassifies(), size, sha, created)
	}
	return tw.Flush()
}

func rulePush(args []string) error {
	fs := flag.NewFlagSet("rules push", flag.ContinueOnError)
	var f ruleFlags
	f.register(fs)
	code := fs.String("code", "", "the rule code callbacks name in properties.rule (required)")
	inactive := fs.Bool("inactive", false, "keep the current version active; activate this one later")
	pos, err := parseRuleArgs(fs, args)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if *code == "" || len(pos) != 1 {
		return errors.New("rules push: --code and one module file are required: callgate rules push --code CODE FILE")
	}
	wasm, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("rules push: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := f.client().PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{
		Code: *code, Wasm: wasm, Inactive: *inactive,
	}))
	if err != nil {
		return fmt.Errorf("rules push: %w", err)
	}
	if f.output == "json" {
		return printJSON(os.Stdout, resp.Msg)
	}
	return printRules(os.Stdout, []*callgatev1.Rule{resp.Msg.GetRule()})
}

func ruleTest(args []string) error {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	var f ruleFlags
	f.register(fs)
	code := fs.String("code", "", "the rule code to run (required)")
	content := fs.String("content", "", "the callback's content")
	ext := map[string]string{}
	fs.Func("ext", "an ext property KEY=VALUE (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VALUE", s)
		}
		ext[k] = v
		return nil
	})
	pos, err := parseRuleArgs(fs, args)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if *code == "" || len(pos) != 0 {
		return errors.New("rules test: --code is required, and nothing else: callgate rules test --code CODE --content TEXT [--ext KEY=VALUE]")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := f.client().TestRule(ctx, connect.NewRequest(&callgatev1.TestRuleRequest{
		Code:     *code,
		Callback: &callgatev1.TestCallback{Content: *content, Properties: &callgatev1.CallbackProperties{Rule: *code, Ext: ext}},
	}))
	if err != nil {
		return fmt.Errorf("rules test: %w", err)
	}
	m := resp.Msg
	if f.output == "json" {
		if err := printJSON(os.Stdout, m); err != nil {
			return err
		}
	} else if err := printTest(os.Stdout, *code, m); err != nil {
		return err
	}
	if m.GetError() != "" {
		return fmt.Errorf("rules test: the rule failed: %s", m.GetError())
	}
	return nil
}

// printTest writes a dry run's outcome for a person to read.
func printTest(w io.Writer, code string, m *callgatev1.TestRuleResponse) error {
	version := "built-in"
	if m.GetVersion() > 0 {
		version = "version " + strconv.Itoa(int(m.GetVersion()))
	}
	fmt.Fprintf(w, "rule %s (%s) took %s\n", code, version, time.Duration(m.GetDurationUs())*time.Microsecond)
	for _, l := range m.GetLogs() {
		fmt.Fprintf(w, "log %-5s %s\n", l.GetLevel(), l.GetText())
	}
	if m.GetError() != "" {
		fmt.Fprintf(w, "error: %s\n", m.GetError())
	}
	if m.GetDecision() != nil {
		fmt.Fprintln(w, "decision:")
		return printJSON(w, m.GetDecision())
	}
	return nil
}

func ruleList(args []string) error {
	fs := flag.NewFlagSet("rules list", flag.ContinueOnError)
	var f ruleFlags
	f.register(fs)
	pos, err := parseRuleArgs(fs, args)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("rules list takes no arguments")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := f.client().ListRules(ctx, connect.NewRequest(&callgatev1.ListRulesRequest{}))
	if err != nil {
		return fmt.Errorf("rules list: %w", err)
	}
	if f.output == "json" {
		return printJSON(os.Stdout, resp.Msg)
	}
	return printRules(os.Stdout, resp.Msg.GetRules())
}
