/**
 * Property: any spec the door accepts (JobSpecSchema) runs to its first durable wait without a workflow-task
 * failure: durations at the edges of what the schema allows, many reminders, both Azure APIs, every notification
 * kind. Random specs from fast-check, each run on the dev server against the emulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { workflowIdForJob } from '../common/ids';
import { JobSpecSchema, type JobSpecInput } from '../common/job-spec';
import { importJobWorkflow } from '../workflows/import-job';
import { statusQuery } from '../workflows/import-job-messages';
import { eventually, useImportJobHarness, type ImportJobHarness } from './helpers/import-job-harness';

let h: ImportJobHarness;
useImportJobHarness((harness) => (h = harness));

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Durations at and near the schema's edges, as strings and as milliseconds. */
const edgeDuration = (min: number, max: number): fc.Arbitrary<string | number> =>
  fc.oneof(
    fc.constantFrom<string | number>(min, max, '1 second', '100 ms', '1 minute', '59 minutes', '1 hour', '1 day', '13 days', '14 days', '366 days').filter((d) => {
      const ms = typeof d === 'number' ? d : ({ '1 second': 1000, '100 ms': 100, '1 minute': MINUTE, '59 minutes': 59 * MINUTE, '1 hour': 60 * MINUTE, '1 day': DAY, '13 days': 13 * DAY, '14 days': 14 * DAY, '366 days': 366 * DAY } as Record<string, number>)[d]!;
      return ms >= min && ms <= max;
    }),
    fc.integer({ min, max }),
  );

const timingArb = fc
  .record({
    shippingWindow: edgeDuration(MINUTE, 14 * DAY),
    closedSiteRetryInterval: edgeDuration(1000, 366 * DAY),
    trackingPollInitial: edgeDuration(100, 366 * DAY),
    trackingPollMax: edgeDuration(100, 366 * DAY),
    prepareHeartbeatTimeout: edgeDuration(1000, 366 * DAY),
    notReceivedAlertAfter: edgeDuration(1, 366 * DAY),
    reminderFractions: fc.uniqueArray(fc.double({ min: 0.0001, max: 0.9999, noNaN: true }), { maxLength: 20 }),
  })
  .map(({ reminderFractions, ...t }) => {
    const window = typeof t.shippingWindow === 'number' ? t.shippingWindow : 0;
    return {
      ...t,
      // Reminders inside the window (as milliseconds, so every value is exact), distinct.
      reminders: window > 0 ? [...new Set(reminderFractions.map((f) => Math.max(1, Math.floor(f * window))))].filter((r) => r < window) : [],
    };
  });

const specArb = fc.record({
  api: fc.constantFrom<'databox' | 'importexport'>('databox', 'importexport'),
  timing: timingArb,
  notification: fc.oneof(
    fc.constant({ kind: 'log' as const }),
    fc.constant({ kind: 'file' as const, path: 'notifications.jsonl' }),
    fc.constant({ kind: 'webhook' as const, url: 'https://hooks.example.com/import' }),
  ),
  tags: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/), fc.stringMatching(/^[A-Za-z0-9 ._-]{0,40}$/), { maxKeys: 15 }),
  logLevel: fc.constantFrom<'Error' | 'Verbose'>('Error', 'Verbose'),
  backupDriveManifest: fc.boolean(),
  driveCount: fc.integer({ min: 1, max: 10 }),
});

test('random valid specs reach their first wait without a workflow-task failure', { timeout: 540_000 }, async () => {
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(specArb, async (gen) => {
      const base = await h.spec({ drives: { prepared: await h.preparedDrives(gen.driveCount) } });
      const spec: JobSpecInput = {
        ...base,
        azure: { api: gen.api },
        timing: gen.timing,
        notification: gen.notification,
        tags: gen.tags,
        logLevel: gen.logLevel,
        backupDriveManifest: gen.backupDriveManifest,
        returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '987654321' },
      };
      // Only what the door accepts is in scope: the property is about valid input.
      fc.pre(JobSpecSchema.safeParse(spec).success);
      ran++;
      const handle = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
      try {
        const status = await eventually(async () => {
          const s = await handle.query(statusQuery);
          return ['awaiting-shipping', 'waiting-for-open-site', 'failed', 'expired'].includes(s.step) ? s : undefined;
        }, 60_000, `first wait of ${spec.jobName}`);
        const events = (await handle.fetchHistory()).events ?? [];
        const taskFailures = events.filter((e) => e.workflowTaskFailedEventAttributes);
        assert.equal(taskFailures.length, 0, `no workflow-task failure for ${JSON.stringify(gen.timing)}`);
        assert.notEqual(status.step, 'failed', `${spec.jobName} failed: ${status.failure}`);
      } finally {
        await handle.terminate('property test').catch(() => undefined);
      }
    }),
    { numRuns: 25, endOnFailure: true },
  );
  assert.ok(ran >= 15, `enough valid specs ran (${ran})`);
});
