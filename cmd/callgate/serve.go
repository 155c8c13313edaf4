package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/callgate/callgate/core/gateway"
	"github.com/callgate/callgate/core/pluginhost"
)

// builtinPlugins are the sender plugins this binary serves when re-executed
// as `callgate plugin NAME`.
var builtinPlugins = []string{"http", "email", "sms"}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address (env CALLGATE_ADDR; default 127.0.0.1:8080)")
	data := fs.String("data", "", "data folder (env CALLGATE_DATA; default ./callgate-data)")
	dev := fs.Bool("dev", false, "development mode: demo tenant and credentials, loopback destinations allowed (env CALLGATE_DEV)")
	configFile := fs.String("config", "", "YAML configuration file (env CALLGATE_CONFIG)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error (env CALLGATE_LOG_LEVEL)")
	pprofAddr := fs.String("pprof", "", "serve Go profiles on this address, e.g. 127.0.0.1:6060 (env CALLGATE_PPROF; off by default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Precedence: flags over environment over the file over defaults.
	cfg := gateway.Defaults()
	file := *configFile
	if file == "" {
		file = os.Getenv("CALLGATE_CONFIG")
	}
	if file != "" {
		if err := cfg.LoadFile(file); err != nil {
			return err
		}
	}
	if err := cfg.LoadEnv(os.Getenv); err != nil {
		return err
	}
	if set["addr"] {
		cfg.Addr = *addr
	}
	if set["data"] {
		cfg.DataDir = *data
	}
	if set["dev"] {
		cfg.Dev = *dev
	}
	level := *logLevel
	if !set["log-level"] && os.Getenv("CALLGATE_LOG_LEVEL") != "" {
		level = os.Getenv("CALLGATE_LOG_LEVEL")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for the built-in plugins: %w", err)
	}
	for _, name := range builtinPlugins {
		cfg.BuiltinPlugins = append(cfg.BuiltinPlugins, pluginhost.Spec{Name: name, Cmd: []string{exe, "plugin", name}})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *pprofAddr == "" {
		*pprofAddr = os.Getenv("CALLGATE_PPROF")
	}
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}
	g, err := gateway.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := g.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("callgate stopped")
	return nil
}
