package route_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/route"
)

// recorder is a Router that records its inputs and answers a fixed
// decision.
type recorder struct {
	inputs []route.Input
	answer route.Decision
	err    error
}

func (r *recorder) Route(_ context.Context, in route.Input) (route.Decision, error) {
	r.inputs = append(r.inputs, in)
	return r.answer, r.err
}

var twoConfigs = []route.Config{
	{ID: "cfg_a", URL: "https://a.example/hook", HasKey: true, HasToken: true},
	{ID: "cfg_b", URL: "http://b.example/hook?x=1"},
}

func TestBuiltin(t *testing.T) {
	tests := []struct {
		name       string
		rule       string
		configs    []route.Config
		want       []route.Delivery
		wantReject string // the rejection's code
	}{
		{
			name: "empty_rule_to_every_config", rule: "", configs: twoConfigs,
			want: []route.Delivery{
				{Channel: "http", ConfigID: "cfg_a", Destination: "https://a.example/hook", Method: "POST", Body: []byte(`{"a":1}`)},
				{Channel: "http", ConfigID: "cfg_b", Destination: "http://b.example/hook?x=1", Method: "POST", Body: []byte(`{"a":1}`)},
			},
		},
		{
			name: "http_rule_to_every_config", rule: "http", configs: twoConfigs[:1],
			want: []route.Delivery{
				{Channel: "http", ConfigID: "cfg_a", Destination: "https://a.example/hook", Method: "POST", Body: []byte(`{"a":1}`)},
			},
		},
		{name: "no_config_rejected", rule: "http", configs: nil, wantReject: apierr.NoCallbackConfig},
		{name: "empty_configs_rejected", rule: "", configs: []route.Config{}, wantReject: apierr.NoCallbackConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &recorder{}
			dec, err := route.Builtin{Next: next}.Route(context.Background(), route.Input{
				TenantID: "t1", MessageID: "msg_1", Rule: tt.rule, Content: `{"a":1}`, Configs: tt.configs,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(next.inputs) != 0 {
				t.Errorf("rule %q went to Next", tt.rule)
			}
			if tt.wantReject != "" {
				if dec.Reject == nil || dec.Reject.Code != tt.wantReject || dec.Reject.Message == "" || dec.Deliveries != nil {
					t.Errorf("decision = %+v, want a %s rejection", dec, tt.wantReject)
				}
				return
			}
			if dec.Reject != nil || !reflect.DeepEqual(dec.Deliveries, tt.want) {
				t.Errorf("decision = %+v, want deliveries %+v", dec, tt.want)
			}
		})
	}
}

// TestBuiltinOtherRules: rule codes other than "" and "http" go to Next,
// or are unknown without one.
func TestBuiltinOtherRules(t *testing.T) {
	nextErr := errors.New("rule trapped")
	tests := []struct {
		name    string
		rule    string
		next    *recorder
		want    route.Decision
		wantErr error
	}{
		{name: "unknown_without_next", rule: "sms", wantErr: route.ErrUnknownRule},
		{name: "case_matters", rule: "HTTP", wantErr: route.ErrUnknownRule},
		{
			name: "next_decides", rule: "sms",
			next: &recorder{answer: route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+15550100"}}}},
			want: route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+15550100"}}},
		},
		{
			name: "next_rejects", rule: "sms",
			next: &recorder{answer: route.Decision{Reject: &route.Rejection{Code: "FailedOperation.X", Message: "no"}}},
			want: route.Decision{Reject: &route.Rejection{Code: "FailedOperation.X", Message: "no"}},
		},
		{name: "next_error_passed_on", rule: "sms", next: &recorder{err: nextErr}, wantErr: nextErr},
		{name: "next_unknown_passed_on", rule: "nope", next: &recorder{err: route.ErrUnknownRule}, wantErr: route.ErrUnknownRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := route.Input{TenantID: "t1", Rule: tt.rule, Content: "x", Ext: map[string]string{"k": "v"}, Configs: twoConfigs}
			b := route.Builtin{}
			if tt.next != nil {
				b.Next = tt.next
			}
			dec, err := b.Route(context.Background(), in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(dec, tt.want) {
				t.Errorf("decision = %+v, want %+v", dec, tt.want)
			}
			if tt.next != nil && (len(tt.next.inputs) != 1 || !reflect.DeepEqual(tt.next.inputs[0], in)) {
				t.Errorf("Next got %+v, want the input unchanged", tt.next.inputs)
			}
		})
	}
}
