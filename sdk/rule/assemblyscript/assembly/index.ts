// callgate's rule SDK for AssemblyScript: rule ABI v1 (sdk/rule/ABI.md).
//
// A rule registers a route function (and a classify function) at its top
// level and re-exports the ABI's exports:
//
//   import { Decision, Input, handle } from "@callgate/rule/assembly";
//   export * from "@callgate/rule/assembly/exports";
//
//   handle((input: Input): Decision => { ... });
//
// It is built with AssemblyScript's stub runtime and with this SDK's abort
// (asconfig.json); README.md says how.

export * from "./types";
export { Level, log, nowMs } from "./host";
export { ClassifyFunc, RouteFunc, decide, defaultClassify, handle, handleClassify, judge } from "./handle";
export { validJSON } from "./scan";
export { jsonString } from "./json";
export { decimal } from "./text";
