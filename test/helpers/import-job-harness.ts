/**
 * Everything an import-job workflow test needs, all real: a Temporal server (dev or time-skipping), the Azure
 * emulator over HTTP, the production worker wiring with the encrypting data converter, and a notification file.
 */
import { after, before } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt, randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { AzureConfig } from '../../activities/azure/config';
import { AzureConfigSchema } from '../../activities/azure/config';
import type { JobSpecInput } from '../../common/job-spec';
import type { PreparedDrive } from '../../common/prepare-contract';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { EmulatorControl } from '../../emulator/control-client';
import { startEmulator, type RunningEmulator } from '../../emulator/server';
import { createDataConverter } from '../../security/payload-codec';
import { InMemorySecretStore } from '../../security/secret-store';
import { buildImportJobActivities, createOrchestratorWorker, registerSearchAttributes } from '../../worker/create-workers';
import { createDevServerEnv, createTimeSkippingEnv } from './temporal-env';
import { TEST_SUBSCRIPTION_ID, testJobSpec, testPreparedDrives } from './job-spec-fixture';

export { TEST_BITLOCKER_KEYS, TEST_SUBSCRIPTION_ID as SUBSCRIPTION_ID, TEST_RESOURCE_GROUP as RESOURCE_GROUP } from './job-spec-fixture';

/** A fixed test key ring, so recorded histories can be replayed by the replay test. */
export const TEST_PAYLOAD_KEYS = { currentKeyId: 'test-k1', keys: { 'test-k1': Buffer.alloc(32, 7) } };
export const testDataConverter = createDataConverter({ payloadKeys: TEST_PAYLOAD_KEYS });

export interface ImportJobHarness {
  env: TestWorkflowEnvironment;
  emulator: RunningEmulator;
  azure: AzureConfig;
  secrets: InMemorySecretStore;
  taskQueue: string;
  notificationsFile: string;
  worker: Worker;
  /** Runs the worker until `fn` settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  preparedDrives(count?: number): Promise<PreparedDrive[]>;
  spec(overrides?: Partial<JobSpecInput>): Promise<JobSpecInput>;
  control(pathAndQuery: string, body?: unknown, method?: string): Promise<unknown>;
  /** The emulator's typed control client (Data Box regions, advance, LRO settings, faults). */
  emulatorControl: EmulatorControl;
  requests(): Promise<{ method: string; operation: string; status: number; faulted?: string }[]>;
  notifications(): { kind: string; message: string; at: string }[];
  teardown(): Promise<void>;
}

export async function startImportJobHarness(opts: { timeSkipping?: boolean } = {}): Promise<ImportJobHarness> {
  const env = opts.timeSkipping
    ? await createTimeSkippingEnv({ dataConverter: testDataConverter })
    : await createDevServerEnv({ searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES], dataConverter: testDataConverter });
  // The time-skipping server starts without our search attributes; register them like the worker does in production.
  if (opts.timeSkipping) await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  const emulator = await startEmulator({ httpPort: 0, httpsPort: null });
  const azure = AzureConfigSchema.parse({
    endpoint: emulator.httpUrl,
    subscriptionId: TEST_SUBSCRIPTION_ID,
    credential: 'static-token',
    staticToken: 'test-token',
    allowInsecureHttp: true,
    apiVersion: '2021-01-01',
  });
  const secrets = new InMemorySecretStore();
  const taskQueue = `import-jobs-${randomUUID()}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-job-test-'));
  const notificationsFile = path.join(dir, 'notifications.jsonl');
  const worker = await createOrchestratorWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    // The time-skipping server has no visibility store, so the tracking-number lookup gets no client there.
    activities: buildImportJobActivities({
      azure,
      secrets,
      temporal: opts.timeSkipping ? undefined : env.client,
      notifications: { directory: dir, webhookHosts: [], allowLoopbackWebhooks: false },
    }),
    dataConverter: testDataConverter,
  });

  const control = async (pathAndQuery: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<unknown> => {
    const res = await fetch(`${emulator.httpUrl}/_emulator/${pathAndQuery}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator control ${method} ${pathAndQuery}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const harness: ImportJobHarness = {
    env,
    emulator,
    azure,
    secrets,
    taskQueue,
    notificationsFile,
    worker,
    run: (fn) => worker.runUntil(fn()),
    async preparedDrives(count = 2) {
      const drives = await testPreparedDrives(secrets, { idPrefix: 'TESTDRV', dir, count });
      // Recovery passwords Azure accepts: every group a multiple of 11 below 720 896.
      return Promise.all(drives.map(async (d) => ({ ...d, bitLockerKeyRef: await secrets.put(`valid-${d.driveId}`, validRecoveryPassword()) })));
    },
    async spec(overrides = {}) {
      return testJobSpec(
        { jobName: `job-${randomUUID().slice(0, 8)}`, drives: await harness.preparedDrives(2), notification: { kind: 'file', path: path.basename(notificationsFile) } },
        overrides,
      );
    },
    control,
    emulatorControl: new EmulatorControl(emulator.httpUrl),
    async requests() {
      const r = (await control('requests')) as { requests: { method: string; operation: string; status: number; faulted?: string }[] };
      return r.requests;
    },
    notifications() {
      if (!fs.existsSync(notificationsFile)) return [];
      return fs
        .readFileSync(notificationsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { kind: string; message: string; at: string });
    },
    async teardown() {
      await emulator.close();
      await env.teardown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A random BitLocker recovery password of the shape Azure validates (8 groups of 6 digits, multiples of 11). */
export function validRecoveryPassword(): string {
  return Array.from({ length: 8 }, () => String(11 * randomInt(0, 65_536)).padStart(6, '0')).join('-');
}

/**
 * Runs one harness with its worker for the whole test file: started before the first test (then handed to `ready`),
 * stopped after the last.
 */
export function useImportJobHarness(ready: (harness: ImportJobHarness) => void): void {
  let harness: ImportJobHarness | undefined;
  let running: Promise<void> | undefined;
  before(async () => {
    harness = await startImportJobHarness();
    running = harness.worker.run();
    ready(harness);
  });
  after(async () => {
    harness?.worker.shutdown();
    await running;
    await harness?.teardown();
  });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
