package main

import (
	"fmt"
	"log/slog"

	emailplugin "github.com/callgate/callgate/plugins/email"
	httpplugin "github.com/callgate/callgate/plugins/http"
	smsplugin "github.com/callgate/callgate/plugins/sms"
	"github.com/callgate/callgate/sdk/sender"
)

// servePlugin runs one built-in sender plugin; the gateway starts it as
// its own process through go-plugin, exactly like a vendor's plugin.
func servePlugin(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: callgate plugin NAME (one of %v)", builtinPlugins)
	}
	switch args[0] {
	case "http":
		sender.Serve(httpplugin.New())
		return nil
	case "email":
		sender.Serve(emailplugin.New())
		return nil
	case "sms":
		p := smsplugin.New(smsplugin.WithLogger(sender.NewLogger(slog.LevelInfo)))
		defer p.Close()
		sender.Serve(p)
		return nil
	default:
		return fmt.Errorf("no built-in plugin %q (have %v)", args[0], builtinPlugins)
	}
}
