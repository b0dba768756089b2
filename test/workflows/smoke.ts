// Trivial workflows that prove the Temporal servers work: an activity, a signal, a query and a long timer.
import { condition, defineQuery, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type * as activities from '../helpers/smoke-activities';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export const approveSignal = defineSignal<[string]>('approve');
export const stageQuery = defineQuery<string>('stage');

export async function smokeWorkflow(name: string): Promise<string> {
  let stage = 'waiting-for-approval';
  let approver: string | undefined;
  setHandler(stageQuery, () => stage);
  setHandler(approveSignal, (who) => {
    approver = who;
  });
  await condition(() => approver !== undefined);
  stage = 'greeting';
  const greeting = await greet(name);
  stage = 'done';
  return `${greeting} (approved by ${approver})`;
}

/** Sleeps for 14 days, the Import/Export shipping window, then reports how long it slept in workflow time. */
export async function fourteenDayTimerWorkflow(): Promise<number> {
  const start = Date.now();
  await sleep('14 days');
  return Date.now() - start;
}
