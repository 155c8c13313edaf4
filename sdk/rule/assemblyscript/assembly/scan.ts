import { narrow4, special8, special16 } from "./swar";

// scanValue checks one JSON value (RFC 8259) without keeping anything. It is
// generic over the unit: u8 for UTF-8 input, u16 for AssemblyScript strings.
// It is iterative, so that nesting costs no call stack.

/** How deeply arrays and objects may nest, as in Go's encoding/json. */
export const MAX_DEPTH = 10000;

// One bit per open container: 1 for an object, 0 for an array.
const kinds = memory.data((MAX_DEPTH >> 3) + 1);

/** Where the last scan that failed stopped. */
export let scanErrorAt: usize = 0;

// @ts-ignore: decorator
@inline function isWS(c: u32): bool {
  return c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09;
}

/** Returns p past any whitespace. */
// @ts-ignore: decorator
@inline export function skipWS<T>(p: usize, end: usize): usize {
  // Most JSON has none: no call and no loop then.
  if (p < end && <u32>load<T>(p) > 0x20) return p;
  return skipSpaces<T>(p, end);
}

function skipSpaces<T>(p: usize, end: usize): usize {
  while (p < end && isWS(<u32>load<T>(p))) p += sizeof<T>();
  return p;
}

function fail(p: usize): usize {
  scanErrorAt = p;
  return 0;
}

/**
 * Scans the string whose opening quote is at p and returns the position
 * past its closing quote, or 0 when it is not a valid JSON string.
 */
export function scanString<T>(p: usize, end: usize): usize {
  p += sizeof<T>();
  while (p < end) {
    // Eight bytes at a time (four units of a string) while none is '"',
    // '\\' or a control character.
    if (p + 8 <= end && (sizeof<T>() == 1 ? special8(load<u64>(p)) : special16(load<u64>(p))) == 0) {
      p += 8;
      continue;
    }
    let c = <u32>load<T>(p);
    if (c == 0x22) return p + sizeof<T>();
    if (c < 0x20) return fail(p);
    if (c == 0x5C) {
      p += sizeof<T>();
      if (p >= end) break;
      let e = <u32>load<T>(p);
      if (e == 0x75) { // u
        for (let i = 0; i < 4; i++) {
          p += sizeof<T>();
          if (p >= end) return fail(p);
          if (hexValue(<u32>load<T>(p)) < 0) return fail(p);
        }
      } else if (!(e == 0x22 || e == 0x5C || e == 0x2F || e == 0x62 || e == 0x66 || e == 0x6E || e == 0x72 || e == 0x74)) {
        return fail(p);
      }
    }
    p += sizeof<T>();
  }
  return fail(p);
}

/** The value of a hex digit, or -1. */
export function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  let l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** Scans a number and returns the position past it, or 0. */
export function scanNumber<T>(p: usize, end: usize): usize {
  if (p < end && <u32>load<T>(p) == 0x2D) p += sizeof<T>();
  if (p >= end) return fail(p);
  let c = <u32>load<T>(p);
  if (c == 0x30) {
    p += sizeof<T>();
  } else if (c - 0x31 < 9) {
    p = digits<T>(p + sizeof<T>(), end);
  } else {
    return fail(p);
  }
  if (p < end && <u32>load<T>(p) == 0x2E) {
    p += sizeof<T>();
    if (p >= end || <u32>load<T>(p) - 0x30 >= 10) return fail(p);
    p = digits<T>(p, end);
  }
  if (p < end && (<u32>load<T>(p) | 0x20) == 0x65) { // e or E
    p += sizeof<T>();
    if (p < end && (<u32>load<T>(p) == 0x2B || <u32>load<T>(p) == 0x2D)) p += sizeof<T>();
    if (p >= end || <u32>load<T>(p) - 0x30 >= 10) return fail(p);
    p = digits<T>(p, end);
  }
  return p;
}

function digits<T>(p: usize, end: usize): usize {
  while (p < end && <u32>load<T>(p) - 0x30 < 10) p += sizeof<T>();
  return p;
}

