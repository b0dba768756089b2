/**
 * Reliability on a production-shaped deployment: the Temporal server built from go.temporal.io/server (v1.29.1) on
 * PostgreSQL, two `worker/main.ts` processes (WORKER_ROLES=orchestrator) with a shared local secret store, and the
 * Azure emulator. A batch of import jobs runs while one worker is SIGKILLed with Azure PUT responses in flight and the
 * Temporal server process is killed and restarted; every job must still complete, with exactly one Azure job each
 * (one PUT, one PATCH in the emulator's request log), nothing lost and nothing duplicated.
 *
 * Slow (~3-4 min): a PUT whose worker died is only retried after the activity's 2-minute start-to-close timeout.
 * First run also builds the server with `go install` (several minutes). Skips when PostgreSQL is not installed or
 * there is neither a cached server build nor Go.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { workflowIdForJob } from '../common/ids';
import type { JobSpecInput } from '../common/job-spec';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { LocalCluster, workerProcess, type ManagedProcess } from '../scripts/cluster/cluster';
import { spawnSync } from 'node:child_process';
import { findPostgres, findServerBinaries } from '../scripts/cluster/binaries';
import { createDataConverter } from '../security/payload-codec';
import { LocalFileSecretStore } from '../security/secret-store';
import { importJobWorkflow } from '../workflows/import-job';
import { shipUpdate, statusQuery, type ImportJobStatus } from '../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually } from './helpers/import-job-harness';
import { testJobSpec, testPreparedDrives } from './helpers/job-spec-fixture';

const JOBS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[reliability +${Math.round((Date.now() - t0) / 1000)}s] ${line}`);
const t0 = Date.now();

let unavailable: string | undefined;
try {
  findPostgres();
  if (!findServerBinaries() && spawnSync('go', ['version']).status !== 0) {
    unavailable = 'neither a cached Temporal server build nor Go to build one (set TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH)';
  }
} catch (e) {
  unavailable = (e as Error).message;
}

let cluster: LocalCluster;
let emulator: RunningEmulator;
let client: Client;
let connection: Connection;
const workers: ManagedProcess[] = [];
let dir: string;
/** Every Azure request the emulator answered (its own log line per request: "METHOD path status ms"). */
const azureLines: string[] = [];

/** Polls until `fn` gives a value (the harness's `eventually`). */
const until = eventually;

/** Retries client calls through server restarts (Unavailable / connection errors); update rejections are final. */
async function retrying<T>(fn: () => Promise<T>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError || Date.now() > deadline) throw e;
      log(`${what}: ${(e as Error).message.split('\n')[0]} (retrying)`);
      await sleep(1000);
    }
  }
}

