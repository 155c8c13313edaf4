// Package abi holds the memory side of the rule ABI for the Go SDK's
// exports: callgate_v1_alloc, the input buffers it hands out, and the
// output that stays valid until the next call. It is its own package so
// that the route export (in sdk/rule) and the classify export (in
// sdk/rule/classify, linked only into rules that judge answers) share it.
// It only has code when built for wasip1.
package abi
