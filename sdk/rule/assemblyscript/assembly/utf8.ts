// UTF-16 (AssemblyScript strings) to UTF-8 (what crosses the ABI).

/**
 * Encodes at most max bytes of the len UTF-16 units at src into dst, never
 * cutting a character, and returns the bytes written. A lone surrogate
 * becomes U+FFFD.
 */
export function utf8Prefix(src: usize, len: i32, dst: usize, max: usize): usize {
  let end = src + (<usize>len << 1);
  let d = dst;
  let limit = dst + max;
  while (src < end) {
    let c = <u32>load<u16>(src);
    src += 2;
    if (c < 0x80) {
      if (d + 1 > limit) break;
      store<u8>(d, c);
      d += 1;
    } else if (c < 0x800) {
      if (d + 2 > limit) break;
      store<u8>(d, 0xC0 | (c >> 6));
      store<u8>(d, 0x80 | (c & 0x3F), 1);
      d += 2;
    } else {
      if (c - 0xD800 < 0x800) {
        let c2: u32 = src < end ? <u32>load<u16>(src) : 0;
        if (c < 0xDC00 && c2 - 0xDC00 < 0x400) {
          if (d + 4 > limit) break;
          src += 2;
          let cp = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
          store<u8>(d, 0xF0 | (cp >> 18));
          store<u8>(d, 0x80 | ((cp >> 12) & 0x3F), 1);
          store<u8>(d, 0x80 | ((cp >> 6) & 0x3F), 2);
          store<u8>(d, 0x80 | (cp & 0x3F), 3);
          d += 4;
          continue;
        }
        c = 0xFFFD;
      }
      if (d + 3 > limit) break;
      store<u8>(d, 0xE0 | (c >> 12));
      store<u8>(d, 0x80 | ((c >> 6) & 0x3F), 1);
      store<u8>(d, 0x80 | (c & 0x3F), 2);
      d += 3;
    }
  }
  return d - dst;
}

/**
 * Decodes the UTF-8 character at p, whose first byte c is 0x80 or more, as
 * Go's utf8.DecodeRune does: it returns the code point shifted left by 3,
 * or'ed with its length in bytes, or 0 when the bytes there (before limit)
 * are not valid UTF-8.
 */
// @ts-ignore: decorator
@inline export function decodeRune(p: usize, c: u32, limit: usize): u32 {
  let c1: u32 = p + 1 < limit ? <u32>load<u8>(p + 1) : 0;
  if (c >= 0xC2 && c <= 0xDF) {
    if ((c1 & 0xC0) != 0x80) return 0;
    return ((((c & 0x1F) << 6) | (c1 & 0x3F)) << 3) | 2;
  }
  let c2: u32 = p + 2 < limit ? <u32>load<u8>(p + 2) : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    // No overlong forms, no surrogates.
    let lo: u32 = c == 0xE0 ? 0xA0 : 0x80;
    let hi: u32 = c == 0xED ? 0x9F : 0xBF;
    if (c1 < lo || c1 > hi || (c2 & 0xC0) != 0x80) return 0;
    return ((((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F)) << 3) | 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    // No overlong forms, nothing past U+10FFFF.
    let lo: u32 = c == 0xF0 ? 0x90 : 0x80;
    let hi: u32 = c == 0xF4 ? 0x8F : 0xBF;
    let c3: u32 = p + 3 < limit ? <u32>load<u8>(p + 3) : 0;
    if (c1 < lo || c1 > hi || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return 0;
    return ((((c & 0x07) << 18) | ((c1 & 0x3F) << 12) | ((c2 & 0x3F) << 6) | (c3 & 0x3F)) << 3) | 4;
  }
  return 0;
}
