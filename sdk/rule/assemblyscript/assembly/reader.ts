// Reader decodes the JSON the gateway sends (UTF-8) into AssemblyScript
// values. It accepts exactly RFC 8259 JSON and reads it as Go's
// encoding/json does: unknown members are checked and skipped, null reads
// as the zero value, and a member given twice keeps its last value (objects
// are merged). The first error is kept and ends the reading.

import { scanValue, scanErrorAt } from "./scan";
import { decodeString } from "./string";
import { narrow4, special8 } from "./swar";
import { decimal } from "./text";
import { StringMap } from "./types";

export class Reader {
  start: usize;
  pos: usize;
  end: usize;
  /** The first error, or null. */
  error: string | null = null;
  errorAt: usize = 0;
  /** The field the error is in, such as "configs[1].hasKey". */
  field: string = "";
  /** How many objects and arrays are open. */
  depth: i32 = 0;

  // The member name nextMember read: raw bytes, or decoded when escaped,
  // and its keyCode.
  private keyPtr: usize = 0;
  private keyLen: usize = 0;
  private keyText: string | null = null;
  private keyHash: u32 = 0;

  constructor(ptr: usize, len: usize) {
    this.start = ptr;
    this.pos = ptr;
    this.end = ptr + len;
  }

  get failed(): bool {
    return this.error !== null;
  }

  /** Records the first error, at byte offset at, and stops the reading. */
  fail(msg: string, at: usize = this.pos): void {
    if (this.error === null) {
      this.error = msg;
      this.errorAt = at - this.start;
    }
    this.pos = this.end;
  }

  /** Prefixes the error's field with name; a no-op without an error. */
  inField(name: string): void {
    if (this.error === null) return;
    if (this.field.length == 0) this.field = name;
    else if (this.field.charCodeAt(0) == 0x5B) this.field = name + this.field;
    else this.field = name + "." + this.field;
  }

  /** The error as a message: "json: field: what at offset N". */
  message(): string {
    let s = "json: ";
    if (this.field.length > 0) s += this.field + ": ";
    return s + (this.error !== null ? this.error! : "") + " at offset " + decimal(this.errorAt);
  }

  /** Skips whitespace and returns the next byte, or 0 at the end. */
  // @ts-ignore: decorator
  @inline peek(): u32 {
    // The gateway's JSON has no whitespace: the next byte is the answer.
    let p = this.pos;
    if (p < this.end) {
      let c = <u32>load<u8>(p);
      if (c > 0x20) return c;
    }
    return this.skipWS();
  }

  private skipWS(): u32 {
    let p = this.pos;
    let end = this.end;
    while (p < end) {
      let c = <u32>load<u8>(p);
      if (c != 0x20 && c != 0x0A && c != 0x0D && c != 0x09) {
        this.pos = p;
        return c;
      }
      p++;
    }
    this.pos = end;
    return 0;
  }

  /** Checks that nothing but whitespace is left. */
  finish(): void {
    if (this.peek() != 0) this.fail("invalid character after top-level value");
  }

  /** Reports the byte at pos (or the end) as not what was wanted. */
  unexpected(what: string): void {
    this.fail(this.pos >= this.end ? "unexpected end of JSON input" : "invalid character " + what);
  }

  private word(w: string): bool {
    // The common case, the word's first four bytes at once.
    let p = this.pos;
    let s = changetype<usize>(w);
    if (p + 4 <= this.end) {
      if (load<u32>(p) == narrow4(load<u64>(s))) {
        if (w.length == 4) {
          this.pos = p + 4;
          return true;
        }
        if (p + 5 <= this.end && <u32>load<u8>(p + 4) == <u32>load<u16>(s + 8)) {
          this.pos = p + 5;
          return true;
        }
      }
    }
    for (let i = 0; i < w.length; i++) {
      if (this.pos >= this.end || <u32>load<u8>(this.pos) != <u32>w.charCodeAt(i)) {
        this.unexpected("in literal " + w);
        return false;
      }
      this.pos++;
    }
    return true;
  }

