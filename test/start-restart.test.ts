/**
 * `npm start` for real (scripts/start.ts as a process): brings up the stack, runs the sample job, stops cleanly on
 * SIGINT (Ctrl-C) and, started again, finds the earlier workflow in the persistent SQLite file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../scripts/cluster/cluster';
import { eventually } from './helpers/import-job-harness';

const ROOT = path.resolve(__dirname, '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-restart-'));
let stack: ChildProcess | undefined;

after(() => {
  // start.ts runs in its own process group with its children: take the whole group down.
  if (stack?.pid && stack.exitCode === null) {
    try {
      process.kill(-stack.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const ports = { TEMPORAL_PORT: 0, TEMPORAL_UI_PORT: 0, TEMPORAL_UI_INTERNAL_PORT: 0, EMULATOR_HTTP_PORT: 0, EMULATOR_HTTPS_PORT: 0, CODEC_SERVER_PORT: 0, CONSOLE_PORT: 0, METRICS_PORT: 0, TEMPORAL_METRICS_PORT: 0 };
const key = crypto.randomBytes(32).toString('base64');

function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATA_DIR: dataDir,
    PAYLOAD_KEYS: `restart1:${key}`,
    PAYLOAD_CURRENT_KEY_ID: 'restart1',
    SECRET_STORE_DIR: path.join(dataDir, 'secrets'),
    CODEC_SERVER_TOKEN: crypto.randomBytes(24).toString('hex'),
    LOCAL_AZURE_FILE: path.join(dataDir, 'local-azure.json'),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.TEMPORAL_PORT}`,
    METRICS_BIND: `127.0.0.1:${ports.METRICS_PORT}`,
    TEMPORAL_METRICS_BIND: `127.0.0.1:${ports.TEMPORAL_METRICS_PORT}`,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
}

function startStack(): Promise<{ proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'start.ts')], { env: baseEnv(), cwd: ROOT, detached: true });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`npm start did not come up:\n${out}`)), 90_000);
    const check = setInterval(() => {
      if (out.includes('azure-import-orchestrator is running')) {
        clearTimeout(deadline);
        clearInterval(check);
        resolve({ proc, output: () => out });
      }
      if (proc.exitCode !== null) {
        clearTimeout(deadline);
        clearInterval(check);
        reject(new Error(`npm start exited early (${proc.exitCode}):\n${out}`));
      }
    }, 200);
  });
}

function importctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'importctl.cjs'), ...args], { env: baseEnv(), cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function stepOf(job: string): Promise<string> {
  const r = await importctl('status', job, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { step: string; failure?: string };
  assert.notEqual(s.step, 'failed', `the sample job failed: ${s.failure}`);
  return s.step;
}

/** Sends raw bytes (so malformed requests reach the server as written) and returns what comes back first. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write(bytes));
    let got = '';
    sock.setTimeout(10_000, () => sock.destroy(new Error(`no answer from port ${port}`)));
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) sock.destroy();
    });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

/** The pid of the child of `parentPid` whose command line contains `entry`. */
function childPid(parentPid: number, entry: string): number {
  const out = execFileSync('pgrep', ['-P', String(parentPid), '-f', entry], { encoding: 'utf8' }).trim();
  const pid = Number(out.split('\n')[0]);
  assert.ok(Number.isInteger(pid) && pid > 0, `a ${entry} process under ${parentPid}`);
  return pid;
}

/** Ctrl-C in a terminal signals the whole foreground process group: start.ts and its children at once. */
async function stopWithCtrlC(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  process.kill(-proc.pid!, 'SIGINT');
  return exited;
}

test('npm start runs the sample job, stops cleanly on Ctrl-C, and a restart finds the workflow', { timeout: 300_000 }, async () => {
  const picked = await freePorts(Object.keys(ports).length);
  for (const [i, k] of (Object.keys(ports) as (keyof typeof ports)[]).entries()) ports[k] = picked[i]!;
  const first = await startStack();
  stack = first.proc;
  assert.match(first.output(), new RegExp(`Temporal gRPC\\s+127\\.0\\.0\\.1:${ports.TEMPORAL_PORT}`));
  assert.match(first.output(), new RegExp(`Temporal Web UI\\s+http://127\\.0\\.0\\.1:${ports.TEMPORAL_UI_PORT}`));
  // The worker's Prometheus endpoint serves Temporal's and the project's metrics.
  const metrics = await (await fetch(`http://127.0.0.1:${ports.METRICS_PORT}/metrics`)).text();
  assert.match(metrics, /aio_/);

  assert.match(first.output(), new RegExp(`Worker metrics\\s+http://127\\.0\\.0\\.1:${ports.METRICS_PORT}/metrics`));
  assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700, 'the data folder is private to its owner');

  // One bad request, or one crashed component, never takes the stack down.
  for (const port of [ports.EMULATOR_HTTP_PORT, ports.CODEC_SERVER_PORT, ports.CONSOLE_PORT]) {
    const answer = await rawRequest(port, 'GET //a:b HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 4\d\d /, `port ${port} answers an odd request target with a 4xx`);
  }
  const emulatorPid = childPid(first.proc.pid!, 'emulator/main.ts');
  process.kill(emulatorPid, 'SIGKILL');
  await eventually(async () => (await fetch(`http://127.0.0.1:${ports.EMULATOR_HTTP_PORT}/_emulator/clock`)).ok, 30_000, 'the emulator restarted');
  assert.match(first.output(), /emulator exited unexpectedly \(signal SIGKILL\); restarting/);
  assert.notEqual(childPid(first.proc.pid!, 'emulator/main.ts'), emulatorPid, 'a new emulator process');

  const specFile = path.join(dataDir, 'sample', 'databox', 'sample-job.yaml');
  const job = /jobName: (\S+)/.exec(fs.readFileSync(specFile, 'utf8'))![1]!;
  const started = await importctl('start', specFile);
  assert.equal(started.code, 0, started.stderr);
  const deadline = Date.now() + 120_000;
  while ((await stepOf(job)) !== 'awaiting-shipping') {
    assert.ok(Date.now() < deadline, 'sample job reached awaiting-shipping');
    await new Promise((r) => setTimeout(r, 500));
  }

  assert.equal(await stopWithCtrlC(first.proc), 0, 'clean exit on Ctrl-C');
  assert.match(first.output(), /\[start\] stopped/);
  assert.ok(fs.statSync(path.join(dataDir, 'temporal', 'dev.db')).size > 0, 'SQLite file kept');

  const second = await startStack();
  stack = second.proc;
  assert.equal(await stepOf(job), 'awaiting-shipping', 'the restarted server still has the workflow, and it still waits');
  const shipped = await importctl('ship', job, '--carrier', 'FedEx', '--tracking', '246813579024');
  assert.equal(shipped.code, 0, shipped.stderr);
  assert.equal(await stopWithCtrlC(second.proc), 0);
  stack = undefined;
});
