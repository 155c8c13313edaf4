// Command callgate is the callback gateway: `callgate serve` runs it, and
// the other subcommands help operators and newcomers around it.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `callgate: a callback gateway

Usage:
  callgate serve [--addr ADDR] [--data DIR] [--dev] [--config FILE]
  callgate receive [--addr ADDR] [--token TOKEN] [--key KEY]
  callgate bench [--addr URL] [-n N] [-c C] [--size BYTES] [--api rest|connect] [--ceiling] [-o json]
  callgate tenants|keys|configs|channels|deliveries|send ...   (operator CLI; --addr, --token, -o json)
  callgate audit [--tenant ID] [-o json]   (who changed what: admin token for all, app secret for its own)
  callgate rules build|push|test|list ...   (a tenant's rules: build a Go rule, upload, try, list; --addr, --token, -o json)
  callgate plugin NAME      (run by the gateway itself: a built-in sender plugin)
  callgate version

Run "callgate COMMAND -h" for a command's flags.
`

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs one command and returns the process's exit code: 0, 1 when the
// command failed, 2 when it was not understood.
func run(argv []string, stdout, stderr io.Writer) int {
	if len(argv) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, args := argv[0], argv[1:]; cmd {
	case "serve":
		err = serve(args)
	case "receive":
		err = receive(args)
	case "bench":
		err = bench(args)
	case "tenants":
		err = tenantsPolicyCmd(args)
	case "keys":
		err = keysCmd(args)
	case "configs":
		err = configsPolicyCmd(args)
	case "channels":
		err = channelsCmd(args)
	case "deliveries":
		err = deliveriesCmd(args)
	case "send":
		err = sendCmd(args)
	case "audit":
		err = auditCmd(args)
	case "rules":
		err = rulesCmd(args)
	case "plugin":
		err = servePlugin(args)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "callgate", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "callgate: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "callgate:", err)
		return 1
	}
	return 0
}
