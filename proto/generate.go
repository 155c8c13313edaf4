// Package proto holds callgate's protobuf definitions and the code generated
// from them. Regenerate with `go generate ./proto`; CI fails when the
// committed code differs from what generation produces.
package proto

//go:generate go tool -modfile=tools/go.mod buf generate --path callgate/v1
//go:generate go tool -modfile=tools/go.mod buf generate --template buf.gen.plugin.yaml --path callgate/plugin/v1
