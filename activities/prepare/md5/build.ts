/**
 * Compiles the multi-buffer MD5 kernel (md5x4.as) with AssemblyScript into node_modules/.cache
 * (see kernel.ts). Run at install: `tsx activities/prepare/md5/build.ts`. Idempotent: does
 * nothing when the binary for the current source and compiler exists. Exit 0 even when the
 * compiler fails, because preparation then falls back to node:crypto (a warning says so).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ASC_FLAGS, KERNEL_SOURCE, kernelFile } from './kernel';
import { wasm } from './wasm';

/** The part of AssemblyScript's compiler API used here (its typings need a newer module resolution than the project's). */
interface Asc {
  main(
    argv: string[],
    options: {
      readFile: (name: string, baseDir: string) => string | null;
      writeFile: (name: string, contents: Uint8Array | string, baseDir: string) => void;
      listFiles: (dirname: string, baseDir: string) => string[];
      stderr: { write: (s: string | Uint8Array) => void };
    },
  ): Promise<{ error: Error | null }>;
}
const ASC_MODULE = 'assemblyscript/asc';

// asc compiles only files named *.ts; the source is kept as .as so that tsc and eslint leave it alone.
const VIRTUAL_ENTRY = 'md5x4.ts';

async function main(): Promise<void> {
  const out = kernelFile();
  if (fs.existsSync(out) && !process.argv.includes('--force')) return;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const asc = (await import(ASC_MODULE)) as Asc;
  const stderr: string[] = [];
  let binary: Uint8Array | undefined;
  const result = await asc.main([VIRTUAL_ENTRY, ...ASC_FLAGS, '--outFile', 'md5x4.wasm'], {
    readFile: (name, baseDir) => (name === VIRTUAL_ENTRY ? fs.readFileSync(KERNEL_SOURCE, 'utf8') : fs.existsSync(path.join(baseDir, name)) ? fs.readFileSync(path.join(baseDir, name), 'utf8') : null),
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
    },
    listFiles: () => [],
    stderr: {
      write: (s) => {
        stderr.push(String(s));
      },
    },
  });
  if (result.error || !binary) {
    process.stderr.write(`[md5] could not compile the multi-buffer MD5 kernel (preparation will hash with node:crypto): ${result.error?.message ?? 'no output'}\n${stderr.join('')}`);
    return;
  }
  // Validate before publishing, and publish atomically, so a reader never loads half a file.
  new wasm.Module(binary);
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, binary);
  fs.renameSync(tmp, out);
  process.stdout.write(`[md5] built ${path.relative(process.cwd(), out)} (${binary.length} bytes)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`[md5] kernel build failed (preparation will hash with node:crypto): ${(e as Error).message}\n`);
});
