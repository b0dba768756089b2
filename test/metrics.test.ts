/**
 * Worker metrics: the project's counters, recorded by the activities on Temporal's meter, served with the SDK's own
 * by the core runtime's Prometheus exporter behind the worker's one endpoint, scraped (fetch) while an import job
 * (prepared by a station worker) runs on the dev server against the emulator; plus the config, the HTTP endpoint
 * and OpenTelemetry tracing (spans for workflow and activities).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment, TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createAzurePorts } from '../activities/azure';
import { AzureConfigSchema, type AzureConfig } from '../activities/azure/config';
import { createImportJobActivities } from '../activities/import-job-activities';
import { parseDatasetCsv } from '../activities/prepare';
import { ShippingSiteSchema } from '../common/azure-job';
import { workflowIdForJob } from '../common/ids';
import type { JobSpecInput } from '../common/job-spec';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { activityMetricsPlugin, loadMetricsConfig, runtimeTelemetryOptions, startMetricsServer, type MetricsServer } from '../metrics';
import { activityFailureInterceptor } from '../metrics/activity-metrics';
import { createTracing } from '../metrics/tracing';
import { findTemporalCli } from '../scripts/lib/temporal-binaries';
import { freePort } from '../scripts/cluster/cluster';
import { InMemorySecretStore } from '../security/secret-store';
import { buildImportJobActivities, createOrchestratorWorker, WORKFLOWS_PATH } from '../worker/create-workers';
import { createPrepareWorker } from '../worker/prepare-worker';
import { importJobWorkflow } from '../workflows/import-job';
import { shipUpdate, statusQuery } from '../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually, testDataConverter } from './helpers/import-job-harness';
import { TEST_BITLOCKER_KEYS, testJobSpec } from './helpers/job-spec-fixture';


/** Polls until `fn` gives a value (the harness's `eventually`). */
const until = eventually;

/**
 * Sum of the sample lines `name{labels} value` that carry `labels` (in any order, among others such as the SDK's
 * namespace/taskQueue/activityType tags), or undefined when there is none.
 */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

