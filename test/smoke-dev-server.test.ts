import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv } from './helpers/temporal-env';
import * as activities from './helpers/smoke-activities';
import { approveSignal, smokeWorkflow, stageQuery } from './workflows/smoke';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await createDevServerEnv();
});
after(async () => {
  await env?.teardown();
});

test('a workflow with an activity, a signal and a query runs on the real dev server', async () => {
  const taskQueue = `smoke-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('./workflows/smoke'),
    activities,
  });
  const result = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(smokeWorkflow, { args: ['Azure'], taskQueue, workflowId: `smoke-${randomUUID()}` });
    assert.equal(await handle.query(stageQuery), 'waiting-for-approval');
    await handle.signal(approveSignal, 'clerk-1');
    const out = await handle.result();
    assert.equal(await handle.query(stageQuery), 'done');
    // The history really lives on the server: it has the activity and the signal.
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    assert.ok(types.length >= 10, `expected a full history, got ${types.length} events`);
    return out;
  });
  assert.equal(result, 'Hello, Azure (approved by clerk-1)');
});
