import { createHash } from 'node:crypto';
import { wasm, type KernelModule } from './wasm';

/**
 * Hashes up to four independent blocks at once. The caller reads data straight into `lanes[i]`
 * (and writes it to the drive from there), then asks for the MD5 of the first `lengths[i]` bytes
 * of each lane. Hashing may overwrite the bytes after a lane's length (MD5 padding).
 */
export interface BlockHasher {
  readonly kind: 'simd' | 'node:crypto';
  readonly lanes: readonly Buffer[];
  /** Whether the lanes start on page boundaries (so they can be written with O_DIRECT). */
  readonly pageAligned: boolean;
  /** Upper-case hex MD5 of lanes[i][0, lengths[i]) for each given length (at most four). */
  hash(lengths: readonly number[]): string[];
}

export const LANES = 4;
export const LANE_CAPACITY = 4 * 1024 * 1024;

interface KernelExports {
  memory: { buffer: ArrayBuffer };
  laneOffset(lane: number): number;
  laneCapacity(): number;
  digestOffset(): number;
  hash4(len0: number, len1: number, len2: number, len3: number): void;
}

function checkLengths(lengths: readonly number[]): void {
  if (lengths.length > LANES) throw new RangeError(`at most ${LANES} blocks per call (got ${lengths.length})`);
  for (const n of lengths) if (!Number.isInteger(n) || n < 0 || n > LANE_CAPACITY) throw new RangeError(`block length ${n} is outside 0..${LANE_CAPACITY}`);
}

class SimdBlockHasher implements BlockHasher {
  readonly kind = 'simd' as const;
  // A WebAssembly memory is page-aligned, and the kernel places its lanes at multiples of 64 KiB in it.
  readonly pageAligned = true;
  readonly lanes: readonly Buffer[];
  private readonly digests: Buffer;

  constructor(private readonly kernel: KernelExports) {
    if (kernel.laneCapacity() !== LANE_CAPACITY) throw new Error('MD5 kernel lane capacity mismatch');
    // The kernel's memory never grows, so these views stay valid.
    const buf = kernel.memory.buffer;
    this.lanes = Array.from({ length: LANES }, (_, i) => Buffer.from(buf, kernel.laneOffset(i), LANE_CAPACITY));
    this.digests = Buffer.from(buf, kernel.digestOffset(), 16 * LANES);
  }

  hash(lengths: readonly number[]): string[] {
    checkLengths(lengths);
    const l = (i: number) => lengths[i] ?? -1;
    this.kernel.hash4(l(0), l(1), l(2), l(3));
    return lengths.map((_, i) => this.digests.toString('hex', 16 * i, 16 * i + 16).toUpperCase());
  }
}

class CryptoBlockHasher implements BlockHasher {
  readonly kind = 'node:crypto' as const;
  readonly pageAligned = false;
  readonly lanes = Array.from({ length: LANES }, () => Buffer.allocUnsafe(LANE_CAPACITY));

  hash(lengths: readonly number[]): string[] {
    checkLengths(lengths);
    return lengths.map((n, i) => createHash('md5').update((this.lanes[i] as Buffer).subarray(0, n)).digest('hex').toUpperCase());
  }
}

/** A hasher over the compiled SIMD kernel, or over node:crypto when `kernel` is null. */
export function createBlockHasher(kernel: KernelModule | null): BlockHasher {
  if (!kernel) return new CryptoBlockHasher();
  const instance = new wasm.Instance(kernel, {
    env: {
      abort() {
        throw new Error('MD5 kernel aborted');
      },
    },
  });
  return new SimdBlockHasher(instance.exports as unknown as KernelExports);
}
