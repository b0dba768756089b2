/** The preparation-station worker: runs drive preparation where the drives are attached. */
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createPrepareActivities } from '../activities/prepare/activity';
import type { SecretStore } from '../common/secret-ref';

export async function createPrepareWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  secrets: SecretStore;
  dataConverter?: DataConverter;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createPrepareActivities({ secrets: opts.secrets }),
    dataConverter: opts.dataConverter,
    // Copying saturates the disks; a couple of preparations at once is plenty.
    maxConcurrentActivityTaskExecutions: 2,
  });
}

