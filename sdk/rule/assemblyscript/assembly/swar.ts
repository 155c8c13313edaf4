// Word-at-a-time tests: eight bytes, or four UTF-16 units, in one u64.

// @ts-ignore: decorator
@inline export const LANES8: u64 = 0x0101010101010101;
// @ts-ignore: decorator
@inline export const HIGH8: u64 = 0x8080808080808080;
// @ts-ignore: decorator
@inline export const LANES16: u64 = 0x0001000100010001;
// @ts-ignore: decorator
@inline export const HIGH16: u64 = 0x8000800080008000;

/**
 * Flags (sets the high bit of) each byte of w that is '"', '\\' or a control
 * character: the bytes a JSON string cannot hold as they are. The lowest
 * flagged byte is exact; those above it may not be.
 */
// @ts-ignore: decorator
@inline export function special8(w: u64): u64 {
  let x = w ^ (0x22 * LANES8);
  let y = w ^ (0x5C * LANES8);
  return (((w - 0x20 * LANES8) & ~w) | ((x - LANES8) & ~x) | ((y - LANES8) & ~y)) & HIGH8;
}

/** special8 for four UTF-16 units. */
// @ts-ignore: decorator
@inline export function special16(w: u64): u64 {
  let x = w ^ (0x22 * LANES16);
  let y = w ^ (0x5C * LANES16);
  return (((w - 0x20 * LANES16) & ~w) | ((x - LANES16) & ~x) | ((y - LANES16) & ~y)) & HIGH16;
}

/** Flags each byte of w that is '"' or '\\'. */
// @ts-ignore: decorator
@inline export function quoteOrBackslash8(w: u64): u64 {
  let x = w ^ (0x22 * LANES8);
  let y = w ^ (0x5C * LANES8);
  return (((x - LANES8) & ~x) | ((y - LANES8) & ~y)) & HIGH8;
}

/** Widens the low four bytes of w to four UTF-16 units. */
// @ts-ignore: decorator
@inline export function widen4(w: u64): u64 {
  w &= 0xFFFFFFFF;
  w = (w | (w << 16)) & 0x0000FFFF0000FFFF;
  return (w | (w << 8)) & 0x00FF00FF00FF00FF;
}

/** Narrows four UTF-16 units (each below 0x100) to four bytes. */
// @ts-ignore: decorator
@inline export function narrow4(w: u64): u32 {
  return <u32>((w & 0xFF) | ((w >> 8) & 0xFF00) | ((w >> 16) & 0xFF0000) | ((w >> 24) & 0xFF000000));
}
