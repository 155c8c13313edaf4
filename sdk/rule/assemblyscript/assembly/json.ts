// JSON helpers for a rule's own JSON (a body it builds).

import { Writer } from "./writer";

/** Returns s as a JSON string literal, quotes included, escaped as the SDK escapes its output. */
export function jsonString(s: string): string {
  let w = new Writer(<usize>s.length + 16);
  w.quote(s);
  return String.UTF8.decodeUnsafe(w.buf, w.length);
}
