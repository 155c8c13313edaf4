// Text helpers a rule commonly needs, small enough not to pull in the
// standard library's general ones (toString takes a radix, and its tables
// add about 2 KB to a module).

/** Returns v in decimal. */
export function decimal(v: i64): string {
  let u: u64 = v < 0 ? <u64>(-v) : <u64>v;
  let n = v < 0 ? 2 : 1;
  for (let t = u; t >= 10; t /= 10) n++;
  let s = __new(<usize>n << 1, idof<string>());
  let d = s + (<usize>n << 1);
  do {
    d -= 2;
    store<u16>(d, 0x30 + <u32>(u % 10));
    u /= 10;
  } while (u != 0);
  if (v < 0) store<u16>(s, 0x2D);
  return changetype<string>(s);
}
