/**
 * Issue 6, key rotation: a job started while key k1 was current completes after every worker and client moved to
 * the ring {k1, k2; current k2}. Early payloads stay `encryption-key-id: k1` (and are still decrypted), new ones are
 * written with k2. Runs on the dev server against the Azure emulator with the production worker wiring.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { workflowIdForJob } from '../common/ids';
import { ENCODING_ENCRYPTED, EncryptionCodec, METADATA_ENCODING_KEY, METADATA_ENCRYPTION_KEY_ID, UnknownEncryptionKeyError, createDataConverter } from '../security/payload-codec';
import type { PayloadKeyRing } from '../security/keys';
import { LocalFileSecretStore } from '../security/secret-store';
import { buildImportJobActivities, createOrchestratorWorker } from '../worker/create-workers';
import { importJobWorkflow } from '../workflows/import-job';
import { shipUpdate, statusQuery, type ImportJobStatus } from '../workflows/import-job-messages';
import { RESOURCE_GROUP, SUBSCRIPTION_ID, eventually, startImportJobHarness, type ImportJobHarness } from './helpers/import-job-harness';

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);
const RING_1: PayloadKeyRing = { currentKeyId: 'k1', keys: { k1: K1 } };
const RING_2: PayloadKeyRing = { currentKeyId: 'k2', keys: { k1: K1, k2: K2 } };

let h: ImportJobHarness;
let harnessRun: Promise<void>;
before(async () => {
  h = await startImportJobHarness();
  // The harness worker (its own fixed ring and task queue) idles; this test runs its own workers.
  harnessRun = h.worker.run();
});
after(async () => {
  h.worker.shutdown();
  await harnessRun;
  await h.teardown();
});

/** A client + orchestrator worker pair on `taskQueue` using `ring`, as a rolled-out process would have. */
async function processWith(ring: PayloadKeyRing, taskQueue: string): Promise<{ client: Client; worker: Worker }> {
  const dataConverter = createDataConverter({ payloadKeys: ring });
  const namespace = h.env.namespace ?? 'default';
  const client = new Client({ connection: h.env.connection, namespace, dataConverter });
  const worker = await createOrchestratorWorker({
    connection: h.env.nativeConnection,
    namespace,
    taskQueue,
    activities: buildImportJobActivities({ azure: h.azure, secrets: h.secrets, temporal: client }),
    dataConverter,
  });
  return { client, worker };
}

