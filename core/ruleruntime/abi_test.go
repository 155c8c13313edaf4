package ruleruntime_test

import (
	"errors"
	"testing"

	"github.com/callgate/callgate/core/ruleruntime"
)

// TestClassifies: whether a module exports classify is read from its
// exports alone.
func TestClassifies(t *testing.T) {
	tests := []struct {
		name string
		bin  []byte
		want bool
		err  error
	}{
		{name: "exports_classify", bin: wat(t, "behave"), want: true},
		{name: "route_only", bin: wat(t, "minimal"), want: false},
		{name: "not_wasm", bin: []byte("hello"), err: ruleruntime.ErrInvalidModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ruleruntime.Classifies(tt.bin)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("Classifies = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
