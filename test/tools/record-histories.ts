/**
 * Records real histories of the import-job workflow (dev server + emulator) into test/fixtures/histories/, for the
 * replay test. Run after a deliberate workflow change: `npx tsx test/tools/record-histories.ts`.
 * Payloads are encrypted with the harness's fixed test key ring, which the replay test uses too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { workflowIdForJob } from '../../common/ids';
import { importJobWorkflow } from '../../workflows/import-job';
import { cancelUpdate, shipUpdate, statusQuery } from '../../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually, startImportJobHarness } from '../helpers/import-job-harness';

async function main(): Promise<void> {
  const h = await startImportJobHarness();
  const running = h.worker.run();
  const outDir = path.join(__dirname, '..', 'fixtures', 'histories');
  fs.mkdirSync(outDir, { recursive: true });
  const save = async (name: string, workflowId: string): Promise<void> => {
    const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
    fs.writeFileSync(path.join(outDir, `${name}.json`), `${historyToJSON(history)}\n`);
    console.log(`recorded ${name}: ${history.events?.length} events`);
  };
  try {
    // Happy path: ship update, then Transferring → Completed.
    const spec = await h.spec({ jobName: 'recorded-happy-path' });
    const handle = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec, startedBy: 'recorder' }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
    await eventually(async () => (await handle.query(statusQuery)).step === 'awaiting-shipping', 30_000);
    await handle.executeUpdate(shipUpdate, { args: [{ carrierName: 'FedEx', trackingNumber: '100000000001', driveCount: 2, shipDate: '2026-11-20', submittedBy: 'clerk' }] });
    await eventually(async () => (await handle.query(statusQuery)).step === 'tracking', 30_000);
    const advance = (to: string): Promise<unknown> => h.control(`jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${spec.jobName}/advance`, { to });
    await advance('Transferring');
    await eventually(async () => (await handle.query(statusQuery)).azureState === 'Transferring', 30_000);
    await advance('Completed');
    await handle.result();
    await save('import-job-happy-path-v2', handle.workflowId);

    // Closed site → alternate, then cancelled while waiting for shipping.
    await h.control('locations/westus/close', { alternates: ['westus2'] });
    const spec2 = await h.spec({ jobName: 'recorded-alternate-cancel' });
    const h2 = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec: spec2 }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec2.jobName) });
    await eventually(async () => (await h2.query(statusQuery)).step === 'awaiting-shipping', 30_000);
    await h2.executeUpdate(cancelUpdate, { args: [{ reason: 'recorded cancel', requestedBy: 'ops' }] });
    await h2.result();
    await save('import-job-alternate-cancel-v2', h2.workflowId);
    await h.control('locations/westus/open', {});
  } finally {
    h.worker.shutdown();
    await running;
    await h.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
