/** The preparation-station worker: runs drive preparation where the drives are attached. */
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerPlugin } from '@temporalio/worker';
import { createPrepareActivities } from '../activities/prepare/activity';
import type { SecretStore } from '../common/secret-ref';
import { prepareProgressInterceptor } from './prepare-progress';

export async function createPrepareWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  secrets: SecretStore;
  dataConverter?: DataConverter;
  plugins?: WorkerPlugin[];
  /** Least time between progress signals to the workflow (default 10 s). */
  progressSignalIntervalMs?: number;
  /** Cap on the bytes all of this station's preparations together copy per second (undefined or 0: unlimited). */
  maxBytesPerSecond?: number;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createPrepareActivities({ secrets: opts.secrets, maxBytesPerSecond: opts.maxBytesPerSecond }),
    plugins: opts.plugins,
    dataConverter: opts.dataConverter,
    interceptors: { activity: [prepareProgressInterceptor(opts.progressSignalIntervalMs)] },
    // Copying saturates the disks; a couple of preparations at once is plenty.
    maxConcurrentActivityTaskExecutions: 2,
  });
}

