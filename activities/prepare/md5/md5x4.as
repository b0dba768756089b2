/**
 * Multi-buffer MD5 (AssemblyScript, WebAssembly SIMD): four independent messages are hashed at
 * once, one per 32-bit lane of a v128. The manifest needs the MD5 of every block of at most 4 MiB
 * on its own, so four blocks (of one file or of four files) make one call.
 *
 * A second vector chain interleaved in the same loop (eight lanes) was measured no faster: V8's
 * code for it keeps more vectors live than x64 has registers and spills on every step.
 *
 * Memory layout (fixed, no allocator): four lane buffers of LANE_CAPACITY bytes, each followed
 * by room for the MD5 padding; the four 16-byte digests at DIGESTS; the transposed message words
 * of the current block at WORDS; the round constants (static data, below DIGESTS). The host reads
 * data straight into the lane buffers, writes it to the drive from there and then calls hash4,
 * so the bytes are never copied.
 */

const DIGESTS: usize = 16384;
const WORDS: usize = 32768;
const LANE_BASE: usize = 65536;
const LANE_CAPACITY: i32 = 4 * 1024 * 1024;
// The padding (0x80, zeros, 64-bit length) needs at most 72 bytes after the data; a whole page keeps lanes aligned.
const LANE_STRIDE: usize = <usize>LANE_CAPACITY + 65536;
/** MD5's 64 round constants (RFC 1321), each loaded splatted into a vector. */
const K: usize = memory.data<u32>([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

export function laneOffset(lane: i32): usize {
  return LANE_BASE + <usize>lane * LANE_STRIDE;
}

export function laneCapacity(): i32 {
  return LANE_CAPACITY;
}

export function digestOffset(): usize {
  return DIGESTS;
}

/** Writes the MD5 padding after `len` bytes of a lane; returns the padded length in 64-byte blocks (0 for an unused lane, len = -1). */
function pad(lane: i32, len: i32): i32 {
  if (len < 0) return 0;
  const base = laneOffset(lane);
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

// Each step is a' = b + rotl(a + x + k + F(b, c, d), s). The newest word is b, so a + x + k and every
// part of F that does not involve b are summed first, off the dependency chain (in G, whose two
// terms have no bits in common, + stands for |); this shortens the chain from 7 to 5 or 6 operations.

@inline function ff(a: v128, b: v128, c: v128, d: v128, x: v128, k: v128, s: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, i32x4.add(x, k)), v128.xor(d, v128.and(b, v128.xor(c, d)))), s), b);
}

@inline function gg(a: v128, b: v128, c: v128, d: v128, x: v128, k: v128, s: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(i32x4.add(a, i32x4.add(x, k)), v128.andnot(c, d)), v128.and(b, d)), s), b);
}

@inline function hh(a: v128, b: v128, c: v128, d: v128, x: v128, k: v128, s: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, i32x4.add(x, k)), v128.xor(b, v128.xor(c, d))), s), b);
}

@inline function ii(a: v128, b: v128, c: v128, d: v128, x: v128, k: v128, s: i32): v128 {
  return i32x4.add(rotl(i32x4.add(i32x4.add(a, i32x4.add(x, k)), v128.xor(c, v128.or(b, v128.not(d)))), s), b);
}

/** Stores the transposed words of four lanes' 64-byte blocks: the vector at dst + 16k holds word k of every lane. */
@inline function transpose(p0: usize, p1: usize, p2: usize, p3: usize, dst: usize): void {
  for (let q: usize = 0; q < 64; q += 16) {
    const r0 = v128.load(p0 + q), r1 = v128.load(p1 + q), r2 = v128.load(p2 + q), r3 = v128.load(p3 + q);
    const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    v128.store(dst + (q << 2), i32x4.shuffle(t0, t1, 0, 1, 4, 5));
    v128.store(dst + (q << 2), i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
    v128.store(dst + (q << 2), i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
    v128.store(dst + (q << 2), i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
  }
}

/** Digest of lane i = words a_i, b_i, c_i, d_i (little-endian): transpose back and store four digests at dst. */
@inline function storeDigests(a: v128, b: v128, c: v128, d: v128, dst: usize): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5), t1 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(a, b, 2, 6, 3, 7), t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
  v128.store(dst, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
  v128.store(dst, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
}

@inline function counts4(n0: i32, n1: i32, n2: i32, n3: i32): v128 {
  return i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(n0), 1, n1), 2, n2), 3, n3);
}

/** Where a lane of `n` padded blocks reads block `blk`: a finished lane re-reads its last block (always inside its buffer); a mask discards the result. */
@inline function blockAt(lane: i32, n: i32, blk: i32): usize {
  return laneOffset(lane) + (blk < n ? <usize>blk << 6 : 0);
}

@inline function max4(n0: i32, n1: i32, n2: i32, n3: i32): i32 {
  return max(max(n0, n1), max(n2, n3));
}