// Missing prerequisites fail the suite (never a silent skip): the project's machines have PostgreSQL and Go.
describe('reliability on a PostgreSQL-backed Temporal cluster', () => {
  before(async () => {
    if (unavailable) assert.fail(`the reliability test cannot run here: ${unavailable}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-reliability-'));
    cluster = await new LocalCluster({ log }).start();
    emulator = await startEmulator({ httpPort: 0, httpsPort: null, logger: (line) => azureLines.push(line) });
    connection = await Connection.connect({ address: cluster.address });
    const keyId = 'rel1';
    const key = randomBytes(32);
    const keyRing = { currentKeyId: keyId, keys: { [keyId]: key } };
    client = new Client({ connection, namespace: cluster.namespace, dataConverter: createDataConverter({ payloadKeys: keyRing }) });
    const secretDir = path.join(dir, 'secrets');
    (globalThis as { __relSecrets?: LocalFileSecretStore }).__relSecrets = new LocalFileSecretStore({ dir: secretDir, keyRing });
    const taskQueue = `import-jobs-${randomUUID().slice(0, 8)}`;
    (globalThis as { __relQueue?: string }).__relQueue = taskQueue;
    const env = (i: number): Record<string, string> => ({
      TEMPORAL_ADDRESS: cluster.address,
      TEMPORAL_NAMESPACE: cluster.namespace,
      TASK_QUEUE: taskQueue,
      WORKER_ROLES: 'orchestrator',
      AZURE_ENDPOINT: emulator.httpUrl,
      AZURE_SUBSCRIPTION_ID: SUBSCRIPTION_ID,
      AZURE_CREDENTIAL: 'static-token',
      AZURE_STATIC_TOKEN: 'reliability-test-token',
      AZURE_ALLOW_INSECURE_HTTP: 'true',
      PAYLOAD_KEYS: `${keyId}:${key.toString('base64')}`,
      SECRET_STORE: 'local',
      SECRET_STORE_DIR: secretDir,
      NOTIFICATION_DIR: dir,
      METRICS_BIND: `127.0.0.1:0`,
      TEMPORAL_METRICS_BIND: `127.0.0.1:${29000 + i}`,
    });
    for (const i of [1, 2]) workers.push(workerProcess(`worker-${i}`, env(i), cluster.logDir));
    // One at a time: each registers the search attributes at start.
    for (const w of workers) {
      w.start();
      await w.waitForOutput(/\[worker\] connected to/, 120_000);
      log(`${w.name} ready (pid ${w.pid})`);
    }
  });

  after(async () => {
    for (const w of workers) await w.stop('SIGTERM', 15_000).catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await emulator?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`${JOBS} jobs survive a SIGKILLed worker and a Temporal server restart: each completes once, one PUT and one PATCH each`, async () => {
    const secrets = (globalThis as { __relSecrets?: LocalFileSecretStore }).__relSecrets!;
    const taskQueue = (globalThis as { __relQueue?: string }).__relQueue!;
    const notificationsFile = path.join(dir, 'notifications.jsonl');
    const today = new Date().toISOString().slice(0, 10);

    const specFor = async (n: number): Promise<JobSpecInput> =>
      testJobSpec({
        jobName: `rel-${String(n).padStart(2, '0')}-${randomUUID().slice(0, 6)}`,
        drives: await testPreparedDrives(secrets, { idPrefix: `RELDRV${String(n).padStart(2, '0')}`, dir }),
        notification: { kind: 'file', path: path.basename(notificationsFile) },
      });
    const specs: JobSpecInput[] = [];
    for (let n = 0; n < JOBS; n++) specs.push(await specFor(n));

    // Every Put Job is held 3 s after Azure has created the job: a worker killed now loses responses of PUTs that did happen.
    const ctl = async (p: string, body?: unknown) => {
      const res = await fetch(`${emulator.httpUrl}/_emulator/${p}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`emulator ${p}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as unknown) : undefined;
    };
    await ctl('faults', { operation: 'Jobs_Create', kind: 'delay', delayMs: 3000, afterProcessing: true });
    const azureJobsExisting = async (): Promise<number> => {
      const res = await fetch(
        `${emulator.httpUrl}/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.ImportExport/jobs?api-version=2021-01-01`,
        { headers: { authorization: 'Bearer reliability-test-token' } },
      );
      return ((await res.json()) as { value: unknown[] }).value.length;
    };

    const handles: WorkflowHandle<typeof importJobWorkflow>[] = [];
    for (const spec of specs) {
      handles.push(
        await client.workflow.start(importJobWorkflow, {
          args: [{ spec, startedBy: 'reliability-test' }],
          taskQueue,
          workflowId: workflowIdForJob(spec.jobName),
        }),
      );
    }
    log(`${JOBS} workflows started`);

    // Kill worker 1 (no goodbye) once Azure has started creating jobs and their PUT responses are still held.
    await until(async () => (await azureJobsExisting()) >= 3, 120_000, 'Azure jobs being created');
    await workers[0]!.stop('SIGKILL');
    log(`SIGKILLed worker-1 with ${await azureJobsExisting()} Azure jobs created, PUT responses in flight`);

    const stepOf = async (h: WorkflowHandle): Promise<ImportJobStatus['step'] | undefined> => {
      try {
        return (await h.query(statusQuery)).step;
      } catch {
        return undefined;
      }
    };
    const shipped = new Set<string>();
    const shipReady = async (): Promise<number> => {
      let n = 0;
      for (const h of handles) {
        if (shipped.has(h.workflowId)) continue;
        if ((await stepOf(h)) !== 'awaiting-shipping') continue;
        const receipt = await retrying(
          () =>
            h.executeUpdate(shipUpdate, {
              args: [{ carrierName: 'FedEx', trackingNumber: `7${String(100000000000 + handles.indexOf(h)).slice(1)}`, driveCount: 2, shipDate: today, submittedBy: 'clerk' }],
            }),
          `ship ${h.workflowId}`,
        );
        assert.equal(receipt.duplicate, false);
        shipped.add(h.workflowId);
        n++;
      }
      return n;
    };

    // Ship the jobs the surviving worker got to, then crash and restart the Temporal server with work in flight.
    await until(async () => (await shipReady()) > 0 || shipped.size > 0, 60_000, 'a first job awaiting shipping');
    log(`${shipped.size} job(s) shipped; killing the Temporal server`);
    await cluster.stopServer('SIGKILL');
    await sleep(2000);
    await cluster.startServer();
    log('Temporal server restarted from PostgreSQL');

    // The killed worker comes back (a new process: no sticky cache, replays from history).
    workers[0]!.start();
    await workers[0]!.waitForOutput(/\[worker\] connected to/, 120_000);
    log('worker-1 restarted');

    // Jobs whose PUT response died with worker-1 resume after the activity's start-to-close timeout (2 min).
    await until(
      async () => {
        await shipReady();
        return shipped.size === JOBS;
      },
      200_000,
      'every job awaiting shipping and shipped',
    );
    log(`all ${JOBS} jobs shipped`);
    for (const h of handles) await until(async () => (await stepOf(h)) === 'tracking', 60_000, `${h.workflowId} tracking`);
    for (const spec of specs) {
      await retrying(() => ctl(`jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${spec.jobName}/advance`, { to: 'Completed' }), 'advance');
    }
    const outcomes = await Promise.all(handles.map((h) => retrying(() => h.result(), `result ${h.workflowId}`, 120_000)));
    log(`all ${JOBS} workflows completed`);

    for (const o of outcomes) {
      assert.equal(o.result, 'completed');
      assert.equal(o.azureState, 'Completed');
      assert.equal(o.drives.length, 2);
    }

    // Exactly one Azure job per workflow: one PUT and one PATCH each, in the emulator's request log and its own log lines.
    const requests = ((await ctl('requests')) as { requests: { method: string; path: string; status: number }[] }).requests;
    const writes = azureLines.filter((l) => /^(PUT|PATCH) /.test(l));
    for (const spec of specs) {
      const mine = requests.filter((r) => r.path.endsWith(`/jobs/${spec.jobName}`));
      assert.equal(mine.filter((r) => r.method === 'PUT').length, 1, `${spec.jobName}: exactly one Put Job`);
      assert.equal(mine.filter((r) => r.method === 'PATCH').length, 1, `${spec.jobName}: exactly one Update Job (no duplicate PATCH)`);
      assert.equal(writes.filter((l) => l.includes(`/jobs/${spec.jobName} `)).length, 2, `${spec.jobName}: two writes in the emulator log`);
    }
    assert.equal(await azureJobsExisting(), JOBS, 'one Azure job per workflow, none extra');

    // Nothing lost, nothing doubled on the Temporal side: one closed run per job.
    const runs = await until(
      async () => {
        const found: { id: string; status: string }[] = [];
        for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) found.push({ id: wf.workflowId, status: wf.status.name });
        return found.length === JOBS && found.every((f) => f.status === 'COMPLETED') ? found : undefined;
      },
      30_000,
      'visibility shows every run completed',
    );
    assert.deepEqual(runs.map((r) => r.id).sort(), handles.map((h) => h.workflowId).sort());
  });
});
