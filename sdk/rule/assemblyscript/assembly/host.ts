// The gateway's functions, imported from the module callgate_v1 of the rule
// ABI, and what the SDK builds on them.

import { utf8Prefix } from "./utf8";

@external("callgate_v1", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;

@external("callgate_v1", "now_ms")
declare function hostNowMs(): i64;

/** Log levels of the ABI, for {@link log}. */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/** The gateway keeps at most this many bytes of a log line. */
const MAX_LINE: usize = 1024;

// lineBuf is where a log line is encoded: static, so that logging never
// allocates (abort logs too, when the heap may be what failed).
const lineBuf = memory.data(<i32>MAX_LINE);

/**
 * Logs a line for the gateway's log and TestRule's output. The gateway keeps
 * the first 1 KiB of a line and 100 lines a call.
 */
export function log(level: Level, text: string): void {
  logUnits(level, changetype<usize>(text), text.length);
}

// logUnits logs len UTF-16 units at ptr, the first MAX_LINE bytes of them.
export function logUnits(level: i32, ptr: usize, len: i32): void {
  let n = utf8Prefix(ptr, len, lineBuf, MAX_LINE);
  hostLog(level, lineBuf, n);
}

/** Returns the gateway's clock: Unix time in milliseconds. */
export function nowMs(): i64 {
  return hostNowMs();
}
