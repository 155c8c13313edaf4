package api

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"sort"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// Plugin describes one sender plugin the gateway runs.
type Plugin struct {
	Name     string
	Version  string
	Healthy  bool
	Settings []*pluginv1.SettingSpec
}

// PluginLister reports the sender plugins the gateway runs.
type PluginLister interface {
	Plugins() []Plugin
}

// ChannelStore is what ChannelService needs of the store.
type ChannelStore interface {
	PutChannel(ctx context.Context, c store.Channel) (store.Channel, error)
	GetChannel(ctx context.Context, tenantID, id string) (store.Channel, error)
	ListChannels(ctx context.Context, tenantID string) ([]store.Channel, error)
	DeleteChannel(ctx context.Context, tenantID, id string) error
	AuditLog
}

// Redacted stands for a secret setting in answers.
const Redacted = "********"

// GatewaySettings are the settings the gateway decides, never a tenant:
// they are refused in PutChannel.
var GatewaySettings = map[string]bool{"allow_private_networks": true}

var channelID = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ChannelService implements callgatev1connect.ChannelServiceHandler.
type ChannelService struct {
	plugins PluginLister
	store   ChannelStore
	log     *slog.Logger
}

// NewChannelService returns a ChannelService.
func NewChannelService(p PluginLister, s ChannelStore, log *slog.Logger) *ChannelService {
	return &ChannelService{plugins: p, store: s, log: log}
}

func (s *ChannelService) plugin(name string) (Plugin, bool) {
	for _, p := range s.plugins.Plugins() {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// ListChannels lists the tenant's channels and the default ones it has not
// replaced.
func (s *ChannelService) ListChannels(ctx context.Context, _ *connect.Request[callgatev1.ListChannelsRequest]) (*connect.Response[callgatev1.ListChannelsResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	own, err := s.store.ListChannels(ctx, p.TenantID)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.ListChannelsResponse{}
	seen := map[string]bool{}
	for _, c := range own {
		seen[c.ID] = true
		out.Channels = append(out.Channels, s.channelProto(c))
	}
	for _, pl := range s.plugins.Plugins() {
		if !seen[pl.Name] {
			out.Channels = append(out.Channels, &callgatev1.Channel{Id: pl.Name, Plugin: pl.Name,
				PluginVersion: pl.Version, Healthy: pl.Healthy, Builtin: true})
		}
	}
	sort.Slice(out.Channels, func(i, j int) bool { return out.Channels[i].Id < out.Channels[j].Id })
	return connect.NewResponse(out), nil
}

func (s *ChannelService) channelProto(c store.Channel) *callgatev1.Channel {
	pl, _ := s.plugin(c.Plugin)
	secret := map[string]bool{}
	for _, spec := range pl.Settings {
		secret[spec.GetName()] = spec.GetSecret()
	}
	out := &callgatev1.Channel{Id: c.ID, Plugin: c.Plugin, PluginVersion: pl.Version, Healthy: pl.Healthy,
		Settings: map[string]string{}}
	for k, v := range c.Settings {
		if secret[k] && v != "" {
			v = Redacted
		}
		out.Settings[k] = v
	}
	return out
}

// PutChannel creates or replaces a channel after checking its settings
// against the plugin's schema.
func (s *ChannelService) PutChannel(ctx context.Context, req *connect.Request[callgatev1.PutChannelRequest]) (*connect.Response[callgatev1.PutChannelResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	ch := req.Msg.GetChannel()
	if !channelID.MatchString(ch.GetId()) {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue,
			"channel.id must be 1 to 64 lower-case letters, digits, '_', '.' or '-'"))
	}
	pl, ok := s.plugin(ch.GetPlugin())
	if !ok {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue, "no plugin %q", ch.GetPlugin()))
	}
	prev, err := s.store.GetChannel(ctx, p.TenantID, ch.GetId())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	settings, err := checkSettings(pl, ch.GetSettings(), prev)
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	saved, err := s.store.PutChannel(ctx, store.Channel{TenantID: p.TenantID, ID: ch.GetId(), Plugin: pl.Name, Settings: settings})
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.log.InfoContext(ctx, "channel saved", "request_id", reqid.From(ctx), "tenant", p.TenantID,
		"channel", saved.ID, "plugin", saved.Plugin)
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditChannelPut, saved.ID, ChannelAuditDetail(saved)))
	return connect.NewResponse(&callgatev1.PutChannelResponse{Channel: s.channelProto(saved)}), nil
}

// checkSettings validates settings against a plugin's schema; a secret
// sent back as Redacted keeps the stored value.
func checkSettings(pl Plugin, in map[string]string, prev store.Channel) (map[string]string, error) {
	specs := map[string]*pluginv1.SettingSpec{}
	for _, spec := range pl.Settings {
		specs[spec.GetName()] = spec
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		if GatewaySettings[k] {
			return nil, apierr.New(apierr.InvalidParameterValue, "setting %q is the gateway's to decide", k)
		}
		spec, ok := specs[k]
		if !ok {
			return nil, apierr.New(apierr.InvalidParameterValue, "plugin %q has no setting %q", pl.Name, k)
		}
		if v == Redacted && spec.GetSecret() {
			if prev.Plugin != pl.Name || prev.Settings[k] == "" {
				return nil, apierr.New(apierr.InvalidParameterValue, "setting %q: no stored value to keep", k)
			}
			v = prev.Settings[k]
		}
		out[k] = v
	}
	for _, spec := range pl.Settings {
		if spec.GetRequired() && out[spec.GetName()] == "" {
			return nil, apierr.New(apierr.ParamError, "setting %q is required by plugin %q", spec.GetName(), pl.Name)
		}
	}
	return out, nil
}

// DeleteChannel removes one of the tenant's channels.
func (s *ChannelService) DeleteChannel(ctx context.Context, req *connect.Request[callgatev1.DeleteChannelRequest]) (*connect.Response[callgatev1.DeleteChannelResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	err = s.store.DeleteChannel(ctx, p.TenantID, req.Msg.GetId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.ResourceNotFound+".Channel", "the tenant has no channel %q", req.Msg.GetId()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditChannelDelete, req.Msg.GetId(), nil))
	return connect.NewResponse(&callgatev1.DeleteChannelResponse{}), nil
}

var _ callgatev1connect.ChannelServiceHandler = (*ChannelService)(nil)
