package ruleruntime

import "context"

// Tuning is what benchmarks and tests may change about a Runtime.
type Tuning struct {
	Meter              bool  // rewrite modules to spend fuel (production: true)
	CloseOnContextDone bool  // wazero's WithCloseOnContextDone (production: false)
	FuelPerMS          int64 // 0 means FuelPerMillisecond
}

// NewTuned is New with tuning.
func NewTuned(ctx context.Context, opts Options, t Tuning) (*Runtime, error) {
	opts.tuning = &tuning{noMeter: !t.Meter, closeOnContextDone: t.CloseOnContextDone, fuelPerMS: t.FuelPerMS}
	return New(ctx, opts)
}

// Stats returns how many instances the rule has made and discarded.
func Stats(r *Rule) (created, discarded int64) {
	return r.created.Load(), r.discarded.Load()
}
