/**
 * Multi-buffer MD5 (AssemblyScript, WebAssembly SIMD): four independent messages are hashed at
 * once, one per 32-bit lane of a v128. The manifest needs the MD5 of every block of at most 4 MiB
 * on its own, so four blocks (of one file or of four files) make one call.
 *
 * Memory layout (fixed, no allocator): four lane buffers of LANE_CAPACITY bytes, each followed
 * by room for the MD5 padding, and the four 16-byte digests at DIGESTS. The host reads data
 * straight into the lane buffers, writes it to the drive from there and then calls hash4, so
 * the bytes are never copied.
 */

const DIGESTS: usize = 1024;
const LANE_BASE: usize = 65536;
const LANE_CAPACITY: i32 = 4 * 1024 * 1024;
// The padding (0x80, zeros, 64-bit length) needs at most 72 bytes after the data; a whole page keeps lanes aligned.
const LANE_STRIDE: usize = <usize>LANE_CAPACITY + 65536;

export function laneOffset(lane: i32): usize {
  return LANE_BASE + <usize>lane * LANE_STRIDE;
}

export function laneCapacity(): i32 {
  return LANE_CAPACITY;
}

export function digestOffset(): usize {
  return DIGESTS;
}

/** Writes the MD5 padding after `len` bytes of a lane; returns the padded length in 64-byte blocks. */
function pad(base: usize, len: i32): i32 {
  if (len < 0) return 0;
  const blocks = ((len + 8) >> 6) + 1;
  const end = base + (<usize>blocks << 6);
  let p = base + <usize>len;
  store<u8>(p, 0x80);
  p++;
  while (p < end - 8) {
    store<u8>(p, 0);
    p++;
  }
  store<u64>(end - 8, <u64>len << 3);
  return blocks;
}

@inline function rotl(x: v128, s: i32): v128 {
  return v128.or(i32x4.shl(x, s), i32x4.shr_u(x, 32 - s));
}

@inline function ff(a: v128, b: v128, c: v128, d: v128, x: v128, s: i32, k: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, v128.bitselect(c, d, b)), i32x4.add(x, i32x4.splat(k))), s), b);
}

@inline function gg(a: v128, b: v128, c: v128, d: v128, x: v128, s: i32, k: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, v128.bitselect(b, c, d)), i32x4.add(x, i32x4.splat(k))), s), b);
}

@inline function hh(a: v128, b: v128, c: v128, d: v128, x: v128, s: i32, k: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, v128.xor(v128.xor(b, c), d)), i32x4.add(x, i32x4.splat(k))), s), b);
}

@inline function ii(a: v128, b: v128, c: v128, d: v128, x: v128, s: i32, k: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, v128.xor(c, v128.or(b, v128.not(d)))), i32x4.add(x, i32x4.splat(k))), s), b);
}

/**
 * Hashes lane i's first len_i bytes (len_i = -1: lane unused) and stores the four digests at
 * DIGESTS. Lanes of different lengths are masked: a lane whose blocks are done keeps its state.
 */
