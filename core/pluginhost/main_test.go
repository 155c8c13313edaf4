package pluginhost_test

import (
	"os"
	"testing"

	"github.com/hashicorp/go-plugin"

	httpplugin "github.com/callgate/callgate/plugins/http"
	"github.com/callgate/callgate/sdk/sender"
)

// pluginEnv makes the test binary serve a plugin instead of running the
// tests, so the tests can start real plugin processes from os.Args[0].
const pluginEnv = "CALLGATE_TEST_PLUGIN"

func TestMain(m *testing.M) {
	switch os.Getenv(pluginEnv) {
	case "":
		os.Exit(m.Run())
	case "http":
		sender.Serve(httpplugin.New())
	case "http-v2":
		// A plugin built against a future protocol version.
		hs := sender.Handshake
		hs.ProtocolVersion++
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         sender.PluginMap(httpplugin.New()),
			GRPCServer:      plugin.DefaultGRPCServer,
		})
	case "crash":
		os.Exit(3)
	}
	os.Exit(0)
}
