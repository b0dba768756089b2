/**
 * The copy worker thread's entry as plain JavaScript. Run from TypeScript sources (tsx), a worker
 * thread would otherwise load the TypeScript loader and compile its modules again in every
 * thread, which costs more CPU than a small preparation's copying. So copy-worker.ts and what it
 * imports are bundled once with esbuild (tsx's own compiler) into node_modules/.cache, at install
 * (`tsx activities/prepare/worker-bundle.ts`, from scripts/ensure-setup.cjs) or on first use.
 * The bundle's first line records a digest of every source it was built from, so an edited
 * source is never run from a stale bundle.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { z } from 'zod';

const debug = debuglog('prepare');
const ROOT = path.join(__dirname, '..', '..');
const ENTRY = path.join(__dirname, 'copy-worker.ts');
const BUNDLE = path.join(ROOT, 'node_modules', '.cache', 'aio-prepare', 'copy-worker.cjs');
const HEADER = '// copy-worker bundle, sources: ';

/** Source path (relative to the project root) → sha256 of its content. */
const BundleSourcesSchema = z.record(z.string(), z.string());

/** The part of esbuild's API used here; esbuild is tsx's dependency, resolved through tsx so that it is the compiler tsx runs. */
interface Esbuild {
  buildSync(options: {
    entryPoints: string[];
    absWorkingDir: string;
    bundle: true;
    platform: 'node';
    format: 'cjs';
    target: string;
    write: false;
    metafile: true;
    logLevel: 'silent';
  }): { outputFiles: { text: string }[]; metafile: { inputs: Record<string, unknown> } };
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function isCurrent(bundle: string): boolean {
  try {
    const text = fs.readFileSync(bundle, 'utf8');
    const line = text.slice(0, text.indexOf('\n'));
    if (!line.startsWith(HEADER)) return false;
    const sources = BundleSourcesSchema.parse(JSON.parse(line.slice(HEADER.length)));
    return Object.entries(sources).every(([rel, digest]) => sha256(path.join(ROOT, rel)) === digest);
  } catch {
    // Missing, unreadable, or a source that no longer exists: rebuild.
    return false;
  }
}

function build(bundle: string): void {
  // Loaded synchronously because the pool starts its threads in its constructor.
  const fromTsx = createRequire(require.resolve('tsx/package.json'));
  const esbuild = fromTsx('esbuild') as Esbuild;
  const out = esbuild.buildSync({ entryPoints: [ENTRY], absWorkingDir: ROOT, bundle: true, platform: 'node', format: 'cjs', target: `node${process.versions.node}`, write: false, metafile: true, logLevel: 'silent' });
  const code = out.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild produced no output');
  const sources = Object.fromEntries(Object.keys(out.metafile.inputs).map((rel) => [rel, sha256(path.join(ROOT, rel))]));
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  // Published atomically: another process may be starting workers from it.
  const tmp = `${bundle}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${HEADER}${JSON.stringify(sources)}\n${code}`);
  fs.renameSync(tmp, bundle);
}

/**
 * The path of a current plain-JavaScript bundle of the copy worker, built now when missing or
 * stale; null (with the reason in NODE_DEBUG=prepare) when it cannot be built, and the worker
 * then runs from its TypeScript source through tsx.
 */
export function copyWorkerBundle(bundle = BUNDLE): string | null {
  if (isCurrent(bundle)) return bundle;
  try {
    build(bundle);
    return bundle;
  } catch (e) {
    debug('cannot bundle the copy worker (%s); its threads start through tsx instead', (e as Error).message);
    return null;
  }
}

if (require.main === module) {
  const bundle = copyWorkerBundle();
  if (bundle) process.stdout.write(`[prepare] copy worker bundled at ${path.relative(process.cwd(), bundle)}\n`);
  else process.stderr.write('[prepare] could not bundle the copy worker (its threads will start through tsx; NODE_DEBUG=prepare says why)\n');
}