export function hash4(len0: i32, len1: i32, len2: i32, len3: i32): void {
  const base0 = laneOffset(0);
  const base1 = laneOffset(1);
  const base2 = laneOffset(2);
  const base3 = laneOffset(3);
  const n0 = pad(base0, len0);
  const n1 = pad(base1, len1);
  const n2 = pad(base2, len2);
  const n3 = pad(base3, len3);
  let most = n0;
  if (n1 > most) most = n1;
  if (n2 > most) most = n2;
  if (n3 > most) most = n3;
  const counts = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(n0), 1, n1), 2, n2), 3, n3);

  let a = i32x4.splat(0x67452301);
  let b = i32x4.splat(<i32>0xefcdab89);
  let c = i32x4.splat(<i32>0x98badcfe);
  let d = i32x4.splat(0x10325476);

  for (let blk = 0; blk < most; blk++) {
    // A finished lane re-reads its last block (always inside its buffer); the mask discards the result.
    const off = <usize>blk << 6;
    const p0 = base0 + (blk < n0 ? off : 0);
    const p1 = base1 + (blk < n1 ? off : 0);
    const p2 = base2 + (blk < n2 ? off : 0);
    const p3 = base3 + (blk < n3 ? off : 0);
    const active = i32x4.gt_s(counts, i32x4.splat(blk));

    // Transpose 4×4 words so that vector xk holds word k of every lane.
    let r0 = v128.load(p0), r1 = v128.load(p1), r2 = v128.load(p2), r3 = v128.load(p3);
    let t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    let t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    const x0 = i32x4.shuffle(t0, t1, 0, 1, 4, 5), x1 = i32x4.shuffle(t0, t1, 2, 3, 6, 7);
    const x2 = i32x4.shuffle(t2, t3, 0, 1, 4, 5), x3 = i32x4.shuffle(t2, t3, 2, 3, 6, 7);
    r0 = v128.load(p0, 16); r1 = v128.load(p1, 16); r2 = v128.load(p2, 16); r3 = v128.load(p3, 16);
    t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5); t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7); t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    const x4 = i32x4.shuffle(t0, t1, 0, 1, 4, 5), x5 = i32x4.shuffle(t0, t1, 2, 3, 6, 7);
    const x6 = i32x4.shuffle(t2, t3, 0, 1, 4, 5), x7 = i32x4.shuffle(t2, t3, 2, 3, 6, 7);
    r0 = v128.load(p0, 32); r1 = v128.load(p1, 32); r2 = v128.load(p2, 32); r3 = v128.load(p3, 32);
    t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5); t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7); t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    const x8 = i32x4.shuffle(t0, t1, 0, 1, 4, 5), x9 = i32x4.shuffle(t0, t1, 2, 3, 6, 7);
    const x10 = i32x4.shuffle(t2, t3, 0, 1, 4, 5), x11 = i32x4.shuffle(t2, t3, 2, 3, 6, 7);
    r0 = v128.load(p0, 48); r1 = v128.load(p1, 48); r2 = v128.load(p2, 48); r3 = v128.load(p3, 48);
    t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5); t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7); t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    const x12 = i32x4.shuffle(t0, t1, 0, 1, 4, 5), x13 = i32x4.shuffle(t0, t1, 2, 3, 6, 7);
    const x14 = i32x4.shuffle(t2, t3, 0, 1, 4, 5), x15 = i32x4.shuffle(t2, t3, 2, 3, 6, 7);

    const aa = a, bb = b, cc = c, dd = d;

    a = ff(a, b, c, d, x0, 7, <i32>0xd76aa478);
    d = ff(d, a, b, c, x1, 12, <i32>0xe8c7b756);
    c = ff(c, d, a, b, x2, 17, 0x242070db);
    b = ff(b, c, d, a, x3, 22, <i32>0xc1bdceee);
    a = ff(a, b, c, d, x4, 7, <i32>0xf57c0faf);
    d = ff(d, a, b, c, x5, 12, 0x4787c62a);
    c = ff(c, d, a, b, x6, 17, <i32>0xa8304613);
    b = ff(b, c, d, a, x7, 22, <i32>0xfd469501);
    a = ff(a, b, c, d, x8, 7, 0x698098d8);
    d = ff(d, a, b, c, x9, 12, <i32>0x8b44f7af);
    c = ff(c, d, a, b, x10, 17, <i32>0xffff5bb1);
    b = ff(b, c, d, a, x11, 22, <i32>0x895cd7be);
    a = ff(a, b, c, d, x12, 7, 0x6b901122);
    d = ff(d, a, b, c, x13, 12, <i32>0xfd987193);
    c = ff(c, d, a, b, x14, 17, <i32>0xa679438e);
    b = ff(b, c, d, a, x15, 22, 0x49b40821);

    a = gg(a, b, c, d, x1, 5, <i32>0xf61e2562);
    d = gg(d, a, b, c, x6, 9, <i32>0xc040b340);
    c = gg(c, d, a, b, x11, 14, 0x265e5a51);
    b = gg(b, c, d, a, x0, 20, <i32>0xe9b6c7aa);
    a = gg(a, b, c, d, x5, 5, <i32>0xd62f105d);
    d = gg(d, a, b, c, x10, 9, 0x02441453);
    c = gg(c, d, a, b, x15, 14, <i32>0xd8a1e681);
    b = gg(b, c, d, a, x4, 20, <i32>0xe7d3fbc8);
    a = gg(a, b, c, d, x9, 5, 0x21e1cde6);
    d = gg(d, a, b, c, x14, 9, <i32>0xc33707d6);
    c = gg(c, d, a, b, x3, 14, <i32>0xf4d50d87);
    b = gg(b, c, d, a, x8, 20, 0x455a14ed);
    a = gg(a, b, c, d, x13, 5, <i32>0xa9e3e905);
    d = gg(d, a, b, c, x2, 9, <i32>0xfcefa3f8);
    c = gg(c, d, a, b, x7, 14, 0x676f02d9);
    b = gg(b, c, d, a, x12, 20, <i32>0x8d2a4c8a);

    a = hh(a, b, c, d, x5, 4, <i32>0xfffa3942);
    d = hh(d, a, b, c, x8, 11, <i32>0x8771f681);
    c = hh(c, d, a, b, x11, 16, 0x6d9d6122);
    b = hh(b, c, d, a, x14, 23, <i32>0xfde5380c);
    a = hh(a, b, c, d, x1, 4, <i32>0xa4beea44);
    d = hh(d, a, b, c, x4, 11, 0x4bdecfa9);
    c = hh(c, d, a, b, x7, 16, <i32>0xf6bb4b60);
    b = hh(b, c, d, a, x10, 23, <i32>0xbebfbc70);
    a = hh(a, b, c, d, x13, 4, 0x289b7ec6);
    d = hh(d, a, b, c, x0, 11, <i32>0xeaa127fa);
    c = hh(c, d, a, b, x3, 16, <i32>0xd4ef3085);
    b = hh(b, c, d, a, x6, 23, 0x04881d05);
    a = hh(a, b, c, d, x9, 4, <i32>0xd9d4d039);
    d = hh(d, a, b, c, x12, 11, <i32>0xe6db99e5);
    c = hh(c, d, a, b, x15, 16, 0x1fa27cf8);
    b = hh(b, c, d, a, x2, 23, <i32>0xc4ac5665);

    a = ii(a, b, c, d, x0, 6, <i32>0xf4292244);
    d = ii(d, a, b, c, x7, 10, 0x432aff97);
    c = ii(c, d, a, b, x14, 15, <i32>0xab9423a7);
    b = ii(b, c, d, a, x5, 21, <i32>0xfc93a039);
    a = ii(a, b, c, d, x12, 6, 0x655b59c3);
    d = ii(d, a, b, c, x3, 10, <i32>0x8f0ccc92);
    c = ii(c, d, a, b, x10, 15, <i32>0xffeff47d);
    b = ii(b, c, d, a, x1, 21, <i32>0x85845dd1);
    a = ii(a, b, c, d, x8, 6, 0x6fa87e4f);
    d = ii(d, a, b, c, x15, 10, <i32>0xfe2ce6e0);
    c = ii(c, d, a, b, x6, 15, <i32>0xa3014314);
    b = ii(b, c, d, a, x13, 21, 0x4e0811a1);
    a = ii(a, b, c, d, x4, 6, <i32>0xf7537e82);
    d = ii(d, a, b, c, x11, 10, <i32>0xbd3af235);
    c = ii(c, d, a, b, x2, 15, 0x2ad7d2bb);
    b = ii(b, c, d, a, x9, 21, <i32>0xeb86d391);

    a = v128.bitselect(i32x4.add(a, aa), aa, active);
    b = v128.bitselect(i32x4.add(b, bb), bb, active);
    c = v128.bitselect(i32x4.add(c, cc), cc, active);
    d = v128.bitselect(i32x4.add(d, dd), dd, active);
  }

  // Digest of lane i = words a_i, b_i, c_i, d_i (little-endian): transpose back and store.
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5), t1 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(a, b, 2, 6, 3, 7), t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(DIGESTS, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(DIGESTS, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
  v128.store(DIGESTS, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
  v128.store(DIGESTS, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
}