async function waitForStep(handle: WorkflowHandle, step: ImportJobStatus['step']): Promise<ImportJobStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.step === step ? s : undefined;
  }, 30_000, `step ${step}`);
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Encrypted payloads of one event (walks the event's attributes). */
function encryptedPayloads(event: HistoryEvent): Payload[] {
  const out: Payload[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
    const o = v as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && o.data instanceof Uint8Array) {
      const enc = (o.metadata as Record<string, Uint8Array | undefined>)[METADATA_ENCODING_KEY];
      if (enc && Buffer.from(enc).toString() === ENCODING_ENCRYPTED) out.push(o as Payload);
      return;
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(event);
  return out;
}

const keyIdOf = (p: Payload): string => Buffer.from(p.metadata?.[METADATA_ENCRYPTION_KEY_ID] ?? new Uint8Array()).toString();
const eventName = (e: HistoryEvent): string => Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? String(e.eventType);

void describe('payload key rotation', () => {
  void test('a job started under k1 completes after workers and clients move to {k1, k2; current k2}', async () => {
    const taskQueue = `key-rotation-${randomUUID()}`;
    const spec = await h.spec();
    const workflowId = workflowIdForJob(spec.jobName);

    // Phase 1: ring {k1}. Start the job and let it reach awaiting-shipping; then this worker goes away.
    const p1 = await processWith(RING_1, taskQueue);
    const h1 = await p1.client.workflow.start(importJobWorkflow, { args: [{ spec, startedBy: 'ops-rotation' }], taskQueue, workflowId });
    await p1.worker.runUntil(waitForStep(h1, 'awaiting-shipping'));
    const eventsUnderK1 = (await h1.fetchHistory()).events ?? [];
    const k1Payloads = eventsUnderK1.flatMap(encryptedPayloads);
    assert.ok(k1Payloads.length >= 3, `payloads written under k1 (${k1Payloads.length})`);
    assert.deepEqual([...new Set(k1Payloads.map(keyIdOf))], ['k1'], 'everything so far is encrypted with k1');

    // Phase 2: the rotated ring everywhere. A fresh worker (no cache: it replays the k1 history) finishes the job.
    const p2 = await processWith(RING_2, taskQueue);
    const h2 = p2.client.workflow.getHandle<typeof importJobWorkflow>(workflowId);
    const today = new Date().toISOString().slice(0, 10);
    const outcome = await p2.worker.runUntil(async () => {
      const receipt = await h2.executeUpdate(shipUpdate, {
        args: [{ carrierName: 'FedEx', trackingNumber: '271828182845', driveCount: 2, shipDate: today, submittedBy: 'clerk-rot' }],
      });
      assert.equal(receipt.duplicate, false);
      await waitForStep(h2, 'tracking');
      // A process still on the old ring cannot read what the rotated ones write (roll the ring out everywhere).
      await assert.rejects(h1.query(statusQuery), (err: unknown) => {
        const text = `${String(err)} ${String((err as { cause?: unknown }).cause ?? '')}`;
        assert.match(text, /key id "k2"|UnknownEncryptionKeyError/);
        return true;
      });
      await h.control(`jobs/${SUBSCRIPTION_ID}/${RESOURCE_GROUP}/${spec.jobName}/advance`, { to: 'Completed' });
      return h2.result();
    });
    assert.equal(outcome.result, 'completed');
    assert.equal(outcome.azureState, 'Completed');
    assert.ok(outcome.drives.length === 2);

    // History: the first events (written under k1) still say k1, every later one says k2.
    const events = (await h2.fetchHistory()).events ?? [];
    assert.ok(events.length > eventsUnderK1.length);
    const early = events.slice(0, eventsUnderK1.length);
    const late = events.slice(eventsUnderK1.length);
    assert.deepEqual([...new Set(early.flatMap(encryptedPayloads).map(keyIdOf))], ['k1']);
    const lateIds = late.flatMap((e) => encryptedPayloads(e).map((p) => `${eventName(e)}:${keyIdOf(p)}`));
    assert.ok(lateIds.length >= 3, `payloads written after the rotation (${lateIds.length})`);
    assert.deepEqual(lateIds.filter((x) => !x.endsWith(':k2')), [], 'every payload written after the rotation uses k2');
    const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    assert.equal(started && keyIdOf(started), 'k1', 'WorkflowExecutionStarted input: k1');
    const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    assert.equal(completed && keyIdOf(completed), 'k2', 'WorkflowExecutionCompleted result: k2');
    const accepted = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    assert.ok(accepted, 'update accepted event');
    assert.deepEqual([...new Set(encryptedPayloads(accepted).map(keyIdOf))], ['k2'], 'update arguments (rotated client): k2');

    // The rotated codec decodes both generations; the started input still holds the spec.
    const codec = new EncryptionCodec(RING_2);
    const [input] = await codec.decode([started!]);
    assert.equal((JSON.parse(Buffer.from(input!.data!).toString()) as { spec: { jobName: string } }).spec.jobName, spec.jobName);
  });

  void test('codecs and the local secret store: old key ids stay readable, new data uses the current key, unknown ids are named', async () => {
    const c1 = new EncryptionCodec(RING_1);
    const c2 = new EncryptionCodec(RING_2);
    const plain: Payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hello"') };
    const [old] = await c1.encode([plain]);
    const [fresh] = await c2.encode([plain]);
    assert.equal(keyIdOf(old!), 'k1');
    assert.equal(keyIdOf(fresh!), 'k2');
    assert.equal(Buffer.from((await c2.decode([old!]))[0]!.data!).toString(), '"hello"');
    await assert.rejects(c1.decode([fresh!]), (err: unknown) => err instanceof UnknownEncryptionKeyError && /key id "k2"/.test(err.message));

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-rotation-secrets-'));
    try {
      const s1 = new LocalFileSecretStore({ dir, keyRing: RING_1 });
      const ref = await s1.put('bitlocker-rot-1', '111111-222222-333333-444444-555555-666666-777777-888888');
      const s2 = new LocalFileSecretStore({ dir, keyRing: RING_2 });
      assert.equal(await s2.get(ref), '111111-222222-333333-444444-555555-666666-777777-888888');
      await s2.put('bitlocker-rot-2', '123456-123456-123456-123456-123456-123456-123456-123456');
      const file = JSON.parse(fs.readFileSync(s2.fileFor('bitlocker-rot-2'), 'utf8')) as { keyId: string };
      assert.equal(file.keyId, 'k2');
      assert.equal((JSON.parse(fs.readFileSync(s2.fileFor('bitlocker-rot-1'), 'utf8')) as { keyId: string }).keyId, 'k1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
