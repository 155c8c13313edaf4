package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/pluginhost"
	"github.com/callgate/callgate/core/store"
)

// channelResolver tells the dispatcher which plugin sends a channel and
// with which settings: the tenant's own channel of that id, else the
// default channel named after a plugin, with the settings of the
// gateway's configuration. What only the gateway decides (reaching
// private networks) is set here and nowhere else.
//
// It is asked for every delivery, so answers are kept for a moment
// (resolveTTL): a changed channel applies to deliveries within that time.
type channelResolver struct {
	store interface {
		GetChannel(ctx context.Context, tenantID, id string) (store.Channel, error)
	}
	host *pluginhost.Host
	cfg  *Config

	mu    sync.Mutex
	cache map[[2]string]resolvedChannel
}

type resolvedChannel struct {
	plugin   string
	settings map[string]string // shared: never changed once made
	err      error
	at       time.Time
}

const resolveTTL = 2 * time.Second

func newChannelResolver(s *store.Store, h *pluginhost.Host, cfg *Config) *channelResolver {
	return &channelResolver{store: s, host: h, cfg: cfg, cache: map[[2]string]resolvedChannel{}}
}

// Resolve implements dispatch.Channels. The settings it answers must not
// be changed.
func (r *channelResolver) Resolve(ctx context.Context, tenantID, id string) (string, map[string]string, error) {
	key := [2]string{tenantID, id}
	r.mu.Lock()
	rc, ok := r.cache[key]
	r.mu.Unlock()
	if ok && time.Since(rc.at) < resolveTTL {
		return rc.plugin, rc.settings, rc.err
	}
	plugin, settings, err := r.resolve(ctx, tenantID, id)
	if err != nil && !errors.Is(err, dispatch.ErrUnknownChannel) {
		return "", nil, err // a store failure is not remembered
	}
	r.mu.Lock()
	if len(r.cache) > 10_000 {
		clear(r.cache) // tenants × channels stay few; this only bounds a flood
	}
	r.cache[key] = resolvedChannel{plugin: plugin, settings: settings, err: err, at: time.Now()}
	r.mu.Unlock()
	return plugin, settings, err
}

func (r *channelResolver) resolve(ctx context.Context, tenantID, id string) (string, map[string]string, error) {
	var plugin string
	settings := map[string]string{}
	c, err := r.store.GetChannel(ctx, tenantID, id)
	switch {
	case err == nil:
		plugin = c.Plugin
		maps.Copy(settings, c.Settings)
	case errors.Is(err, store.ErrNotFound):
		if !slices.ContainsFunc(r.host.Plugins(), func(i pluginhost.Info) bool { return i.Name == id }) {
			return "", nil, fmt.Errorf("%w: no channel or plugin %q", dispatch.ErrUnknownChannel, id)
		}
		plugin = id
		maps.Copy(settings, r.cfg.Channels[id])
	default:
		return "", nil, err
	}
	delete(settings, "allow_private_networks")
	if r.cfg.AllowPrivateNetworks {
		settings["allow_private_networks"] = "true"
	}
	return plugin, settings, nil
}

var _ dispatch.Channels = (*channelResolver)(nil)
