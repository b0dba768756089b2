import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { wasm, type KernelModule } from './wasm';

/**
 * Where the multi-buffer MD5 kernel (md5x4.as, AssemblyScript) is compiled to, and how it is
 * loaded. The binary is built at install (build.ts) into node_modules/.cache, never committed;
 * its name carries a digest of the source and the compiler flags, so a stale build is never used.
 */

export const KERNEL_SOURCE = path.join(__dirname, 'md5x4.as');
/** Four 4 MiB lane buffers plus padding room, below them the digests, words and constants: 261 pages of 64 KiB. */
export const ASC_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--initialMemory', '261', '--maximumMemory', '261'] as const;
const CACHE_DIR = path.join(__dirname, '..', '..', '..', 'node_modules', '.cache', 'aio-md5');
export const debug = debuglog('prepare');

function compilerVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(require.resolve('assemblyscript/package.json'), 'utf8')) as { version?: unknown };
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

/** The path the kernel for the current source, compiler and flags is (or would be) built at. */
export function kernelFile(): string {
  const digest = createHash('sha256').update(fs.readFileSync(KERNEL_SOURCE)).update(compilerVersion()).update(ASC_FLAGS.join(' ')).digest('hex').slice(0, 16);
  return path.join(CACHE_DIR, `md5x4-${digest}.wasm`);
}

let loaded: KernelModule | null | undefined;

/** The compiled kernel, or null when it has not been built or this runtime lacks WebAssembly SIMD (callers then use node:crypto). */
export function loadKernelModule(): KernelModule | null {
  if (loaded !== undefined) return loaded;
  const file = kernelFile();
  try {
    loaded = new wasm.Module(fs.readFileSync(file));
    debug('multi-buffer MD5 kernel loaded from %s', file);
  } catch (e) {
    loaded = null;
    debug('multi-buffer MD5 kernel unavailable (%s); hashing with node:crypto instead. Build it with: npx tsx activities/prepare/md5/build.ts', (e as Error).message);
  }
  return loaded;
}
