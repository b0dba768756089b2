/**
 * `npm test`: every test/**\/*.test.ts file under node's test runner (each file in its own process, each with its own
 * Temporal server unless TEMPORAL_ADDRESS is set). Pass file paths to run only those: `npm test -- test/x.test.ts`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

function findTests(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'helpers' ? [] : findTests(p);
      return e.name.endsWith('.test.ts') ? [p] : [];
    })
    .sort();
}

const requested = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = requested.length > 0 ? requested : findTests(path.join(root, 'test')).map((f) => path.relative(root, f));
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
console.log(`Running ${files.length} test files (concurrency ${concurrency})`);

const child = spawn(
  process.execPath,
  // A per-test ceiling and forced exit: a stuck test fails with a timeout instead of hanging CI.
  ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=600000', '--test-force-exit', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
