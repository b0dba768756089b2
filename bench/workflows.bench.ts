/**
 * `npm run bench:workflows [-- --jobs N --parked P --concurrency C]`
 * Runs N complete import jobs (tiny prepared drives: start → ship update → emulator advances to Completed) against a
 * dev server + the emulator, with the production worker as a separate process; then the same N jobs as the floor
 * (workflows/benchmark-floor.ts: the same activity round trips as no-ops, the same update and timers, same server);
 * then parks P jobs waiting for shipping at the same time. Prints figures; the last line is:
 *   jobs_per_s=<X> floor_jobs_per_s=<F> p99_ship_to_patch_ms=<Y> parked_jobs=<P> worker_rss_mb=<R>
 * X: completed jobs per second; F: the floor's; Y: p99 from the accepted ship update to Azure's PATCH (emulator
 * request log); P: jobs parked in awaiting-shipping at once; R: the worker process's peak RSS (VmHWM).
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowIdForJob } from '../common/ids';
import type { JobSpecInput } from '../common/job-spec';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { startEmulator } from '../emulator/server';
import { dataConverterFor } from '../security/payload-codec';
import { LocalFileSecretStore } from '../security/secret-store';
import { importJobWorkflow } from '../workflows/import-job';
import { floorShipUpdate, floorWorkflow } from '../workflows/benchmark-floor';
import { shipUpdate, statusQuery } from '../workflows/import-job-messages';
import { createDevServerEnv } from '../test/helpers/temporal-env';

const ROOT = path.resolve(__dirname, '..');
const SUB = '00000000-bbbb-cccc-dddd-000000000001';
const RG = 'rg-bench';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** A memory figure of a process from /proc (kB → MB); 0 once it has gone. */
function procMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
/** CPU time (user + system) a process has used so far, in ms; /proc/<pid>/stat counts clock ticks (USER_HZ, 100 on Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** The dev server's process: the one `temporal server start-dev` listening on the environment's port. */
function devServerPid(address: string): number {
  const port = address.split(':').pop();
  const line = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.includes('server start-dev') && l.includes(`--port ${port} `));
  return line ? Number(line.trim().split(/\s+/)[0]) : 0;
}

/** CPU per job of each process over a phase, so a ratio below the floor's can be traced to where the work went. */
function cpuMeter(pids: Record<string, number>): () => (jobs: number) => string {
  return () => {
    const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    return (jobs) => Object.entries(pids).map(([k, pid]) => `${k}=${((cpuMs(pid) - (start[k] ?? 0)) / jobs).toFixed(1)}`).join(' ');
  };
}
const peakRssMb = (pid: number): number => procMb(pid, 'VmHWM');
const currentRssMb = (pid: number): number => procMb(pid, 'VmRSS');

