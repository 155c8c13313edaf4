// Writer appends JSON, as UTF-8, to a buffer that grows.

import { MIN_SPAN, IN_INPUT, IN_OUTPUT, addSpan, findSpan, spanWhere, spanStart, spanLen } from "./spans";
import { narrow4, special16 } from "./swar";

const HEX = "0123456789abcdef";

/** Units of a string encoded per reservation: at most 6 bytes each. */
const CHUNK: i32 = 1024;

export class Writer {
  /** The buffer's address; it moves when the buffer grows. */
  buf: usize;
  pos: usize;
  end: usize;
  /**
   * Whether this writer remembers the long strings it writes, to copy them
   * when they come again. Only the ABI's output does: a span of the output
   * is an offset in this writer's buffer.
   */
  spans: bool = false;

  constructor(capacity: usize) {
    let buf = __alloc(capacity);
    this.buf = buf;
    this.pos = buf;
    this.end = buf + capacity;
  }

  /** The bytes written so far. */
  get length(): usize {
    return this.pos - this.buf;
  }

  /** Makes room for n more bytes. */
  // @ts-ignore: decorator
  @inline reserve(n: usize): void {
    if (this.pos + n > this.end) this.grow(n);
  }

  private grow(n: usize): void {
    let used = this.pos - this.buf;
    let cap = max<usize>(used + n, (this.end - this.buf) << 1);
    let buf = __realloc(this.buf, cap);
    this.buf = buf;
    this.pos = buf + used;
    this.end = buf + cap;
  }

  // @ts-ignore: decorator
  @inline byte(c: u32): void {
    this.reserve(1);
    store<u8>(this.pos, c);
    this.pos++;
  }

  /** Appends a member's name: ,"name": (without the comma when comma is false). */
  key(name: string, comma: bool = true): void {
    let n = <usize>name.length;
    this.reserve(n + 7);
    let d = this.pos;
    if (comma) {
      store<u8>(d, 0x2C);
      d++;
    }
    store<u8>(d, 0x22);
    d = narrow(d + 1, changetype<usize>(name), n);
    store<u8>(d, 0x22);
    store<u8>(d, 0x3A, 1);
    this.pos = d + 2;
  }

  /** Appends s, which must be ASCII and need no escaping: JSON syntax and names. */
  ascii(s: string): void {
    let n = <usize>s.length;
    this.reserve(n + 3);
    this.pos = narrow(this.pos, changetype<usize>(s), n);
  }

  /** Appends v in decimal. */
  int(v: i64): void {
    this.reserve(20);
    let u: u64 = v < 0 ? <u64>(-v) : <u64>v;
    if (v < 0) {
      store<u8>(this.pos, 0x2D);
      this.pos++;
    }
    let digits = 1;
    for (let t = u; t >= 10; t /= 10) digits++;
    let d = this.pos + digits;
    do {
      d--;
      store<u8>(d, <u32>(u % 10) + 0x30);
      u /= 10;
    } while (u != 0);
    this.pos += digits;
  }

  /**
   * Appends s as a JSON string. It escapes '"', '\\', control characters,
   * U+2028 and U+2029 as Go's encoding/json does; a lone surrogate becomes
   * \ufffd. A long string written before, or read from the input, is copied.
   */
  quote(s: string): void {
    let n = s.length;
    let str = changetype<usize>(s);
    if (<usize>n >= MIN_SPAN) {
      let e = findSpan(str);
      if (e != 0 && (this.spans || spanWhere(e) == IN_INPUT)) {
        let len = spanLen(e);
        this.reserve(len);
        let from = spanWhere(e) == IN_INPUT ? spanStart(e) : this.buf + spanStart(e);
        memory.copy(this.pos, from, len);
        this.pos += len;
        return;
      }
    }
    let start = this.length;
    this.byte(0x22);
    let src = str;
    let end = src + (<usize>n << 1);
    while (src < end) {
      let chunkEnd = min<usize>(end, src + (<usize>CHUNK << 1));
      this.reserve(<usize>((chunkEnd - src) >> 1) * 6 + 1);
      src = this.quoteUnits(src, chunkEnd, end);
    }
    this.byte(0x22);
    if (this.spans && <usize>n >= MIN_SPAN) addSpan(str, IN_OUTPUT, start, this.length - start);
  }

