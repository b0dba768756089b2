import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTimeSkippingEnv } from './helpers/temporal-env';
import * as activities from './helpers/smoke-activities';
import { fourteenDayTimerWorkflow } from './workflows/smoke';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await createTimeSkippingEnv();
});
after(async () => {
  await env?.teardown();
});

test('a 14-day timer finishes in seconds on the time-skipping server', async () => {
  const taskQueue = `smoke-ts-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('./workflows/smoke'),
    activities,
  });
  const started = Date.now();
  const sleptMs = await worker.runUntil(env.client.workflow.execute(fourteenDayTimerWorkflow, { taskQueue, workflowId: `timer-${randomUUID()}` }));
  const wallMs = Date.now() - started;
  assert.ok(sleptMs >= 14 * 24 * 3600 * 1000, `workflow time advanced only ${sleptMs} ms`);
  assert.ok(wallMs < 60_000, `took ${wallMs} ms of wall time`);
});