/** The floor: N minimal jobs with the import job's round trips, update and timers; returns its jobs per second. */
async function runFloor(
  env: Awaited<ReturnType<typeof createDevServerEnv>>,
  jobs: number,
  concurrency: number,
  runPool: typeof pool,
  dataConverter: ReturnType<typeof dataConverterFor>,
): Promise<number> {
  const completed = new Set<string>();
  const taskQueue = 'bench-floor';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: require.resolve('../workflows/benchmark-floor'),
    activities: { noop: async () => undefined, done: async (name: string) => completed.has(name) },
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 200,
    maxCachedWorkflows: 500,
    // The client encrypts every payload; the floor decrypts them as the product worker does.
    dataConverter,
  });
  const runJob = async (name: string): Promise<void> => {
    const handle = await env.client.workflow.start(floorWorkflow, { args: [name, 200, 1000], taskQueue, workflowId: `floor-${name}` });
    // The same client behaviour as for the import job: ask until the job waits for the shipment.
    for (;;) {
      try {
        await handle.executeUpdate(floorShipUpdate, { args: ['123456789012'] });
        break;
      } catch (err) {
        const notYet = err instanceof WorkflowUpdateFailedError && /not waiting for shipping/.test(String((err.cause as Error | undefined)?.message));
        if (!notYet && !(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    completed.add(name);
    await handle.result();
  };
  return worker.runUntil(async () => {
    await runJob('floor-warm');
    const names = Array.from({ length: jobs }, (_, i) => `floor-${i}-${crypto.randomUUID().slice(0, 6)}`);
    const t0 = Date.now();
    await runPool(names, concurrency, runJob);
    return jobs / ((Date.now() - t0) / 1000);
  });
}

async function main(): Promise<void> {
  const jobs = arg('jobs', 200);
  const parked = arg('parked', 10_000);
  const concurrency = arg('concurrency', 50);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-workflows-'));
  const key = crypto.randomBytes(32);
  const payloadKeys = { currentKeyId: 'bench', keys: { bench: key } };
  const dataConverter = dataConverterFor({ payloadKeys });
  const env = await createDevServerEnv({ searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES], dataConverter });
  const emulator = await startEmulator({ httpPort: 0, httpsPort: null });
  const secrets = new LocalFileSecretStore({ dir: path.join(dir, 'secrets'), keyRing: payloadKeys });
  // A throwaway BitLocker-style recovery password for the benchmark's drives.
  const benchKey = Array.from({ length: 8 }, () => String(crypto.randomInt(0, 1_000_000)).padStart(6, '0')).join('-');
  const ref = await secrets.put('bench-bitlocker', benchKey);
  const taskQueue = 'bench-import-jobs';

  // As recommended for production (docs/production.md): a bounded V8 heap keeps GC from letting RSS drift upwards.
  const worker = spawn(process.execPath, ['--max-old-space-size=1024', '--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TASK_QUEUE: taskQueue,
      WORKER_ROLES: 'orchestrator',
      REGISTER_SEARCH_ATTRIBUTES: 'false',
      PAYLOAD_KEYS: `bench:${key.toString('base64')}`,
      PAYLOAD_CURRENT_KEY_ID: 'bench',
      SECRET_STORE_DIR: path.join(dir, 'secrets'),
      AZURE_ENDPOINT: emulator.httpUrl,
      AZURE_SUBSCRIPTION_ID: SUB,
      AZURE_CREDENTIAL: 'static-token',
      AZURE_ALLOW_INSECURE_HTTP: 'true',
      LOG_LEVEL: 'WARN',
      METRICS_BIND: 'off',
      MAX_CONCURRENT_ACTIVITIES: '200',
      MAX_CONCURRENT_WORKFLOW_TASKS: '200',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const spec = (jobName: string): JobSpecInput => ({
    jobName,
    subscriptionId: SUB,
    resourceGroup: RG,
    storageAccountId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/benchdata`,
    region: 'westus',
    returnAddress: { recipientName: 'Bench', streetAddress1: '1 Way', city: 'Redmond', postalCode: '98052', countryOrRegion: 'USA', phone: '+1 425 555 0100', email: 'b@example.com' },
    returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '1' },
    drives: { prepared: [{ driveId: `D${jobName.replace(/-/g, '').toUpperCase()}`.slice(0, 20), drivePath: '/bench', bitLockerKeyRef: ref, manifestFile: '\\DriveManifest.xml', manifestHash: 'A'.repeat(32), fileCount: 1, byteCount: 1 }] },
    timing: { trackingPollInitial: '200 ms', trackingPollMax: '1 second' },
  });
  const client = env.client;
  const retryUntil = async <T>(fn: () => Promise<T>, ok: (e: unknown) => boolean): Promise<T> => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!ok(err)) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };

  // The worker is this benchmark's child: it must not outlive a failed run.
  process.once('exit', () => worker.kill('SIGKILL'));

  // Warm-up: the worker bundles workflows and connects.
  console.log(`worker pid ${worker.pid}; warming up ...`);
  const shipAcceptedAt = new Map<string, number>();
  const runJob = async (name: string): Promise<void> => {
    const handle = await client.workflow.start(importJobWorkflow, { args: [{ spec: spec(name) }], taskQueue, workflowId: workflowIdForJob(name) });
    await retryUntil(
      () => handle.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: crypto.randomInt(1e11, 1e12 - 1).toString(), driveCount: 1, shipDate: new Date().toISOString().slice(0, 10) }] }),
      // Not waiting yet, or the update call timed out on a loaded server: ask again.
      (e) =>
        e instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
        (e instanceof WorkflowUpdateFailedError && /not waiting for shipping|No shipping site/.test(String((e.cause as Error | undefined)?.message))),
    );
    shipAcceptedAt.set(name, Date.now());
    await retryUntil(
      async () => {
        const res = await fetch(`${emulator.httpUrl}/_emulator/jobs/${SUB}/${RG}/${name}/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":"Completed"}' });
        if (!res.ok) throw new Error(`advance ${res.status}`);
      },
      () => true,
    );
    await handle.result();
  };
  await runJob(`warm-${crypto.randomUUID().slice(0, 8)}`);
  await fetch(`${emulator.httpUrl}/_emulator/requests`, { method: 'DELETE' });
  shipAcceptedAt.clear();

  // Phase 1: throughput of complete jobs.
  const meter = cpuMeter({ server: devServerPid(env.address), worker: worker.pid ?? 0, bench: process.pid });
  const names = Array.from({ length: jobs }, (_, i) => `bench-${i}-${crypto.randomUUID().slice(0, 6)}`);
  const jobsCpu = meter();
  const t0 = Date.now();
  await pool(names, concurrency, runJob);
  const seconds = (Date.now() - t0) / 1000;
  const jobsCpuLine = jobsCpu(jobs);
  const jobsPerS = jobs / seconds;
  const log = (await (await fetch(`${emulator.httpUrl}/_emulator/requests`)).json()) as { requests: { method: string; path: string; time: string; status: number }[] };
  const latencies: number[] = [];
  for (const r of log.requests) {
    if (r.method !== 'PATCH' || r.status >= 300) continue;
    const name = /\/jobs\/([^/?]+)/.exec(r.path)?.[1];
    const accepted = name ? shipAcceptedAt.get(name) : undefined;
    if (accepted) latencies.push(Math.max(0, Date.parse(r.time) - accepted));
  }
  latencies.sort((a, b) => a - b);
  const p = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  console.log(`complete jobs: ${jobs} in ${seconds.toFixed(1)} s = ${jobsPerS.toFixed(1)} jobs/s (concurrency ${concurrency})`);
  console.log(`ship→PATCH ms: p50=${p(0.5)} p90=${p(0.9)} p99=${p(0.99)} (n=${latencies.length})`);
  console.log(`  CPU ms per job: ${jobsCpuLine} (bench: the client and the emulator)`);

  // Phase 2: the floor, on the same server, with the same concurrency and poll timing.
  const floorCpu = meter();
  const floorJobsPerS = await runFloor(env, jobs, concurrency, pool, dataConverter);
  const floorCpuLine = floorCpu(jobs + 1);
  console.log(`floor: ${floorJobsPerS.toFixed(1)} jobs/s; ratio ${(jobsPerS / floorJobsPerS).toFixed(2)}`);
  console.log(`  CPU ms per job: ${floorCpuLine} (bench: the client and the floor's worker; worker: idle)`);

  // Phase 3: park P jobs in awaiting-shipping at the same time.
  const parkedNames = Array.from({ length: parked }, (_, i) => `park-${i}-${crypto.randomUUID().slice(0, 6)}`);
  const parkCpu = meter();
  const t1 = Date.now();
  let started = 0;
  const progress = setInterval(() => process.stdout.write(`\r  started ${started}/${parked} ...`), 2000);
  await pool(parkedNames, concurrency, async (name) => {
    await client.workflow.start(importJobWorkflow, { args: [{ spec: spec(name) }], taskQueue, workflowId: workflowIdForJob(name) });
    started++;
  });
  clearInterval(progress);
  // Visibility is asked only once every job has started: a count over thousands of workflows is a scan on the dev
  // server's SQLite, and asking every two seconds while jobs park would load the server being measured.
  let waiting = 0;
  let countMs = 0;
  let parkedAfterMs = 0;
  for (;;) {
    const c0 = Date.now();
    ({ count: waiting } = await client.workflow.count(`ImportJobStep = 'awaiting-shipping' AND WorkflowId STARTS_WITH 'import-job-park-'`));
    countMs = Date.now() - c0;
    parkedAfterMs = Date.now() - t1;
    if (waiting >= parked || parkedAfterMs > 30 * 60_000) break;
    process.stdout.write(`\r  started ${parked}/${parked}, parked ${waiting}/${parked} (count took ${countMs} ms) ...`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // Make sure they really are live: a sample answers its status query.
  const sample = parkedNames[0] ? (await client.workflow.getHandle(workflowIdForJob(parkedNames[0])).query(statusQuery)).step : 'none parked';
  console.log(`\nparked: ${waiting} jobs awaiting shipping (sample step: ${sample}) after ${(parkedAfterMs / 1000).toFixed(0)} s (the last count took ${countMs} ms)`);
  if (parked > 0) console.log(`  CPU ms per parked job: ${parkCpu(parked)} (bench: the client and the emulator)`);
  const current = currentRssMb(worker.pid!);
  console.log(`worker RSS now: ${current.toFixed(0)} MB`);
  const rss = peakRssMb(worker.pid!);
  console.log(`worker peak RSS: ${rss.toFixed(0)} MB`);

  worker.kill('SIGINT');
  await new Promise((r) => worker.once('exit', r));
  await emulator.close();
  await env.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`jobs_per_s=${jobsPerS.toFixed(1)} floor_jobs_per_s=${floorJobsPerS.toFixed(1)} p99_ship_to_patch_ms=${p(0.99)} parked_jobs=${waiting} worker_rss_mb=${rss.toFixed(0)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
