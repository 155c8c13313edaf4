package route

import (
	"context"
	"fmt"
)

// Builtin is the routing callgate has without any rule: rule code "http"
// (or none) sends the content as the body of a POST to every callback
// config of the tenant. Other rule codes go to Next, when set.
type Builtin struct {
	Next Router
}

// Route implements Router.
func (b Builtin) Route(ctx context.Context, in Input) (Decision, error) {
	switch in.Rule {
	case "", "http":
	default:
		if b.Next != nil {
			return b.Next.Route(ctx, in)
		}
		return Decision{}, fmt.Errorf("rule %q: %w", in.Rule, ErrUnknownRule)
	}
	if len(in.Configs) == 0 {
		return Decision{Reject: &Rejection{
			Code:    "FailedOperation.NoCallbackConfig",
			Message: "the tenant has no callback config: add one with ModifyCallbackConfig first",
		}}, nil
	}
	ds := make([]Delivery, 0, len(in.Configs))
	for _, c := range in.Configs {
		ds = append(ds, Delivery{
			Channel:     "http",
			ConfigID:    c.ID,
			Destination: c.URL,
			Method:      "POST",
			Body:        []byte(in.Content),
		})
	}
	return Decision{Deliveries: ds}, nil
}

var _ Router = Builtin{}
