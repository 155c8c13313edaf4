package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// cliFlags are the flags every operator command takes.
type cliFlags struct {
	fs     *flag.FlagSet
	addr   *string
	token  *string
	output *string
}

func newCLIFlags(name string) *cliFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	addr := os.Getenv("CALLGATE_URL")
	if addr == "" {
		addr = "http://127.0.0.1:8080"
	}
	return &cliFlags{
		fs:     fs,
		addr:   fs.String("addr", addr, "the gateway's base URL (env CALLGATE_URL)"),
		token:  fs.String("token", os.Getenv("CALLGATE_TOKEN"), "app secret, or the admin token for tenants and keys (env CALLGATE_TOKEN)"),
		output: fs.String("o", "table", "table or json"),
	}
}

// parse parses args, allowing flags after the positional arguments.
func (c *cliFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, err
		}
		args = c.fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c *cliFlags) base() string { return strings.TrimRight(*c.addr, "/") }

// opts are the Connect client options: bearer token, JSON on the wire so a
// proxy log stays readable.
func (c *cliFlags) opts() []connect.ClientOption {
	token := *c.token
	return []connect.ClientOption{connect.WithProtoJSON(), connect.WithInterceptors(connect.UnaryInterceptorFunc(
		func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				if token != "" {
					req.Header().Set("Authorization", "Bearer "+token)
				}
				return next(ctx, req)
			}
		}))}
}

func (c *cliFlags) http() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

func cliContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// show prints a message as JSON, or as a table of rows when asked for one.
func (c *cliFlags) show(msg proto.Message, header []string, rows [][]string) error {
	if *c.output == "json" {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: false}.Marshal(msg)
		if err != nil {
			return err
		}
		fmt.Println(string(b))
		return nil
	}
	if header == nil {
		fmt.Println("ok")
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// cliError makes a Connect error readable: its stable code and message.
func cliError(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return errors.New(ce.Message())
	}
	return err
}

// keyValues parses repeated k=v flags.
type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, not %q", s)
	}
	kv[k] = v
	return nil
}

func usageError(usage string) error { return fmt.Errorf("usage: callgate %s", usage) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func when(t interface{ AsTime() time.Time }) string {
	if t == nil {
		return ""
	}
	return t.AsTime().Local().Format(time.DateTime)
}
