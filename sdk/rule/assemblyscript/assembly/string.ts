// Decoding a JSON string of the input (UTF-8) into an AssemblyScript
// string (UTF-16).

import { Reader } from "./reader";
import { hexValue } from "./scan";
import { MIN_SPAN, IN_INPUT, addSpan } from "./spans";
import { HIGH8, quoteOrBackslash8, special8, widen4 } from "./swar";
import { decodeRune } from "./utf8";

// Past this many bytes of input left, a string's end is found before it is
// decoded, rather than its room taken from the rest of the input.
// @ts-ignore: decorator
@inline const LARGE: usize = 64 << 10;

/**
 * Reads the string whose opening quote is at r.pos. Invalid UTF-8 becomes
 * U+FFFD byte by byte, and so do lone surrogates in \u escapes, as in Go's
 * encoding/json. A long string that needed no change of its bytes is
 * remembered (spans.ts), to be copied when it is written.
 */
export function decodeString(r: Reader): string {
  let open = r.pos;
  let p = open + 1;
  // The string has at most one unit per byte up to the closing quote, so
  // it is made that long and cut to size after. That quote is found first
  // only in a large input, where the rest of the input is too much room to
  // take.
  let limit = r.end;
  if (limit - p > LARGE) {
    let q = closingQuote(p, limit);
    if (q >= limit) {
      r.pos = limit;
      r.unexpected("");
      return "";
    }
    limit = q + 1;
  }
  if (p < limit && <u32>load<u8>(p) == 0x22) {
    r.pos = p + 1;
    return "";
  }
  let out = __new((limit - p) << 1, idof<string>());
  let d = out;
  let clean = true; // the raw text may be copied to the output as it is
  while (true) {
    // Eight plain ASCII bytes at a time, up to the first other byte. They
    // are widened before they are tested: there is room for them.
    if (p + 8 <= limit) {
      let w = load<u64>(p);
      let m = special8(w) | (w & HIGH8);
      store<u64>(d, widen4(w));
      store<u64>(d, widen4(w >> 32), 8);
      if (m == 0) {
        d += 16;
        p += 8;
        continue;
      }
      let k = <usize>(ctz(m) >> 3);
      d += k << 1;
      p += k;
    } else if (p >= limit) {
      r.pos = p;
      r.unexpected("");
      return "";
    }
    let c = <u32>load<u8>(p);
    if (c == 0x22) break;
    if (c >= 0x20 && c < 0x80 && c != 0x5C) {
      store<u16>(d, c);
      d += 2;
      p++;
    } else if (c == 0x5C) {
      let e = unescape(r, p, limit);
      if (e < 0) return "";
      let n = <usize>(e & 0xF);
      let unit = <u32>(e >> 4) & 0xFFFF;
      let unit2 = <u32>(e >> 20) & 0xFFFF;
      if (unit2 != 0) {
        // An escaped surrogate pair.
        store<u16>(d, unit2);
        d += 2;
      }
      store<u16>(d, unit);
      d += 2;
      p += n;
    } else if (c < 0x20) {
      r.pos = p;
      r.unexpected("in string literal");
      return "";
    } else {
      let rune = decodeRune(p, c, limit);
      let n = <usize>(rune & 7);
      let cp = rune >> 3;
      if (n == 0) {
        store<u16>(d, 0xFFFD);
        d += 2;
        p++;
        clean = false;
      } else if (cp >= 0x10000) {
        cp -= 0x10000;
        store<u16>(d, 0xD800 | (cp >> 10));
        store<u16>(d, 0xDC00 | (cp & 0x3FF), 2);
        d += 4;
        p += n;
      } else {
        store<u16>(d, cp);
        d += 2;
        p += n;
      }
    }
  }
  r.pos = p + 1;
  out = __renew(out, d - out);
  let raw = p + 1 - open;
  if (clean && raw >= MIN_SPAN) addSpan(out, IN_INPUT, open, raw);
  return changetype<string>(out);
}

// unescape reads the escape at p (a backslash). It returns the unit it
// stands for << 4 | the bytes it took, with the high half of a surrogate
// pair << 20 when it is one; or -1 after reporting an error.
// @ts-ignore: decorator
@inline function unescape(r: Reader, p: usize, limit: usize): i64 {
  if (p + 1 >= limit) {
    r.pos = p + 1;
    r.unexpected("");
    return -1;
  }
  let v: u32 = 0;
  switch (<u32>load<u8>(p + 1)) {
    case 0x22: v = 0x22; break;
    case 0x5C: v = 0x5C; break;
    case 0x2F: v = 0x2F; break;
    case 0x62: v = 0x08; break;
    case 0x66: v = 0x0C; break;
    case 0x6E: v = 0x0A; break;
    case 0x72: v = 0x0D; break;
    case 0x74: v = 0x09; break;
    case 0x75: {
      let u = hex4(p + 2, limit);
      if (u < 0) {
        r.pos = p + 2 + <usize>(-u - 1);
        r.unexpected("in \\u hexadecimal character escape");
        return -1;
      }
      v = <u32>u;
      if (v - 0xD800 >= 0x800) return (<i64>v << 4) | 6;
      // A high surrogate and an escaped low one are one character;
      // anything else is U+FFFD, and what follows is read on its own.
      if (v < 0xDC00 && p + 12 <= limit && load<u8>(p + 6) == 0x5C && load<u8>(p + 7) == 0x75) {
        let low = hex4(p + 8, limit);
        if (low >= 0xDC00 && low < 0xE000) return (<i64>v << 20) | (<i64>low << 4) | 12;
      }
      return (0xFFFD << 4) | 6;
    }
    default:
      r.pos = p + 1;
      r.unexpected("in string escape code");
      return -1;
  }
  return (<i64>v << 4) | 2;
}

// hex4 reads the four hex digits at p (before limit), or returns -1 - the
// index of the first that is not one.
function hex4(p: usize, limit: usize): i32 {
  let v = 0;
  for (let i: usize = 0; i < 4; i++) {
    let h = p + i < limit ? hexValue(<u32>load<u8>(p + i)) : -1;
    if (h < 0) return -1 - <i32>i;
    v = (v << 4) | h;
  }
  return v;
}

// closingQuote returns the position of the quote that closes the string
// whose contents start at p, or end.
function closingQuote(p: usize, end: usize): usize {
  while (p < end) {
    while (p + 8 <= end && quoteOrBackslash8(load<u64>(p)) == 0) p += 8;
    if (p >= end) break;
    let c = <u32>load<u8>(p);
    if (c == 0x22) return p;
    p += c == 0x5C ? 2 : 1;
  }
  return end;
}