const scrape = async (): Promise<string> => {
  const res = await fetch(metrics.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
};

const emulatorFault = async (fault: { operation: string; status: number }): Promise<void> => {
  const res = await fetch(`${emulator.httpUrl}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...fault, kind: 'status', count: 1 }),
  });
  assert.ok(res.ok);
};

const azureConfig = (): AzureConfig =>
  AzureConfigSchema.parse({
    endpoint: emulator.httpUrl,
    subscriptionId: SUBSCRIPTION_ID,
    credential: 'static-token',
    staticToken: 'metrics-token',
    allowInsecureHttp: true,
    apiVersion: '2021-01-01',
  });

let env: TestWorkflowEnvironment;
let emulator: RunningEmulator;
let metrics: MetricsServer;
let dir: string;

before(async () => {
  const temporalPort = await freePort();
  const config = loadMetricsConfig({ METRICS_BIND: '127.0.0.1:0', TEMPORAL_METRICS_BIND: `127.0.0.1:${temporalPort}` });
  // Exactly what worker/main.ts does, before any connection exists.
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: runtimeTelemetryOptions(config) });
  metrics = (await startMetricsServer(config))!;
  const cli = findTemporalCli();
  if (!cli) throw new Error('The Temporal CLI is not provisioned: run `npm run provision`.');
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cli }, searchAttributes: [...IMPORT_JOB_SEARCH_ATTRIBUTES] },
    client: { dataConverter: testDataConverter },
  });
  emulator = await startEmulator({ httpPort: 0, httpsPort: null });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-metrics-'));
});

after(async () => {
  await metrics?.close();
  await emulator?.close();
  await env?.teardown();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('metrics config', () => {
  test('defaults to loopback; METRICS_BIND=off disables; bad values name the variable', () => {
    assert.deepEqual(loadMetricsConfig({}), {
      bind: '127.0.0.1:9464',
      temporalBind: '127.0.0.1:9465',
      otlpEndpoint: undefined,
      serviceName: 'azure-import-orchestrator-worker',
    });
    assert.equal(loadMetricsConfig({ METRICS_BIND: 'off' }).bind, undefined);
    assert.equal(runtimeTelemetryOptions(loadMetricsConfig({ METRICS_BIND: 'off' })), undefined);
    assert.throws(() => loadMetricsConfig({ METRICS_BIND: '9464' }), /METRICS_BIND: expected host:port/);
    assert.throws(() => loadMetricsConfig({ METRICS_BIND: '127.0.0.1:0' }), /TEMPORAL_METRICS_BIND/);
    assert.throws(() => loadMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
    assert.equal(loadMetricsConfig({ METRICS_BIND: '0.0.0.0:9100' }).temporalBind, '127.0.0.1:9101', 'the core exporter stays on loopback');
  });
});

describe('metrics endpoint during an import job', () => {
  test('serves Temporal runtime metrics and project counters (job states, reminders, Azure errors, prepare bytes)', { timeout: 240_000 }, async () => {
    const secrets = new InMemorySecretStore();
    const taskQueue = `metrics-${randomUUID()}`;
    const stationQueue = `${taskQueue}-station`;
    const worker = await createOrchestratorWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      activities: buildImportJobActivities({ azure: azureConfig(), secrets, temporal: env.client, notifications: { directory: dir, webhookHosts: [], allowLoopbackWebhooks: false } }),
      dataConverter: testDataConverter,
      plugins: [activityMetricsPlugin()],
    });
    const station = await createPrepareWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue: stationQueue, secrets, dataConverter: testDataConverter, plugins: [activityMetricsPlugin()] });
    // Real data for the station to prepare: the bytes it writes are the bytes counted.
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    const fileSizes = [70_001, 4096, 123_457];
    fileSizes.forEach((size, i) => fs.writeFileSync(path.join(src, `f${i}.bin`), randomBytes(size)));
    fs.mkdirSync(path.join(dir, 'drive'));
    const spec = testJobSpec(
      { jobName: `met-${randomUUID().slice(0, 8)}`, drives: [], notification: { kind: 'file', path: 'notifications.jsonl' } },
      {
        drives: {
          prepare: {
            dataset: parseDatasetCsv(`BasePath,DstBlobPathOrPrefix\n${src}/,metrics/\n`, 'dataset.csv'),
            drives: [{ path: path.join(dir, 'drive'), driveId: 'METRICSA1', capacityBytes: 64 * 1024 * 1024, bitLockerKeyRef: await secrets.put('metrics-key', TEST_BITLOCKER_KEYS[0]!) }],
            stationTaskQueue: stationQueue,
            journalDir: path.join(dir, 'journal'),
          },
        },
        timing: {
          shippingWindow: '1 hour',
          reminders: ['1 second', '2 seconds'],
          trackingPollInitial: '1 second',
          trackingPollMax: '1 second',
          closedSiteRetryInterval: '1 second',
        },
      },
    );
    // One Put Job fails with 503 first (retried by Temporal): an AzureServerError to count.
    await emulatorFault({ operation: 'Jobs_Create', status: 503 });

    const stationRun = station.run();
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(importJobWorkflow, {
        args: [{ spec, startedBy: 'metrics-test' }],
        taskQueue,
        workflowId: workflowIdForJob(spec.jobName),
      });
      // Reminder (1 s) and escalation (2 s) while waiting for shipping.
      await until(async () => (await handle.query(statusQuery)).remindersSent.length === 2, 30_000, 'reminder + escalation');

      // Scraped mid-run: the Temporal runtime's own metrics are there already.
      const during = await scrape();
      assert.ok(sample(during, 'temporal_worker_task_slots_available', { worker_type: 'WorkflowWorker', task_queue: taskQueue }) !== undefined, 'Temporal slot metrics for our task queue');
      assert.ok(/^temporal_(workflow_task|activity)_\w+/m.test(during), 'Temporal task metrics');
      assert.equal(sample(during, 'aio_prepare_bytes_total'), fileSizes.reduce((a, b) => a + b, 0), 'the bytes the station prepared');
      assert.ok((sample(during, 'aio_prepare_bytes_per_second', { taskQueue: stationQueue }) ?? 0) > 0, 'throughput of the preparation');
      assert.equal(sample(during, 'aio_reminders_sent_total', { kind: 'reminder' }), 1);
      assert.equal(sample(during, 'aio_reminders_sent_total', { kind: 'escalation' }), 1);
      assert.equal(sample(during, 'aio_azure_errors_total', { type: 'AzureServerError' }), 1);
      assert.equal(sample(during, 'aio_import_job_state_transitions_total', { state: 'Creating' }), 1);

      await handle.executeUpdate(shipUpdate, {
        args: [{ carrierName: 'FedEx', trackingNumber: '123456789012', driveCount: 1, shipDate: new Date().toISOString().slice(0, 10) }],
      });
      await until(async () => (await handle.query(statusQuery)).step === 'tracking', 30_000, 'tracking');
      const adv = await fetch(`${emulator.httpUrl}/_emulator/jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${spec.jobName}/advance`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'Completed' }),
      });
      assert.ok(adv.ok);
      assert.equal((await handle.result()).result, 'completed');
    });
    station.shutdown();
    await stationRun;

    const text = await scrape();
    assert.equal(sample(text, 'aio_import_job_state_transitions_total', { state: 'Shipping' }), 1);
    assert.equal(sample(text, 'aio_import_job_state_transitions_total', { state: 'Completed' }), 1);
    assert.equal(sample(text, 'aio_import_job_state_transitions_total', { state: 'Creating' }), 1, 'polls of an unchanged state count once');
    assert.equal(sample(text, 'aio_notifications_sent_total', { kind: 'completed' }), 1);
    assert.equal(sample(text, 'aio_activity_failures_total', { activityType: 'createAzureJob', type: 'AzureServerError', taskQueue }), 1);
    assert.equal(sample(text, 'aio_activity_failures_total', { taskQueue }), 1, 'no other attempt failed');
    assert.ok((sample(text, 'temporal_workflow_completed', { task_queue: taskQueue }) ?? 0) >= 1, 'temporal_workflow_completed for our queue');
    assert.ok((sample(text, 'aio_process_resident_memory_bytes') ?? 0) > 0, 'process metrics');
    assert.ok((sample(text, 'aio_process_cpu_seconds_total') ?? 0) > 0, 'process CPU time');
    // Secrets never reach metrics.
    assert.ok(!text.includes(TEST_BITLOCKER_KEYS[0]!) && !text.includes('metrics-token'));
  });

  test('GET /healthz is ok, other paths 404, non-GET 405; a silent runtime exporter fails the scrape', async () => {
    const base = metrics.url.replace(/\/metrics$/, '');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(metrics.url, { method: 'POST' })).status, 405);
    assert.equal((await fetch(metrics.url, { method: 'HEAD' })).status, 200);
    assert.match(metrics.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'bound to loopback');
    // Nothing listens on the exporter port: Prometheus sees the target down (`up` 0), health stays ok.
    const orphan = (await startMetricsServer({ bind: '127.0.0.1:0', temporalBind: `127.0.0.1:${await freePort()}` }))!;
    try {
      assert.equal((await fetch(orphan.url)).status, 503);
      assert.equal((await fetch(orphan.url.replace(/\/metrics$/, '/healthz'))).status, 200);
    } finally {
      await orphan.close();
    }
  });

  test('an Azure activity counts its failure by the type classify() gave it; the caller gets that failure', async () => {
    const activities = createImportJobActivities({ azure: createAzurePorts(azureConfig()), secrets: new InMemorySecretStore() });
    const mock = new MockActivityEnvironment(
      { taskQueue: 'metrics-mock', activityType: 'getSite' },
      { metricMeter: Runtime.instance().metricMeter, interceptors: [activityFailureInterceptor] },
    );
    await emulatorFault({ operation: 'Locations_Get', status: 429 });
    await assert.rejects(
      mock.run(activities.getSite, { subscriptionId: SUBSCRIPTION_ID, locationName: 'westus' }),
      (e) => e instanceof ApplicationFailure && e.type === 'AzureThrottledError' && e.nonRetryable === false,
    );
    // The fault was used once: the next attempt succeeds and counts nothing.
    const site = ShippingSiteSchema.parse(await mock.run(activities.getSite, { subscriptionId: SUBSCRIPTION_ID, locationName: 'westus' }));
    assert.equal(site.locationName, 'westus');
    const text = await scrape();
    assert.equal(sample(text, 'aio_azure_errors_total', { type: 'AzureThrottledError', taskQueue: 'metrics-mock', activityType: 'getSite' }), 1);
    assert.equal(sample(text, 'aio_activity_failures_total', { type: 'AzureThrottledError', taskQueue: 'metrics-mock' }), 1);
  });
});

describe('OpenTelemetry tracing', () => {
  test('off without OTEL_EXPORTER_OTLP_ENDPOINT; with an exporter the plugin exports workflow spans', async () => {
    assert.equal(createTracing(loadMetricsConfig({})), undefined);
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing(loadMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), { exporter })!;
    const taskQueue = `tracing-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: {},
      dataConverter: testDataConverter,
      plugins: [tracing.plugin],
    });
    // A job spec the workflow rejects at once: enough to trace the workflow without Azure.
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(importJobWorkflow, {
        args: [{ spec: { jobName: 'x' } as unknown as JobSpecInput, startedBy: 'tracing-test' }],
        taskQueue,
        workflowId: `tracing-${randomUUID()}`,
      });
      await assert.rejects(handle.result());
    });
    await tracing.spanProcessor.forceFlush();
    const names = exporter.getFinishedSpans().map((s) => s.name);
    assert.ok(names.some((n) => n.startsWith('RunWorkflow:importJobWorkflow')), `workflow span exported (got ${names.join(', ')})`);
    await tracing.shutdown();
  });
});