/** Scans the ASCII word (true, false, null) at p. */
function scanWord<T>(p: usize, end: usize, word: string): usize {
  let w = changetype<usize>(word);
  let n = <usize>word.length;
  // Four units at once, when they are there.
  if (p + (4 << alignof<T>()) <= end) {
    let same = sizeof<T>() == 1 ? load<u32>(p) == narrow4(load<u64>(w)) : load<u64>(p) == load<u64>(w);
    if (same) {
      if (n == 4) return p + (4 << alignof<T>());
      p += 4 << alignof<T>();
      w += 8;
      n -= 4;
    }
  }
  for (let i: usize = 0; i < n; i++) {
    if (p >= end || <u32>load<T>(p) != <u32>load<u16>(w + (i << 1))) return fail(p);
    p += sizeof<T>();
  }
  return p;
}

/**
 * Scans one value starting at p (after whitespace) and returns the position
 * past it, or 0 when it is not valid JSON or nests deeper than MAX_DEPTH.
 * depth is how deep the value already is.
 */
export function scanValue<T>(p: usize, end: usize, depth: i32 = 0): usize {
  let base = depth;
  while (true) {
    // A value.
    p = skipWS<T>(p, end);
    if (p >= end) return fail(p);
    let c = <u32>load<T>(p);
    if (c == 0x7B || c == 0x5B) { // { [
      if (++depth > MAX_DEPTH) return fail(p);
      let obj = c == 0x7B;
      let bit = <usize>(depth - base);
      let byte = kinds + (bit >> 3);
      let mask = <u32>1 << <u32>(bit & 7);
      store<u8>(byte, obj ? load<u8>(byte) | mask : load<u8>(byte) & ~mask);
      p = skipWS<T>(p + sizeof<T>(), end);
      if (p < end && <u32>load<T>(p) == (obj ? 0x7D : 0x5D)) {
        p += sizeof<T>();
        depth--;
      } else {
        if (obj) {
          p = scanKey<T>(p, end);
          if (p == 0) return 0;
        }
        continue;
      }
    } else if (c == 0x22) {
      p = scanString<T>(p, end);
    } else if (c == 0x74) {
      p = scanWord<T>(p, end, "true");
    } else if (c == 0x66) {
      p = scanWord<T>(p, end, "false");
    } else if (c == 0x6E) {
      p = scanWord<T>(p, end, "null");
    } else {
      p = scanNumber<T>(p, end);
    }
    if (p == 0) return 0;
    // After a value: close what ends here, or go on to the next element.
    while (true) {
      if (depth == base) return p;
      p = skipWS<T>(p, end);
      if (p >= end) return fail(p);
      c = <u32>load<T>(p);
      let bit = <usize>(depth - base);
      let obj = (<u32>load<u8>(kinds + (bit >> 3)) >> <u32>(bit & 7)) & 1;
      if (c == 0x2C) {
        p += sizeof<T>();
        if (obj) {
          p = scanKey<T>(skipWS<T>(p, end), end);
          if (p == 0) return 0;
        }
        break;
      }
      if (c != (obj ? 0x7D : 0x5D)) return fail(p);
      p += sizeof<T>();
      depth--;
    }
  }
  return 0;
}

// scanKey scans `"name" :` at p.
function scanKey<T>(p: usize, end: usize): usize {
  if (p >= end || <u32>load<T>(p) != 0x22) return fail(p);
  p = scanString<T>(p, end);
  if (p == 0) return 0;
  p = skipWS<T>(p, end);
  if (p >= end || <u32>load<T>(p) != 0x3A) return fail(p);
  return p + sizeof<T>();
}

/** Reports whether s is one valid JSON value, with whitespace around it. */
export function validJSON(s: string): bool {
  let p = changetype<usize>(s);
  let end = p + (<usize>s.length << 1);
  p = scanValue<u16>(p, end);
  return p != 0 && skipWS<u16>(p, end) == end;
}
