package main

import (
	"reflect"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestRoute(t *testing.T) {
	configs := []rule.Config{
		{ID: "cfg_1", URL: "https://a.example.com/cb", HasKey: true, HasToken: true},
		{ID: "cfg_2", URL: "https://b.example.com/cb"},
	}
	post := func(c rule.Config, contentType, body string) rule.Delivery {
		return rule.Delivery{Channel: "http", ConfigID: c.ID, Destination: c.URL, Method: "POST",
			Headers: map[string]string{"Content-Type": contentType}, Body: body}
	}
	tests := []struct {
		name string
		in   rule.Input
		want *rule.Decision
	}{
		{
			name: "json_object_to_every_config",
			in:   rule.Input{Content: `{"event_type":"order.paid","order":42}`, Configs: configs},
			want: &rule.Decision{Deliveries: []rule.Delivery{
				post(configs[0], "application/json", `{"event_type":"order.paid","order":42}`),
				post(configs[1], "application/json", `{"event_type":"order.paid","order":42}`),
			}},
		},
		{
			name: "json_array_with_space",
			in:   rule.Input{Content: " \n[1, 2]\n", Configs: configs[:1]},
			want: &rule.Decision{Deliveries: []rule.Delivery{post(configs[0], "application/json", " \n[1, 2]\n")}},
		},
		{
			name: "text",
			in:   rule.Input{Content: "order 42 paid", Configs: configs[1:]},
			want: &rule.Decision{Deliveries: []rule.Delivery{post(configs[1], "text/plain; charset=utf-8", "order 42 paid")}},
		},
		{
			name: "broken_json_is_text",
			in:   rule.Input{Content: `{"a":`, Configs: configs[1:]},
			want: &rule.Decision{Deliveries: []rule.Delivery{post(configs[1], "text/plain; charset=utf-8", `{"a":`)}},
		},
		{
			name: "json_scalar_is_text",
			in:   rule.Input{Content: `42`, Configs: configs[1:]},
			want: &rule.Decision{Deliveries: []rule.Delivery{post(configs[1], "text/plain; charset=utf-8", `42`)}},
		},
		{
			name: "empty_content",
			in:   rule.Input{Configs: configs[1:]},
			want: &rule.Decision{Deliveries: []rule.Delivery{post(configs[1], "text/plain; charset=utf-8", "")}},
		},
		{
			name: "no_config",
			in:   rule.Input{Content: "x"},
			want: &rule.Decision{Reject: &rule.Rejection{Code: "FailedOperation.NoCallbackConfig",
				Message: "the tenant has no callback config: add one with ModifyCallbackConfig first"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rule.RouteFunc(route).Decide(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("route\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// The JSON the gateway sends in, the JSON it reads back.
func TestRoute_json(t *testing.T) {
	got := rule.RouteFunc(route).ServeJSON(nil, []byte(benchInput))
	want := `{"deliveries":[` +
		`{"channel":"http","configId":"cfg_01","destination":"https://a.example.com/cb","method":"POST",` +
		`"headers":{"Content-Type":"application/json"},"body":` + string(rule.AppendQuote(nil, benchContent)) + `},` +
		`{"channel":"http","configId":"cfg_02","destination":"https://b.example.com/cb","method":"POST",` +
		`"headers":{"Content-Type":"application/json"},"body":` + string(rule.AppendQuote(nil, benchContent)) + `}]}`
	if string(got) != want {
		t.Errorf("ServeJSON\n got %s\nwant %s", got, want)
	}
}
