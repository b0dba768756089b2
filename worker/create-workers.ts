/**
 * Builds the worker processes' parts; used by worker/main.ts and by tests, so both run the same wiring.
 */
import type { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkerPlugin, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createAzurePorts } from '../activities/azure';
import type { AzureConfig } from '../activities/azure/config';
import { createImportJobActivities } from '../activities/import-job-activities';
import { createNotificationActivity, defaultNotificationPolicy, type NotificationPolicy } from '../activities/notifier';
import type { SecretStore } from '../common/secret-ref';
import { IMPORT_JOB_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { FAILURE_CONVERTER_PATH } from '../security/payload-codec';
import { sharedWorkflowModules } from './workflow-shared-modules';

export const WORKFLOWS_PATH = require.resolve('../workflows');
const SEARCH_ATTRIBUTE_BATCHING_PATH = require.resolve('../workflows/search-attribute-batching');

/** The import-job activities on both Azure APIs, with notifications delivered under the worker's policy. */
export function buildImportJobActivities(deps: { azure: AzureConfig; secrets: SecretStore; temporal?: Client; namespace?: string; notifications?: NotificationPolicy }) {
  const activities = createImportJobActivities({ azure: createAzurePorts(deps.azure), secrets: deps.secrets, temporal: deps.temporal, namespace: deps.namespace });
  return { ...activities, ...createNotificationActivity(deps.notifications ?? defaultNotificationPolicy()) };
}

/** Adds the import-job search attributes a namespace lacks (dev server or self-hosted cluster). */
export async function registerSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<string[]> {
  const { IndexedValueType } = temporal.api.enums.v1;
  const typeOf = { KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST } as const;
  let have = new Set<string>();
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    have = new Set(Object.keys({ ...(existing.customAttributes ?? {}), ...(existing.systemAttributes ?? {}) }));
  } catch (err) {
    // Temporal's Java time-skipping test server implements add but not list.
    if ((err as { code?: number }).code !== 12 /* UNIMPLEMENTED */) throw err;
  }
  const missing = IMPORT_JOB_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, typeOf[k.type as keyof typeof typeOf]])),
  });
  return missing.map((k) => k.name);
}

let bundlePromise: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundles the workflow code once per process (webpack takes seconds); plugins (tracing) add their interceptors. */
export function workflowBundle(plugins: WorkerPlugin[] = []): Promise<WorkflowBundleWithSourceMap> {
  const build = (): Promise<WorkflowBundleWithSourceMap> =>
    bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      // The data converter's failure converter runs inside the workflow sandbox too, so it is bundled in.
      failureConverterPath: FAILURE_CONVERTER_PATH,
      // Import jobs write their search attributes once per activation (the workflow refuses to run without it).
      workflowInterceptorModules: [SEARCH_ATTRIBUTE_BATCHING_PATH],
      ...sharedWorkflowModules(),
      plugins,
      logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
    });
  if (plugins.length > 0) return build();
  bundlePromise ??= build();
  return bundlePromise;
}

export async function createOrchestratorWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: ReturnType<typeof buildImportJobActivities>;
  dataConverter?: DataConverter;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxCachedWorkflows?: number;
  plugins?: WorkerPlugin[];
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await workflowBundle(opts.plugins),
    activities: opts.activities,
    plugins: opts.plugins,
    dataConverter: opts.dataConverter,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions,
    // Parked jobs wait for weeks: a bounded sticky cache keeps memory flat however many jobs are parked.
    maxCachedWorkflows: opts.maxCachedWorkflows ?? 100,
  });
}

