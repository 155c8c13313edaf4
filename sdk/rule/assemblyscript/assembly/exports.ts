// The exports of the rule ABI v1. A rule re-exports them from its entry
// file, which is all the WebAssembly glue it has:
//
//   export * from "@callgate/rule/assembly/exports";
//
// Memory: the SDK builds for AssemblyScript's stub runtime, which allocates
// by bumping a pointer and never collects. Instead, everything a call
// allocates is dropped when the next call begins (callgate_v1_alloc, or a
// route or classify call without an input): the ABI keeps an output valid
// only until then, and one instance serves one call at a time. What the
// rule's top level allocated, before the first call, stays.

import "./abort";
import { BLOCK, BLOCK_OVERHEAD } from "rt/common";
import { decodeAnswer, decodeInput } from "./decode";
import { encodeDecision, encodeVerdict } from "./encode";
import { decide, judge, ruleError } from "./handle";
import { Reader } from "./reader";
import { clearSpans } from "./spans";
import { Verdict } from "./types";
import { Writer } from "./writer";

/** A bad size answers 0 instead of exhausting memory. */
const MAX_ALLOC: i32 = 64 << 20;

// mark is a zero-sized block that the rule's top level allocated nothing
// after; the heap is cut back to it between calls. 0 before the first call.
let mark: usize = 0;
// idle is true between calls: the next alloc or call begins a new one.
let idle = true;
// The inputs allocated since the call began lie in [inputLo, inputHi).
let inputLo: usize = 0;
let inputHi: usize = 0;

// begin drops what the last call allocated, unless this call has begun.
function begin(): void {
  if (!idle) return;
  idle = false;
  inputLo = 0;
  inputHi = 0;
  clearSpans();
  if (mark == 0) {
    mark = __alloc(0);
    return;
  }
  // The stub runtime frees only its last block, by moving its end back. So
  // the mark is stretched over everything after it, up to the end of a new
  // last block, freed, and made again where it was.
  let last = __alloc(0);
  let lastEnd = last + changetype<BLOCK>(last - BLOCK_OVERHEAD).mmInfo;
  changetype<BLOCK>(mark - BLOCK_OVERHEAD).mmInfo = lastEnd - mark;
  __free(mark);
  mark = __alloc(0);
}

// owns reports whether [ptr, ptr+len) lies in this call's inputs.
function owns(ptr: usize, len: usize): bool {
  return inputLo != 0 && ptr >= inputLo && <u64>ptr + <u64>len <= <u64>inputHi;
}

// output ends the call and packs the output's location as the ABI wants.
function output(w: Writer): u64 {
  idle = true;
  return (<u64>w.buf << 32) | <u64>w.length;
}

/** Returns size fresh bytes for the gateway to write an input into, or 0. */
export function callgate_v1_alloc(size: i32): usize {
  begin();
  if (size < 0 || size > MAX_ALLOC) return 0;
  let p = __alloc(<usize>size);
  if (inputLo == 0) inputLo = p;
  inputHi = p + <usize>size;
  return p;
}

/** Reads the route input at ptr and answers the decision, packed as ptr << 32 | len. */
export function callgate_v1_route(ptr: usize, len: usize): u64 {
  begin();
  let w = new Writer(len + 512);
  w.spans = true;
  if (len != 0 && !owns(ptr, len)) {
    encodeDecision(w, ruleError("the route input is not in memory from callgate_v1_alloc"));
    return output(w);
  }
  let r = new Reader(ptr, len);
  let input = decodeInput(r);
  r.finish();
  if (r.failed) encodeDecision(w, ruleError("decoding the route input: " + r.message()));
  else encodeDecision(w, decide(input));
  return output(w);
}

/** Reads a receiver's answer at ptr and answers the verdict, packed the same way. */
export function callgate_v1_classify(ptr: usize, len: usize): u64 {
  begin();
  let w = new Writer(256);
  if (len != 0 && !owns(ptr, len)) {
    encodeVerdict(w, Verdict.retry("the classify input is not in memory from callgate_v1_alloc"));
    return output(w);
  }
  let r = new Reader(ptr, len);
  let answer = decodeAnswer(r);
  r.finish();
  if (r.failed) encodeVerdict(w, Verdict.retry("decoding the classify input: " + r.message()));
  else encodeVerdict(w, judge(answer));
  return output(w);
}
