/**
 * The copy worker thread's entry as plain JavaScript. Run from TypeScript sources (tsx), a worker
 * thread would otherwise load the TypeScript loader and compile its modules again in every
 * thread, which costs more CPU than a small preparation's copying. So copy-worker.ts and what it
 * imports are bundled once (bundling/esbuild-cache.ts) into node_modules/.cache, at install
 * (bundling/build.ts) or on first use.
 */
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { BUNDLE_CACHE_DIR, cachedBundle } from '../../bundling/esbuild-cache';

const debug = debuglog('prepare');
const BUNDLE = path.join(BUNDLE_CACHE_DIR, 'aio-prepare', 'copy-worker.cjs');

/**
 * The path of a current plain-JavaScript bundle of the copy worker, built now when missing or
 * stale; null (with the reason in NODE_DEBUG=prepare) when it cannot be built, and the worker
 * then runs from its TypeScript source through tsx.
 */
export function copyWorkerBundle(bundle = BUNDLE): string | null {
  try {
    return cachedBundle({ entry: path.join(__dirname, 'copy-worker.ts'), bundle, platform: 'node' });
  } catch (e) {
    debug('cannot bundle the copy worker (%s); its threads start through tsx instead', (e as Error).message);
    return null;
  }
}
