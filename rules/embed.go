package rules

import (
	"embed"
	"strings"
)

//go:embed wasm/*.wasm
var modules embed.FS

// Builtin returns the built-in rules' WebAssembly modules by rule code:
// "http", "email", "sms", "ebaas" and "tim". The map and its slices are made
// on each call (about 10 MB), so call it once, when the gateway starts.
func Builtin() map[string][]byte {
	entries, err := modules.ReadDir("wasm")
	if err != nil {
		panic("rules: the embedded modules are unreadable: " + err.Error())
	}
	m := make(map[string][]byte, len(entries))
	for _, e := range entries {
		data, err := modules.ReadFile("wasm/" + e.Name())
		if err != nil {
			panic("rules: the embedded modules are unreadable: " + err.Error())
		}
		m[strings.TrimSuffix(e.Name(), ".wasm")] = data
	}
	return m
}
