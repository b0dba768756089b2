/**
 * The worker process: import-job workflows + REST activities on TASK_QUEUE, and (role `prepare`) the drive
 * preparation activity on this station's PREPARE_TASK_QUEUE. Stops gracefully on SIGINT/SIGTERM.
 */
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { loadAzureConfig } from '../activities/azure/config';
import { z } from 'zod';
import { loadSecurityConfig } from '../security/config';
import { redactingLogger } from '../security/redact';
import { dataConverterFor } from '../security/payload-codec';
import { createSecretStore } from '../security/secret-store';
import { activityMetricsPlugin, loadMetricsConfig, runtimeTelemetryOptions, startMetricsServer } from '../metrics';
import { createTracing } from '../metrics/tracing';
import { loadWorkerConfig, notificationPolicyOf } from './config';
import { buildImportJobActivities, createOrchestratorWorker, registerSearchAttributes } from './create-workers';
import { createPrepareWorker } from './prepare-worker';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const security = loadSecurityConfig();
  const dataConverter = dataConverterFor(security);
  const secrets = createSecretStore(security);
  const level = z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO').parse(process.env.LOG_LEVEL);
  // Every log line passes through redaction: keys, tokens and BitLocker passwords never reach the log.
  const metricsConfig = loadMetricsConfig();
  Runtime.install({
    logger: redactingLogger(new DefaultLogger(level), { keyRing: security.payloadKeys, level }),
    telemetryOptions: runtimeTelemetryOptions(metricsConfig),
  });
  const metricsServer = await startMetricsServer(metricsConfig);
  if (metricsServer) console.log(`[worker] metrics (Prometheus) on ${metricsServer.url}`);
  const tracing = createTracing(metricsConfig);
  const plugins = tracing ? [tracing.plugin] : [];
  // The activities record the project's metrics themselves; the plugin adds the count of failed attempts by type.
  const workerPlugins = [...plugins, activityMetricsPlugin()];

  // One connection for the workers and the activities' client: the core's native gRPC client costs a busy worker
  // much less CPU per call than @grpc/grpc-js (the tracking-number check lists workflows once per shipment).
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  if (config.REGISTER_SEARCH_ATTRIBUTES) {
    const added = await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    if (added.length > 0) console.log(`[worker] registered search attributes: ${added.join(', ')}`);
  }
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter, plugins });

  const workers: Worker[] = [];
  if (config.WORKER_ROLES.includes('orchestrator')) {
    const azure = loadAzureConfig();
    workers.push(
      await createOrchestratorWorker({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TASK_QUEUE,
        activities: buildImportJobActivities({ azure, secrets, temporal: client, namespace: config.TEMPORAL_NAMESPACE, notifications: notificationPolicyOf(config) }),
        plugins: workerPlugins,
        dataConverter,
        maxConcurrentActivityTaskExecutions: config.MAX_CONCURRENT_ACTIVITIES,
        maxConcurrentWorkflowTaskExecutions: config.MAX_CONCURRENT_WORKFLOW_TASKS,
        maxCachedWorkflows: config.MAX_CACHED_WORKFLOWS,
      }),
    );
    console.log(`[worker] orchestrator on task queue "${config.TASK_QUEUE}" (Azure endpoint ${azure.endpoint})`);
  }
  if (config.WORKER_ROLES.includes('prepare')) {
    workers.push(
      await createPrepareWorker({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.PREPARE_TASK_QUEUE,
        secrets,
        dataConverter,
        plugins: workerPlugins,
        maxBytesPerSecond: config.PREPARE_MAX_MIB_PER_SECOND * 1024 * 1024,
      }),
    );
    const cap = config.PREPARE_MAX_MIB_PER_SECOND ? `, copying at most ${config.PREPARE_MAX_MIB_PER_SECOND} MiB/s` : '';
    console.log(`[worker] preparation station on task queue "${config.PREPARE_TASK_QUEUE}"${cap}`);
  }
  console.log(`[worker] connected to ${config.TEMPORAL_ADDRESS} namespace ${config.TEMPORAL_NAMESPACE}; Ctrl-C to stop`);
  // Worker.run() resolves after SIGINT/SIGTERM once in-flight tasks are done (the SDK's default shutdown signals).
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await metricsServer?.close();
  await tracing?.shutdown();
  console.log('[worker] stopped');
}

main().catch((err) => {
  console.error(`[worker] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
