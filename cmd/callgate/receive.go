package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/callgate/callgate/sdk/webhook"
)

// receive runs a small webhook receiver that prints what callgate sends,
// checks its signatures and decrypts it: the other end of the quickstart.
func receive(args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	token := fs.String("token", "", "the config's callbackToken: check both signatures")
	key := fs.String("key", "", "the config's callbackKey (32 bytes): decrypt bodies")
	status := fs.Int("status", http.StatusOK, "HTTP status to answer with")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key != "" && len(*key) != 32 {
		return errors.New("--key must be 32 bytes")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Printf("receiving callbacks on http://%s/ (Ctrl-C stops)\n", ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		printCallback(r, body, *token, *key)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(*status)
		fmt.Fprint(w, `{"code":"000","msg":"received"}`)
	})}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func printCallback(r *http.Request, body []byte, token, key string) {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s %s %s\n", time.Now().Format(time.TimeOnly), r.Method, r.URL.RequestURI())
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "%s: %s\n", name, strings.Join(r.Header.Values(name), ", "))
	}
	if token != "" {
		err := webhook.Verify(token, r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp),
			r.Header.Get(webhook.HeaderSignature), body, 5*time.Minute, time.Now())
		fmt.Fprintf(&b, "webhook-signature: %s\n", verdict(err))
		err = webhook.VerifyContentSignature(token, r.Header.Get(webhook.HeaderContentSignature), body)
		fmt.Fprintf(&b, "Content-Signature: %s\n", verdict(err))
	}
	fmt.Fprintf(&b, "\n%s\n", body)
	if key != "" {
		plain, err := webhook.Decrypt([]byte(key), body)
		if err != nil {
			fmt.Fprintf(&b, "decrypt: %v\n", err)
		} else {
			var pretty json.RawMessage = plain
			fmt.Fprintf(&b, "decrypted: %s\n", pretty)
		}
	}
	fmt.Print(b.String())
}

func verdict(err error) string {
	if err != nil {
		return "INVALID (" + err.Error() + ")"
	}
	return "valid"
}