  /** Consumes a null if one comes next. */
  isNull(): bool {
    if (this.peek() != 0x6E) return false;
    this.word("null");
    return true;
  }

  private wrongType(want: string): void {
    let c = this.peek();
    let got = "";
    switch (c) {
      case 0x7B: got = "an object"; break;
      case 0x5B: got = "an array"; break;
      case 0x22: got = "a string"; break;
      case 0x74: case 0x66: got = "a boolean"; break;
      case 0x2D: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34:
      case 0x35: case 0x36: case 0x37: case 0x38: case 0x39: got = "a number"; break;
      default: this.unexpected("looking for beginning of value"); return;
    }
    this.fail("want " + want + ", got " + got);
  }

  /** Enters an object ('{'); false (and an error) when there is none. */
  enterObject(): bool {
    if (this.peek() != 0x7B) {
      this.wrongType("an object");
      return false;
    }
    this.pos++;
    this.depth++;
    return true;
  }

  /** Enters an array ('['); false (and an error) when there is none. */
  enterArray(): bool {
    if (this.peek() != 0x5B) {
      this.wrongType("an array");
      return false;
    }
    this.pos++;
    this.depth++;
    return true;
  }

  /**
   * Moves to the n-th member of the object entered and reads its name (see
   * keyIs), or returns false after the closing brace or on an error.
   */
  nextMember(n: i32): bool {
    let c = this.peek();
    if (c == 0x7D) {
      this.pos++;
      this.depth--;
      return false;
    }
    if (n > 0) {
      if (c != 0x2C) {
        this.unexpected("after object key:value pair");
        return false;
      }
      this.pos++;
      c = this.peek();
    }
    if (c != 0x22) {
      this.unexpected("looking for beginning of object key string");
      return false;
    }
    let p = this.pos + 1;
    let end = this.end;
    while (true) {
      if (p + 8 <= end) {
        let m = special8(load<u64>(p)); // bytes of 0x80 and more are fine here
        if (m == 0) {
          p += 8;
          continue;
        }
        p += <usize>(ctz(m) >> 3);
        break;
      }
      if (p >= end) break;
      let b = <u32>load<u8>(p);
      if (b == 0x22 || b == 0x5C || b < 0x20) break;
      p++;
    }
    if (p < end && <u32>load<u8>(p) == 0x22) {
      let k = this.pos + 1;
      let n = p - k;
      this.keyPtr = k;
      this.keyLen = n;
      this.keyText = null;
      this.keyHash = n == 0 ? 0 : <u32>n | (<u32>load<u8>(k) << 8) | (<u32>load<u8>(p - 1) << 16) | (n > 1 ? <u32>load<u8>(k + 1) << 24 : 0);
      this.pos = p + 1;
    } else {
      let text = this.str();
      if (this.failed) return false;
      this.keyText = text;
      this.keyHash = keyCode(text);
    }
    if (this.peek() != 0x3A) {
      this.unexpected("after object key");
      return false;
    }
    this.pos++;
    return true;
  }

  /**
   * Reports whether the member name nextMember read is name (ASCII), whose
   * keyCode is code: the codes tell most names apart without comparing them.
   */
  // @ts-ignore: decorator
  @inline key(code: u32, name: string): bool {
    return this.keyHash == code && this.keyIs(name);
  }

  /** Reports whether the member name nextMember read is name (ASCII). */
  keyIs(name: string): bool {
    let text = this.keyText;
    if (text !== null) return text == name;
    let n = <usize>name.length;
    if (n != this.keyLen) return false;
    let k = this.keyPtr;
    let s = changetype<usize>(name);
    // After a match of keyCode, the first two units and the last are equal.
    for (let i: usize = 2; i < n - 1; i++) {
      if (<u32>load<u8>(k + i) != <u32>load<u16>(s + (i << 1))) return false;
    }
    return true;
  }

