/**
 * Everything an import-job workflow test needs, all real: a Temporal server (dev or time-skipping), the Azure
 * emulator over HTTP, the production worker wiring with the encrypting data converter, and a notification file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { AzureConfig } from '../../activities/azure/config';
import { AzureConfigSchema } from '../../activities/azure/config';
import type { JobSpecInput } from '../../common/job-spec';
import type { PreparedDrive } from '../../common/prepare-contract';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import { startEmulator, type RunningEmulator } from '../../emulator/server';
import { createDataConverter } from '../../security/payload-codec';
import { InMemorySecretStore } from '../../security/secret-store';
import { buildImportJobActivities, createOrchestratorWorker, registerSearchAttributes } from '../../worker/create-workers';
import { createDevServerEnv, createTimeSkippingEnv } from './temporal-env';

export const SUBSCRIPTION_ID = '00000000-1111-2222-3333-444444444444';
export const RESOURCE_GROUP = 'rg-imports';
/** Test-only BitLocker recovery passwords (never real keys). */
export const TEST_BITLOCKER_KEYS = ['111111-222222-333333-444444-555555-666666-777777-888888', '123456-123456-123456-123456-123456-123456-123456-123456'];

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
    subscriptionId: SUBSCRIPTION_ID,
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
    activities: buildImportJobActivities({ azure, secrets, temporal: opts.timeSkipping ? undefined : env.client }),
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

  let driveCounter = 0;
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
      const drives: PreparedDrive[] = [];
      for (let i = 0; i < count; i++) {
        const driveId = `TESTDRV${String(++driveCounter).padStart(4, '0')}${randomUUID().slice(0, 4).toUpperCase()}`;
        const ref = await secrets.put(`bitlocker-${driveId}`, TEST_BITLOCKER_KEYS[i % TEST_BITLOCKER_KEYS.length]!);
        drives.push({
          driveId,
          drivePath: path.join(dir, driveId),
          bitLockerKeyRef: ref,
          manifestFile: '\\DriveManifest.xml',
          manifestHash: randomUUID().replace(/-/g, '').toUpperCase(),
          fileCount: 3,
          byteCount: 1024,
        });
      }
      return drives;
    },
    async spec(overrides = {}) {
      return {
        jobName: `job-${randomUUID().slice(0, 8)}`,
        subscriptionId: SUBSCRIPTION_ID,
        resourceGroup: RESOURCE_GROUP,
        storageAccountId: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/importdata`,
        region: 'westus',
        returnAddress: {
          recipientName: 'Dana Operator',
          streetAddress1: '1 Harbour Road',
          city: 'Seattle',
          stateOrProvince: 'WA',
          postalCode: '98101',
          countryOrRegion: 'USA',
          phone: '+1 206 555 0100',
          email: 'dana@example.com',
        },
        returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '987654321' },
        drives: { prepared: await harness.preparedDrives(2) },
        notification: { kind: 'file', path: notificationsFile },
        timing: { trackingPollInitial: '1 second', trackingPollMax: '2 seconds', closedSiteRetryInterval: '1 second' },
        ...overrides,
      };
    },
    control,
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
