// Package gateway assembles callgate: the store, the plugin host, the
// dispatcher and the HTTP server with every API on it.
package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callgate/callgate/core/pluginhost"
)

// Dev credentials, fixed so that the README's commands work as written.
// They are made only with --dev.
const (
	DevTenant     = "demo"
	DevAppKey     = "demo"
	DevSecret     = "demo-secret"
	DevAdminToken = "dev-admin-token"
)

// Config is everything the gateway is started with.
type Config struct {
	Addr    string `yaml:"addr"`
	DataDir string `yaml:"data"`
	Dev     bool   `yaml:"dev"`
	// AdminToken enables the operator's API; empty disables it.
	AdminToken string `yaml:"admin_token"`
	// AllowPrivateNetworks lets channels reach loopback and private
	// addresses. Off by default: callbacks must not become a way into the
	// gateway's own network.
	AllowPrivateNetworks bool `yaml:"allow_private_networks"`
	// Synchronous is the SQLite durability: NORMAL or FULL.
	Synchronous string `yaml:"synchronous"`
	// MaxContentBytes bounds a callback's content (default 1 MiB).
	MaxContentBytes int `yaml:"max_content_bytes"`
	// SendTimeout bounds one delivery attempt (default 10s).
	SendTimeout time.Duration `yaml:"send_timeout"`
	// Workers is how many deliveries are sent at once (default 32).
	Workers int `yaml:"workers"`
	// RuleCacheDir keeps compiled rules across restarts (default
	// <data>/rule-cache); several gateways may share one.
	RuleCacheDir string `yaml:"rule_cache"`
	// RuleTimeLimit and RuleMemoryMiB bound one rule call (defaults 50ms
	// and 16 MiB).
	RuleTimeLimit time.Duration `yaml:"rule_time_limit"`
	RuleMemoryMiB int           `yaml:"rule_memory_mib"`
	// Retention is how long succeeded messages are kept (default 7 days).
	Retention time.Duration `yaml:"retention"`
	// DisableAfter is how long an endpoint may fail without a success
	// before its config is disabled (default 72h).
	DisableAfter time.Duration `yaml:"disable_after"`
	// MasterKeyFile holds the key that seals secrets at rest (default
	// <data>/master.key, made when missing); CALLGATE_MASTER_KEY, the
	// key's base64, wins over it.
	MasterKeyFile string `yaml:"master_key_file"`
	// Channels are the settings of the default channels, by plugin name,
	// for example email: {host: smtp.example.com, from: ...}.
	Channels map[string]map[string]string `yaml:"channels"`
	// Tenants are made at start when missing, with their app keys, configs,
	// channels and rules: configuration kept in git.
	Tenants []DeclaredTenant `yaml:"tenants"`
	// Plugins are sender plugins beside the built-in ones.
	Plugins []PluginConfig `yaml:"plugins"`

	// Per-tenant rate limits, in calls a second and bursts: ingest
	// (callbacks submitted; default 2000/s, burst 4000) and management
	// (configs, rules, channels, deliveries, TC3; default 20/s, burst 40).
	// Zero takes the default, a negative rate means no limit, and a burst
	// left at zero with a rate set is twice the rate.
	IngestRate  float64 `yaml:"ingest_rate"`
	IngestBurst int     `yaml:"ingest_burst"`
	ManageRate  float64 `yaml:"manage_rate"`
	ManageBurst int     `yaml:"manage_burst"`

	// BuiltinPlugins are the plugins the binary serves itself; set by the
	// command, not by files.
	BuiltinPlugins []pluginhost.Spec `yaml:"-"`

	// dir is the folder of the configuration file, for relative paths in it.
	dir string
}

// PluginConfig names a plugin executable.
type PluginConfig struct {
	Name   string   `yaml:"name"`
	Path   string   `yaml:"path"`
	Args   []string `yaml:"args"`
	SHA256 string   `yaml:"sha256"`
}

// Defaults returns the configuration with nothing set.
func Defaults() Config {
	return Config{Addr: "127.0.0.1:8080", DataDir: "./callgate-data", Synchronous: "NORMAL"}
}

// LoadFile merges a YAML file into c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	return nil
}

// LoadEnv merges CALLGATE_* variables into c.
func (c *Config) LoadEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) error {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			*dst = b
		}
		return nil
	}
	str("CALLGATE_ADDR", &c.Addr)
	str("CALLGATE_DATA", &c.DataDir)
	str("CALLGATE_ADMIN_TOKEN", &c.AdminToken)
	str("CALLGATE_SYNCHRONOUS", &c.Synchronous)
	str("CALLGATE_RULE_CACHE", &c.RuleCacheDir)
	if err := boolean("CALLGATE_DEV", &c.Dev); err != nil {
		return err
	}
	if err := boolean("CALLGATE_ALLOW_PRIVATE_NETWORKS", &c.AllowPrivateNetworks); err != nil {
		return err
	}
	if v := getenv("CALLGATE_SEND_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("CALLGATE_SEND_TIMEOUT: %w", err)
		}
		c.SendTimeout = d
	}
	return nil
}

// applyDev fills in what --dev promises, without overriding what was set.
func (c *Config) applyDev() {
	if !c.Dev {
		return
	}
	if c.AdminToken == "" {
		c.AdminToken = DevAdminToken
	}
	c.AllowPrivateNetworks = true
}

func (c *Config) pluginSpecs() ([]pluginhost.Spec, error) {
	specs := append([]pluginhost.Spec(nil), c.BuiltinPlugins...)
	seen := map[string]bool{}
	for _, s := range specs {
		seen[s.Name] = true
	}
	for _, p := range c.Plugins {
		if p.Name == "" || p.Path == "" {
			return nil, fmt.Errorf("plugin config needs a name and a path")
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("plugin %q is configured twice", p.Name)
		}
		seen[p.Name] = true
		path, err := filepath.Abs(p.Path)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: %w", p.Name, err)
		}
		specs = append(specs, pluginhost.Spec{Name: p.Name, Cmd: append([]string{path}, p.Args...), SHA256: p.SHA256})
	}
	return specs, nil
}