/**
 * Hashes lane i's first len_i bytes (len_i = -1: lane unused) and stores the four digests at
 * DIGESTS. Lanes of different lengths are masked: a lane whose blocks are done keeps its state.
 */
export function hash4(len0: i32, len1: i32, len2: i32, len3: i32): void {
  const n0 = pad(0, len0), n1 = pad(1, len1), n2 = pad(2, len2), n3 = pad(3, len3);
  const counts = counts4(n0, n1, n2, n3);
  const most = max4(n0, n1, n2, n3);
  let a0 = i32x4.splat(0x67452301), b0 = i32x4.splat(<i32>0xefcdab89), c0 = i32x4.splat(<i32>0x98badcfe), d0 = i32x4.splat(0x10325476);

  for (let blk = 0; blk < most; blk++) {
    transpose(blockAt(0, n0, blk), blockAt(1, n1, blk), blockAt(2, n2, blk), blockAt(3, n3, blk), WORDS);
    const aa0 = a0, bb0 = b0, cc0 = c0, dd0 = d0;

    a0 = ff(a0, b0, c0, d0, v128.load(WORDS + 0), v128.load32_splat(K + 0), 7);
    d0 = ff(d0, a0, b0, c0, v128.load(WORDS + 16), v128.load32_splat(K + 4), 12);
    c0 = ff(c0, d0, a0, b0, v128.load(WORDS + 32), v128.load32_splat(K + 8), 17);
    b0 = ff(b0, c0, d0, a0, v128.load(WORDS + 48), v128.load32_splat(K + 12), 22);
    a0 = ff(a0, b0, c0, d0, v128.load(WORDS + 64), v128.load32_splat(K + 16), 7);
    d0 = ff(d0, a0, b0, c0, v128.load(WORDS + 80), v128.load32_splat(K + 20), 12);
    c0 = ff(c0, d0, a0, b0, v128.load(WORDS + 96), v128.load32_splat(K + 24), 17);
    b0 = ff(b0, c0, d0, a0, v128.load(WORDS + 112), v128.load32_splat(K + 28), 22);
    a0 = ff(a0, b0, c0, d0, v128.load(WORDS + 128), v128.load32_splat(K + 32), 7);
    d0 = ff(d0, a0, b0, c0, v128.load(WORDS + 144), v128.load32_splat(K + 36), 12);
    c0 = ff(c0, d0, a0, b0, v128.load(WORDS + 160), v128.load32_splat(K + 40), 17);
    b0 = ff(b0, c0, d0, a0, v128.load(WORDS + 176), v128.load32_splat(K + 44), 22);
    a0 = ff(a0, b0, c0, d0, v128.load(WORDS + 192), v128.load32_splat(K + 48), 7);
    d0 = ff(d0, a0, b0, c0, v128.load(WORDS + 208), v128.load32_splat(K + 52), 12);
    c0 = ff(c0, d0, a0, b0, v128.load(WORDS + 224), v128.load32_splat(K + 56), 17);
    b0 = ff(b0, c0, d0, a0, v128.load(WORDS + 240), v128.load32_splat(K + 60), 22);
    a0 = gg(a0, b0, c0, d0, v128.load(WORDS + 16), v128.load32_splat(K + 64), 5);
    d0 = gg(d0, a0, b0, c0, v128.load(WORDS + 96), v128.load32_splat(K + 68), 9);
    c0 = gg(c0, d0, a0, b0, v128.load(WORDS + 176), v128.load32_splat(K + 72), 14);
    b0 = gg(b0, c0, d0, a0, v128.load(WORDS + 0), v128.load32_splat(K + 76), 20);
    a0 = gg(a0, b0, c0, d0, v128.load(WORDS + 80), v128.load32_splat(K + 80), 5);
    d0 = gg(d0, a0, b0, c0, v128.load(WORDS + 160), v128.load32_splat(K + 84), 9);
    c0 = gg(c0, d0, a0, b0, v128.load(WORDS + 240), v128.load32_splat(K + 88), 14);
    b0 = gg(b0, c0, d0, a0, v128.load(WORDS + 64), v128.load32_splat(K + 92), 20);
    a0 = gg(a0, b0, c0, d0, v128.load(WORDS + 144), v128.load32_splat(K + 96), 5);
    d0 = gg(d0, a0, b0, c0, v128.load(WORDS + 224), v128.load32_splat(K + 100), 9);
    c0 = gg(c0, d0, a0, b0, v128.load(WORDS + 48), v128.load32_splat(K + 104), 14);
    b0 = gg(b0, c0, d0, a0, v128.load(WORDS + 128), v128.load32_splat(K + 108), 20);
    a0 = gg(a0, b0, c0, d0, v128.load(WORDS + 208), v128.load32_splat(K + 112), 5);
    d0 = gg(d0, a0, b0, c0, v128.load(WORDS + 32), v128.load32_splat(K + 116), 9);
    c0 = gg(c0, d0, a0, b0, v128.load(WORDS + 112), v128.load32_splat(K + 120), 14);
    b0 = gg(b0, c0, d0, a0, v128.load(WORDS + 192), v128.load32_splat(K + 124), 20);
    a0 = hh(a0, b0, c0, d0, v128.load(WORDS + 80), v128.load32_splat(K + 128), 4);
    d0 = hh(d0, a0, b0, c0, v128.load(WORDS + 128), v128.load32_splat(K + 132), 11);
    c0 = hh(c0, d0, a0, b0, v128.load(WORDS + 176), v128.load32_splat(K + 136), 16);
    b0 = hh(b0, c0, d0, a0, v128.load(WORDS + 224), v128.load32_splat(K + 140), 23);
    a0 = hh(a0, b0, c0, d0, v128.load(WORDS + 16), v128.load32_splat(K + 144), 4);
    d0 = hh(d0, a0, b0, c0, v128.load(WORDS + 64), v128.load32_splat(K + 148), 11);
    c0 = hh(c0, d0, a0, b0, v128.load(WORDS + 112), v128.load32_splat(K + 152), 16);
    b0 = hh(b0, c0, d0, a0, v128.load(WORDS + 160), v128.load32_splat(K + 156), 23);
    a0 = hh(a0, b0, c0, d0, v128.load(WORDS + 208), v128.load32_splat(K + 160), 4);
    d0 = hh(d0, a0, b0, c0, v128.load(WORDS + 0), v128.load32_splat(K + 164), 11);
    c0 = hh(c0, d0, a0, b0, v128.load(WORDS + 48), v128.load32_splat(K + 168), 16);
    b0 = hh(b0, c0, d0, a0, v128.load(WORDS + 96), v128.load32_splat(K + 172), 23);
    a0 = hh(a0, b0, c0, d0, v128.load(WORDS + 144), v128.load32_splat(K + 176), 4);
    d0 = hh(d0, a0, b0, c0, v128.load(WORDS + 192), v128.load32_splat(K + 180), 11);
    c0 = hh(c0, d0, a0, b0, v128.load(WORDS + 240), v128.load32_splat(K + 184), 16);
    b0 = hh(b0, c0, d0, a0, v128.load(WORDS + 32), v128.load32_splat(K + 188), 23);
    a0 = ii(a0, b0, c0, d0, v128.load(WORDS + 0), v128.load32_splat(K + 192), 6);
    d0 = ii(d0, a0, b0, c0, v128.load(WORDS + 112), v128.load32_splat(K + 196), 10);
    c0 = ii(c0, d0, a0, b0, v128.load(WORDS + 224), v128.load32_splat(K + 200), 15);
    b0 = ii(b0, c0, d0, a0, v128.load(WORDS + 80), v128.load32_splat(K + 204), 21);
    a0 = ii(a0, b0, c0, d0, v128.load(WORDS + 192), v128.load32_splat(K + 208), 6);
    d0 = ii(d0, a0, b0, c0, v128.load(WORDS + 48), v128.load32_splat(K + 212), 10);
    c0 = ii(c0, d0, a0, b0, v128.load(WORDS + 160), v128.load32_splat(K + 216), 15);
    b0 = ii(b0, c0, d0, a0, v128.load(WORDS + 16), v128.load32_splat(K + 220), 21);
    a0 = ii(a0, b0, c0, d0, v128.load(WORDS + 128), v128.load32_splat(K + 224), 6);
    d0 = ii(d0, a0, b0, c0, v128.load(WORDS + 240), v128.load32_splat(K + 228), 10);
    c0 = ii(c0, d0, a0, b0, v128.load(WORDS + 96), v128.load32_splat(K + 232), 15);
    b0 = ii(b0, c0, d0, a0, v128.load(WORDS + 208), v128.load32_splat(K + 236), 21);
    a0 = ii(a0, b0, c0, d0, v128.load(WORDS + 64), v128.load32_splat(K + 240), 6);
    d0 = ii(d0, a0, b0, c0, v128.load(WORDS + 176), v128.load32_splat(K + 244), 10);
    c0 = ii(c0, d0, a0, b0, v128.load(WORDS + 32), v128.load32_splat(K + 248), 15);
    b0 = ii(b0, c0, d0, a0, v128.load(WORDS + 144), v128.load32_splat(K + 252), 21);
    const active = i32x4.gt_s(counts, i32x4.splat(blk));
    a0 = v128.bitselect(i32x4.add(a0, aa0), aa0, active);
    b0 = v128.bitselect(i32x4.add(b0, bb0), bb0, active);
    c0 = v128.bitselect(i32x4.add(c0, cc0), cc0, active);
    d0 = v128.bitselect(i32x4.add(d0, dd0), dd0, active);
  }
  storeDigests(a0, b0, c0, d0, DIGESTS);
}
