// Package assemblyscript holds callgate's rule SDK for AssemblyScript, an npm
// package beside this file (assembly/, package.json), with an example rule
// (examples/http.ts) equivalent to the built-in http rule. It shows that
// the rule ABI v1 (../ABI.md) does not depend on Go: a rule is any
// WebAssembly module with its exports and imports.
//
// The Go package is empty. Its tests build the SDK's modules with npm (npm
// ci, then npm run build; they need Node.js 20 or later and npm) and run
// them in core/ruleruntime, the gateway's sandbox, against the Go SDK's
// built-in http rule.
package assemblyscript
