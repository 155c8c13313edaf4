package httpplugin

import (
	"context"
	"sync"

	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// SendBatch sends the deliveries concurrently, at most BatchConcurrency
// at a time, and returns their outcomes in order. Receivers differ, so
// one slow receiver holds up only its own slot.
func (p *Plugin) SendBatch(ctx context.Context, ds []*pluginv1.Delivery) ([]*pluginv1.Outcome, error) {
	outs := make([]*pluginv1.Outcome, len(ds))
	slots := make(chan struct{}, BatchConcurrency)
	var wg sync.WaitGroup
	for i, d := range ds {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			out, err := p.Send(ctx, d)
			if err != nil {
				out = permanent(err.Error())
			}
			outs[i] = out
		})
	}
	wg.Wait()
	return outs, nil
}
