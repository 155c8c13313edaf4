// Spans remember where a long string's JSON text already is, in the input or
// in the output, so that writing it again is a copy instead of an encoding.
// A callback's content sent unchanged to every config is the common case:
// it is copied from the input, escapes and all, once per delivery.
//
// Strings are immutable, so a string's address names its text for as long
// as the heap holds it: one call. The table is cleared when a call begins.

/** Strings shorter than this (in UTF-16 units, or raw bytes) are not kept. */
export const MIN_SPAN: usize = 32;

const MAX_SPANS = 32;
// Entries of four u32: the string, where the text is (0 in the input, 1 in
// the output), its start (an address, or an offset in the output) and its
// length in bytes, quotes included.
const table = memory.data(MAX_SPANS * 16);
let count = 0;

export const IN_INPUT: u32 = 0;
export const IN_OUTPUT: u32 = 1;

/** Forgets every span. */
export function clearSpans(): void {
  count = 0;
}

/** Remembers that str's JSON text is the len bytes at start. */
export function addSpan(str: usize, where: u32, start: usize, len: usize): void {
  if (count >= MAX_SPANS) return;
  let e = table + (<usize>count << 4);
  store<u32>(e, <u32>str);
  store<u32>(e, where, 4);
  store<u32>(e, <u32>start, 8);
  store<u32>(e, <u32>len, 12);
  count++;
}

/** Returns the entry for str, or 0 when there is none. */
export function findSpan(str: usize): usize {
  for (let i = 0; i < count; i++) {
    let e = table + (<usize>i << 4);
    if (load<u32>(e) == <u32>str) return e;
  }
  return 0;
}

/** Where the entry's text is: IN_INPUT or IN_OUTPUT. */
export function spanWhere(e: usize): u32 {
  return load<u32>(e, 4);
}

/** The entry's start: an address, or an offset in the output. */
export function spanStart(e: usize): usize {
  return <usize>load<u32>(e, 8);
}

/** The entry's length in bytes. */
export function spanLen(e: usize): usize {
  return <usize>load<u32>(e, 12);
}
