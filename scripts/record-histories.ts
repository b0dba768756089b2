/**
 * `npx tsx scripts/record-histories.ts <version>` records the happy path of both Azure APIs as committed histories
 * (test/fixtures/histories/import-job-happy-path-<version>.json, import-job-databox-happy-path-<version>.json),
 * run by the current workflow code against the dev server and the emulator. Record a new version whenever a
 * `patched()` change alters the commands a new run makes; test/replay.test.ts then replays every version.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { workflowIdForJob } from '../common/ids';
import { importJobWorkflow } from '../workflows/import-job';
import { shipUpdate, statusQuery } from '../workflows/import-job-messages';
import { eventually, startImportJobHarness } from '../test/helpers/import-job-harness';
import { TEST_SUBSCRIPTION_ID } from '../test/helpers/job-spec-fixture';

async function main(): Promise<void> {
  const version = process.argv[2] ?? '';
  if (!/^v\d+$/.test(version)) throw new Error(`usage: record-histories.ts <version>, e.g. v4 (got "${version}")`);
  const out = path.join(__dirname, '..', 'test', 'fixtures', 'histories');
  const h = await startImportJobHarness();
  const running = h.worker.run();
  try {
    for (const api of ['importexport', 'databox'] as const) {
      const spec = await h.spec(api === 'databox' ? { azure: { api: 'databox' } } : {});
      const handle = await h.env.client.workflow.start(importJobWorkflow, { args: [{ spec, startedBy: 'ops-test' }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
      await eventually(async () => (await handle.query(statusQuery)).step === 'awaiting-shipping', 30_000, 'awaiting shipping');
      const shipment = { carrierName: 'FedEx', trackingNumber: api === 'databox' ? '777788889999' : '123456789012', driveCount: 2, shipDate: new Date().toISOString().slice(0, 10), submittedBy: 'clerk-ann' };
      await handle.executeUpdate(shipUpdate, { args: [shipment] });
      await eventually(async () => (await handle.query(statusQuery)).step === 'tracking', 30_000, 'tracking');
      if (api === 'databox') await h.emulatorControl.dataBoxAdvance(TEST_SUBSCRIPTION_ID, spec.resourceGroup, spec.jobName, { to: 'Completed' });
      else await h.control(`jobs/${TEST_SUBSCRIPTION_ID}/${spec.resourceGroup}/${spec.jobName}/advance`, { to: 'Completed' }, 'POST');
      const outcome = await handle.result();
      const history = await handle.fetchHistory();
      const file = path.join(out, `import-job-${api === 'databox' ? 'databox-' : ''}happy-path-${version}.json`);
      fs.writeFileSync(file, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
      console.log(`${path.relative(process.cwd(), file)}: ${history.events?.length ?? 0} events, result ${outcome.result}`);
    }
  } finally {
    h.worker.shutdown();
    await running;
    await h.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
