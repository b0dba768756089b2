#!/usr/bin/env node
// Runs before `npm start` and `npm test` so that those two commands are the whole set-up on a fresh machine:
// installs dependencies when node_modules is missing or older than package-lock.json (`npm ci`: exactly the lock
// file, which it never rewrites, so a fresh clone stays clean), then provisions Temporal.
// Plain CommonJS with no dependencies, because it runs before anything is installed.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stampFile = path.join(root, 'node_modules', '.aio-install-stamp');
const lockFile = path.join(root, 'package-lock.json');

function run(cmd, args) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (res.status !== 0) {
    console.error(`[setup] \`${cmd} ${args.join(' ')}\` failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status || 1);
  }
}

// Only what decides the installed tree: editing a script in package.json must not reinstall everything.
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lockHash = crypto
  .createHash('sha256')
  .update(fs.readFileSync(lockFile))
  .update(JSON.stringify([manifest.dependencies, manifest.devDependencies, manifest.optionalDependencies, manifest.overrides]))
  .digest('hex');
const stamp = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, 'utf8').trim() : '';
if (stamp !== lockHash) {
  console.log('[setup] installing dependencies (npm ci) ...');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  fs.writeFileSync(stampFile, `${lockHash}\n`);
}
// The multi-buffer MD5 kernel is compiled from source (AssemblyScript → WebAssembly SIMD); near-instant once built.
run(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'activities', 'prepare', 'md5', 'build.ts')]);
// Plain-JavaScript bundles: the copy engine's thread entry (no TypeScript loader per thread), and the modules the
// workflow sandbox evaluates once per thread instead of once per workflow.
run(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'bundling', 'build.ts')]);
// The console's browser tests drive Debian's Chromium (no browser download); only `npm test` needs it.
if (!process.argv.includes('--dev-server')) run('bash', [path.join(root, 'scripts', 'install-browser.sh')]);
run(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'scripts', 'provision-temporal.ts'), ...process.argv.slice(2)]);