  // quoteUnits encodes the units in [src, stop) (and the low half of a
  // surrogate pair that stop splits, up to end) into reserved room. It
  // returns where it stopped.
  private quoteUnits(src: usize, stop: usize, end: usize): usize {
    let d = this.pos;
    while (src < stop) {
      // Four plain ASCII units at once.
      while (src + 8 <= stop) {
        let w = load<u64>(src);
        if (((w & 0xFF80FF80FF80FF80) | special16(w)) != 0) break;
        store<u32>(d, narrow4(w));
        d += 4;
        src += 8;
      }
      if (src >= stop) break;
      let c = <u32>load<u16>(src);
      src += 2;
      if (c < 0x80) {
        if (c >= 0x20 && c != 0x22 && c != 0x5C) {
          store<u8>(d, c);
          d++;
          continue;
        }
        store<u8>(d, 0x5C);
        let e: u32 = 0;
        switch (c) {
          case 0x22: e = 0x22; break;
          case 0x5C: e = 0x5C; break;
          case 0x08: e = 0x62; break; // b
          case 0x0C: e = 0x66; break; // f
          case 0x0A: e = 0x6E; break; // n
          case 0x0D: e = 0x72; break; // r
          case 0x09: e = 0x74; break; // t
        }
        if (e != 0) {
          store<u8>(d, e, 1);
          d += 2;
        } else {
          d = unicodeEscape(d, c);
        }
      } else if (c < 0x800) {
        store<u8>(d, 0xC0 | (c >> 6));
        store<u8>(d, 0x80 | (c & 0x3F), 1);
        d += 2;
      } else if (c - 0xD800 < 0x800) {
        let c2: u32 = src < end ? <u32>load<u16>(src) : 0;
        if (c < 0xDC00 && c2 - 0xDC00 < 0x400) {
          src += 2;
          let cp = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
          store<u8>(d, 0xF0 | (cp >> 18));
          store<u8>(d, 0x80 | ((cp >> 12) & 0x3F), 1);
          store<u8>(d, 0x80 | ((cp >> 6) & 0x3F), 2);
          store<u8>(d, 0x80 | (cp & 0x3F), 3);
          d += 4;
        } else {
          store<u8>(d, 0x5C);
          d = unicodeEscape(d, 0xFFFD);
        }
      } else if (c == 0x2028 || c == 0x2029) {
        store<u8>(d, 0x5C);
        d = unicodeEscape(d, c);
      } else {
        store<u8>(d, 0xE0 | (c >> 12));
        store<u8>(d, 0x80 | ((c >> 6) & 0x3F), 1);
        store<u8>(d, 0x80 | (c & 0x3F), 2);
        d += 3;
      }
    }
    this.pos = d;
    return src;
  }

  /** Appends s as a JSON member: ,"name":"s" (without the comma when comma is false). */
  field(name: string, s: string, comma: bool = true): void {
    this.key(name, comma);
    this.quote(s);
  }
}

// unicodeEscape writes the "u0000" part of \u0000 for c at d, after the
// backslash written there already, and returns the end.
function unicodeEscape(d: usize, c: u32): usize {
  let hex = changetype<usize>(HEX);
  store<u8>(d, 0x75, 1); // u
  store<u8>(d, load<u16>(hex + ((c >> 12) << 1)), 2);
  store<u8>(d, load<u16>(hex + (((c >> 8) & 0xF) << 1)), 3);
  store<u8>(d, load<u16>(hex + (((c >> 4) & 0xF) << 1)), 4);
  store<u8>(d, load<u16>(hex + ((c & 0xF) << 1)), 5);
  return d + 6;
}

// narrow writes the n ASCII units at src as bytes at d, four at a time, and
// returns the end. It may write three bytes more, and read three units
// more, than n: there must be room.
function narrow(d: usize, src: usize, n: usize): usize {
  let end = d + n;
  while (d < end) {
    store<u32>(d, narrow4(load<u64>(src)));
    d += 4;
    src += 8;
  }
  return end;
}
