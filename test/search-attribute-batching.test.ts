/** The merge the search-attribute batching interceptor applies to an activation's commands (workflows/search-attribute-batching.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeUpserts } from '../workflows/search-attribute-batching';

const payload = (v: string) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) });
const upsert = (fields: Record<string, string>) => ({ upsertWorkflowSearchAttributes: { searchAttributes: { indexedFields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, payload(v)])) } } });
const valuesOf = (c: ReturnType<typeof mergeUpserts>[number]) =>
  Object.fromEntries(Object.entries(c.upsertWorkflowSearchAttributes?.searchAttributes?.indexedFields ?? {}).map(([k, p]) => [k, JSON.parse(Buffer.from(p.data!).toString()) as string]));

test('an activation’s upserts become one, where the first was, the last value of each key winning', () => {
  const schedule = { scheduleActivity: { seq: 1, activityType: 'createAzureJob' } };
  const timer = { startTimer: { seq: 1 } };
  const merged = mergeUpserts([upsert({ ImportJobStep: 'preparing', ImportJobName: 'j' }), upsert({ ImportDriveIds: 'D1' }), schedule, upsert({ ImportJobStep: 'creating' }), timer]);
  assert.equal(merged.length, 3);
  assert.deepEqual(valuesOf(merged[0]!), { ImportJobStep: 'creating', ImportJobName: 'j', ImportDriveIds: 'D1' });
  assert.equal(merged[1], schedule);
  assert.equal(merged[2], timer);
});

test('commands without upserts pass unchanged, and the input commands are not mutated', () => {
  const commands = [{ startTimer: { seq: 1 } }, { scheduleActivity: { seq: 2 } }];
  assert.deepEqual(mergeUpserts(commands), commands);
  const first = upsert({ ImportJobStep: 'locating' });
  mergeUpserts([first, upsert({ ImportJobStep: 'creating' })]);
  assert.deepEqual(valuesOf(first), { ImportJobStep: 'locating' });
});
