/** The Temporal provisioning script's choices and errors, without building anything. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findTemporalCli } from '../scripts/lib/temporal-binaries';

const ROOT = path.resolve(__dirname, '..');

function pick(keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
}

function provision(env: Record<string, string>, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'scripts', 'provision-temporal.ts'), ...args], {
    // Keep the caller's cache location (CI may move it); everything else comes from the test.
    env: { HOME: os.homedir(), ...pick(['AIO_CACHE_DIR', 'XDG_CACHE_HOME', 'MAVEN_OPTS', 'TEMPORAL_TEST_SERVER_PATH']), ...env },
    encoding: 'utf8',
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('without Go and without a cached or installed CLI, provisioning explains how to get one', () => {
  const emptyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-cache-'));
  const r = provision({ PATH: '/usr/bin:/bin', AIO_CACHE_DIR: emptyCache }, '--dev-server');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /Go is not available to build it/);
  assert.match(r.out, /TEMPORAL_CLI_PATH/);
  fs.rmSync(emptyCache, { recursive: true, force: true });
});

test('TEMPORAL_CLI_PATH wins, and a wrong one is a clear error', () => {
  const cached = findTemporalCli();
  assert.ok(cached, 'the CLI is provisioned (npm test provisions it first)');
  const ok = provision({ PATH: '/usr/bin:/bin', TEMPORAL_CLI_PATH: cached }, '--dev-server');
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, new RegExp(`Temporal CLI: ${cached.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const bad = provision({ PATH: '/usr/bin:/bin', TEMPORAL_CLI_PATH: '/nonexistent/temporal' }, '--dev-server');
  assert.equal(bad.code, 1);
  assert.match(bad.out, /TEMPORAL_CLI_PATH=\/nonexistent\/temporal is not an executable file/);
});

test('a second provisioning run reuses the per-user cache (nothing is rebuilt)', () => {
  const started = Date.now();
  const r = provision({ PATH: process.env.PATH ?? '' });
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /Building|Resolving/);
  assert.ok(Date.now() - started < 20_000);
});
