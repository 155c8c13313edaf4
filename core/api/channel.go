package api

import (
	"context"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// ChannelInfo describes one channel and the plugin behind it.
type ChannelInfo struct {
	ID      string
	Plugin  string
	Version string
	Healthy bool
}

// ChannelLister reports the channels the gateway can send through.
type ChannelLister interface {
	Channels() []ChannelInfo
}

// ChannelService implements callgatev1connect.ChannelServiceHandler.
type ChannelService struct {
	channels ChannelLister
}

// NewChannelService returns a ChannelService.
func NewChannelService(l ChannelLister) *ChannelService { return &ChannelService{channels: l} }

// ListChannels lists the channels and whether their plugins are up.
func (s *ChannelService) ListChannels(ctx context.Context, _ *connect.Request[callgatev1.ListChannelsRequest]) (*connect.Response[callgatev1.ListChannelsResponse], error) {
	if _, err := tenant(ctx); err != nil {
		return nil, err
	}
	out := &callgatev1.ListChannelsResponse{}
	for _, c := range s.channels.Channels() {
		out.Channels = append(out.Channels, &callgatev1.Channel{
			Id: c.ID, Plugin: c.Plugin, PluginVersion: c.Version, Healthy: c.Healthy,
		})
	}
	return connect.NewResponse(out), nil
}

var _ callgatev1connect.ChannelServiceHandler = (*ChannelService)(nil)
