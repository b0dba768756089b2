/**
 * Plain-JavaScript bundles built at run time from the TypeScript sources, cached in node_modules/.cache: the copy
 * worker's thread entry and the workflow sandbox's shared modules. esbuild is tsx's own compiler (resolved through
 * tsx, so it is the one tsx runs). A bundle's first line records a digest of every source it was built from, so an
 * edited source is never run from a stale bundle.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { z } from 'zod';

export const PROJECT_ROOT = path.join(__dirname, '..');
export const BUNDLE_CACHE_DIR = path.join(PROJECT_ROOT, 'node_modules', '.cache');

/** Source path (relative to the project root) → sha256 of its content. */
const BundleSourcesSchema = z.record(z.string(), z.string());

export interface BundleSpec {
  /** The entry module (absolute path). */
  entry: string;
  /** Where the bundle is written (absolute path). */
  bundle: string;
  /** `node`: a worker thread's entry; `browser`: code for Temporal's workflow sandbox, which has no Node built-ins. */
  platform: 'node' | 'browser';
  /** With `iife`, the entry's exports are the value of this top-level variable, not the module's exports. */
  globalName?: string;
  /** Code appended after the bundle. */
  footer?: string;
}

/** The part of esbuild's API used here. */
interface Esbuild {
  buildSync(options: {
    entryPoints: string[];
    absWorkingDir: string;
    bundle: true;
    platform: 'node' | 'browser';
    format: 'cjs' | 'iife';
    globalName?: string;
    footer?: { js: string };
    target: string;
    write: false;
    metafile: true;
    logLevel: 'silent';
  }): { outputFiles: { text: string }[]; metafile: { inputs: Record<string, unknown> } };
}

const HEADER = '// bundle built from: ';
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function isCurrent(bundle: string): boolean {
  try {
    const text = fs.readFileSync(bundle, 'utf8');
    const line = text.slice(0, text.indexOf('\n'));
    if (!line.startsWith(HEADER)) return false;
    const sources = BundleSourcesSchema.parse(JSON.parse(line.slice(HEADER.length)));
    return Object.entries(sources).every(([rel, digest]) => sha256(path.join(PROJECT_ROOT, rel)) === digest);
  } catch {
    // Missing, unreadable, or a source that no longer exists: rebuild.
    return false;
  }
}

/** The bundle's path, built now (synchronously) when missing or stale; throws when esbuild cannot build it. */
export function cachedBundle(spec: BundleSpec): string {
  if (isCurrent(spec.bundle)) return spec.bundle;
  const fromTsx = createRequire(require.resolve('tsx/package.json'));
  const esbuild = fromTsx('esbuild') as Esbuild;
  const out = esbuild.buildSync({
    entryPoints: [spec.entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: spec.platform,
    format: spec.globalName ? 'iife' : 'cjs',
    ...(spec.globalName ? { globalName: spec.globalName } : {}),
    ...(spec.footer ? { footer: { js: spec.footer } } : {}),
    target: spec.platform === 'node' ? `node${process.versions.node}` : 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild produced no output');
  const sources = Object.fromEntries(Object.keys(out.metafile.inputs).map((rel) => [rel, sha256(path.join(PROJECT_ROOT, rel))]));
  fs.mkdirSync(path.dirname(spec.bundle), { recursive: true });
  // Published atomically: another process may be loading it.
  const tmp = `${spec.bundle}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${HEADER}${JSON.stringify(sources)}\n${code}`);
  fs.renameSync(tmp, spec.bundle);
  return spec.bundle;
}