  /** Moves to the n-th element of the array entered, or returns false after ']'. */
  nextElement(n: i32): bool {
    let c = this.peek();
    if (c == 0x5D) {
      this.pos++;
      this.depth--;
      return false;
    }
    if (n > 0) {
      if (c != 0x2C) {
        this.unexpected("after array element");
        return false;
      }
      this.pos++;
    }
    return !this.failed;
  }

  /** Checks and skips any value. */
  skip(): void {
    this.peek();
    let p = scanValue<u8>(this.pos, this.end, this.depth);
    if (p == 0) {
      this.pos = scanErrorAt;
      this.unexpected("in JSON value");
      return;
    }
    this.pos = p;
  }

  /** Reads true or false; null reads as false. */
  boolean(): bool {
    let c = this.peek();
    if (c == 0x74) return this.word("true");
    if (c == 0x66) {
      this.word("false");
      return false;
    }
    if (c != 0x6E) this.wrongType("true or false");
    else this.word("null");
    return false;
  }

  /** Reads an integer literal (no fraction, no exponent) of i64's range; null reads as 0. */
  integer(): i64 {
    let c = this.peek();
    if (c == 0x6E) {
      this.word("null");
      return 0;
    }
    if (c != 0x2D && c - 0x30 >= 10) {
      this.wrongType("an integer");
      return 0;
    }
    let at = this.pos;
    let p = at;
    let neg = c == 0x2D;
    if (neg) p++;
    let u: u64 = 0;
    let ok = true;
    let start = p;
    while (p < this.end) {
      let d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
      if (u > 922337203685477580 || (u == 922337203685477580 && d > (neg ? 8 : 7))) ok = false;
      u = u * 10 + d;
      p++;
    }
    if (p == start || (p - start > 1 && <u32>load<u8>(start) == 0x30)) {
      this.pos = p;
      this.unexpected("in numeric literal");
      return 0;
    }
    if (p < this.end) {
      let n = <u32>load<u8>(p);
      if (n == 0x2E || (n | 0x20) == 0x65) ok = false;
    }
    if (!ok) {
      this.skipNumber(at);
      if (!this.failed) this.fail("want an integer", at);
      return 0;
    }
    this.pos = p;
    return neg ? -<i64>u : <i64>u;
  }

  private skipNumber(at: usize): void {
    this.pos = at;
    this.skip();
  }

  /** Reads a string; null reads as "". */
  str(): string {
    let c = this.peek();
    if (c == 0x22) return decodeString(this);
    if (c == 0x6E) this.word("null");
    else this.wrongType("a string");
    return "";
  }

  /**
   * Reads an object of strings into m. As in Go's encoding/json, its members
   * are added to m's (a key given again replaces the value), and null
   * empties m.
   */
  stringMap(m: StringMap): void {
    if (this.isNull()) {
      m.clear();
      return;
    }
    if (!this.enterObject()) return;
    for (let n = 0; this.nextMember(n); n++) {
      let key = this.keyText !== null ? this.keyText! : this.keyString();
      let value = this.str();
      if (this.failed) {
        this.inField(key);
        break;
      }
      m.set(key, value);
    }
  }

  // keyString makes a string of the raw (unescaped, but maybe not ASCII)
  // member name nextMember read.
  private keyString(): string {
    let save = this.pos;
    this.pos = this.keyPtr - 1;
    let s = decodeString(this);
    this.pos = save;
    return s;
  }
}

/**
 * A code for a member name, from its length and first, second and last
 * units, for Reader.key: equal names have equal codes.
 */
export function keyCode(name: string): u32 {
  let n = <u32>name.length;
  if (n == 0) return 0;
  return n | (<u32>name.charCodeAt(0) << 8) | (<u32>name.charCodeAt(n - 1) << 16) | (n > 1 ? <u32>name.charCodeAt(1) << 24 : 0);
}
