package main

// This file is in package main on purpose. Calling run links every
// command, and so the gateway's whole code, into the test binary: a change
// anywhere in it then makes `go test` run the end-to-end tests again
// instead of answering from its cache, which cannot see the callgate
// binary they build from source.

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		argv   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "no_command", argv: nil, code: 2, stderr: "Usage:"},
		{name: "unknown_command", argv: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "version", argv: []string{"version"}, code: 0, stdout: "callgate " + version},
		{name: "help", argv: []string{"help"}, code: 0, stdout: "callgate serve"},
		{name: "failing_command", argv: []string{"serve", "--log-level", "loud"}, code: 1, stderr: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.argv, &out, &errOut); code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stdout %q, stderr %q; want them to hold %q and %q", out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
		})
	}
}
