/**
 * The benchmark's floor (bench/workflows.bench.ts): the import job's shape with nothing of its own. The same
 * activity round trips (no-op activities), the same ship update, the same timers (the shipping wait, the tracking
 * back-off), the same search-attribute upserts: what Temporal itself costs on this server. Not registered by the
 * product worker (workflows/index.ts does not export it).
 */
import { ApplicationFailure, condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { ImportJobStepKey } from '../common/search-attributes';

export interface FloorActivities {
  noop(): Promise<void>;
  /** True once the benchmark has "completed" the job (the floor's stand-in for Azure's final state). */
  done(jobName: string): Promise<boolean>;
}

const { noop } = proxyActivities<FloorActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '1 minute' });

export const floorShipUpdate = defineUpdate<boolean, [string]>('ship');

/**
 * The import job's happy path with a log notification target: the locate read (a local activity), create 1, the ship
 * update's 2 checks (local activities), the shipping update 1, then the tracking polls (local activities;
 * notifications to the log cost no activity).
 */
export async function floorWorkflow(jobName: string, pollInitialMs: number, pollMaxMs: number): Promise<void> {
  let step = 'locating';
  let shipped = false;
  setHandler(
    floorShipUpdate,
    async () => {
      await local.noop();
      await local.noop();
      shipped = true;
      upsertSearchAttributes([{ key: ImportJobStepKey, value: 'shipped' }]);
      return true;
    },
    {
      // As the import job's validator: a shipment before the job waits for one is refused without history.
      validator: (_trackingNumber: string) => {
        if (step !== 'awaiting-shipping') throw ApplicationFailure.nonRetryable('The job is not waiting for shipping information', 'NotAwaitingShipping');
      },
    },
  );
  upsertSearchAttributes([{ key: ImportJobStepKey, value: step }]);
  await local.noop();
  await noop();
  step = 'awaiting-shipping';
  upsertSearchAttributes([{ key: ImportJobStepKey, value: step }]);
  await condition(() => shipped, '14 days');
  await noop();
  let interval = pollInitialMs;
  while (!(await local.done(jobName))) {
    await sleep(interval);
    interval = Math.min(interval * 2, pollMaxMs);
  }
}
