import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodeFailure,
  encodeErrorToFailure,
  encodeToPayloads,
  loadDataConverter,
  decodeOptionalFailureToOptionalError,
} from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import {
  createDataConverter,
  dataConverterFor,
  EncryptionCodec,
  ENCODING_ENCRYPTED,
  FAILURE_CONVERTER_PATH,
  PayloadDecryptionError,
  UnknownEncryptionKeyError,
} from '../security/payload-codec';
import type { PayloadKeyRing } from '../security/keys';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ringK1: PayloadKeyRing = { currentKeyId: 'k1', keys: { k1 } };
const ringK1K2: PayloadKeyRing = { currentKeyId: 'k2', keys: { k1, k2 } };

const BITLOCKER = '123456-234567-345678-456789-567890-678901-789012-890123';
const ADDRESS = '1 Microsoft Way, Redmond, WA 98052';
const secretValue = { recoveryPassword: BITLOCKER, returnAddress: ADDRESS, drives: ['WD-1234'] };

const str = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? []).toString('utf8');
const toPayload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);

function allBytes(p: Payload): Buffer {
  return Buffer.from(temporal.api.common.v1.Payload.encode(p).finish());
}

void describe('EncryptionCodec', () => {
  void it('round-trips payloads, including metadata', async () => {
    const codec = new EncryptionCodec(ringK1);
    const original = [toPayload(secretValue), toPayload('hello'), toPayload(undefined), toPayload(new Uint8Array([1, 2, 3]))];
    const encoded = await codec.encode(original);
    assert.equal(encoded.length, original.length);
    for (const e of encoded) {
      assert.equal(str(e.metadata?.encoding), ENCODING_ENCRYPTED);
      assert.equal(str(e.metadata?.['encryption-key-id']), 'k1');
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded[0] as Payload), secretValue);
    assert.equal(defaultPayloadConverter.fromPayload(decoded[1] as Payload), 'hello');
    assert.equal(defaultPayloadConverter.fromPayload(decoded[2] as Payload), undefined);
    assert.deepEqual([...(defaultPayloadConverter.fromPayload(decoded[3] as Payload) as Uint8Array)], [1, 2, 3]);
    assert.equal(str(decoded[0]?.metadata?.encoding), 'json/plain');
  });

  void it('leaves no plaintext in encoded bytes and uses a fresh IV per payload', async () => {
    const codec = new EncryptionCodec(ringK1);
    const p = toPayload(secretValue);
    assert.ok(allBytes(p).includes(BITLOCKER), 'sanity: plaintext payload contains the key');
    const [a, b] = await codec.encode([p, p]);
    assert.ok(a && b);
    for (const e of [a, b]) {
      const bytes = allBytes(e);
      assert.ok(!bytes.includes(BITLOCKER), 'BitLocker key visible in ciphertext');
      assert.ok(!bytes.includes(ADDRESS), 'address visible in ciphertext');
      assert.ok(!bytes.includes('recoveryPassword'));
      assert.ok(!bytes.includes('json/plain'), 'inner metadata visible');
    }
    assert.notDeepEqual(Buffer.from(a.data ?? []), Buffer.from(b.data ?? []));
    assert.notDeepEqual(Buffer.from(a.data ?? []).subarray(0, 12), Buffer.from(b.data ?? []).subarray(0, 12));
  });

  void it('supports key rotation: old ciphertext decodes with the new ring, new encodes use the new key', async () => {
    const oldCodec = new EncryptionCodec(ringK1);
    const newCodec = new EncryptionCodec(ringK1K2);
    const old = await oldCodec.encode([toPayload(secretValue)]);
    const back = await newCodec.decode(old);
    assert.deepEqual(defaultPayloadConverter.fromPayload(back[0] as Payload), secretValue);
    const fresh = await newCodec.encode([toPayload('x')]);
    assert.equal(str(fresh[0]?.metadata?.['encryption-key-id']), 'k2');
    // and the old ring cannot read k2 data
    await assert.rejects(oldCodec.decode(fresh), (e: unknown) => e instanceof UnknownEncryptionKeyError && /"k2"/.test(e.message));
  });

  void it('names the unknown key id', async () => {
    const other = new EncryptionCodec({ currentKeyId: 'k9', keys: { k9: randomBytes(32) } });
    const enc = await other.encode([toPayload('x')]);
    await assert.rejects(new EncryptionCodec(ringK1).decode(enc), (e: unknown) => {
      assert.ok(e instanceof UnknownEncryptionKeyError);
      assert.equal(e.keyId, 'k9');
      assert.match(e.message, /"k9"/);
      assert.match(e.message, /known: k1/);
      return true;
    });
  });

  void it('rejects tampered ciphertext and wrong key material under the same id', async () => {
    const codec = new EncryptionCodec(ringK1);
    const [enc] = await codec.encode([toPayload('x')]);
    assert.ok(enc?.data);
    const tampered = Buffer.from(enc.data);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    await assert.rejects(codec.decode([{ ...enc, data: tampered }]), PayloadDecryptionError);
    const impostor = new EncryptionCodec({ currentKeyId: 'k1', keys: { k1: randomBytes(32) } });
    await assert.rejects(impostor.decode([enc]), /cannot decrypt payload with key id "k1"/);
  });

  void it('passes through payloads that are not encrypted', async () => {
    const p = toPayload({ a: 1 });
    const [out] = await new EncryptionCodec(ringK1).decode([p]);
    assert.equal(out, p);
  });

  void it('validates the key ring', () => {
    assert.throws(() => new EncryptionCodec({ currentKeyId: 'k2', keys: { k1 } }), /"k2" is not in the key ring/);
    assert.throws(() => new EncryptionCodec({ currentKeyId: 'k1', keys: { k1: randomBytes(16) } }), /32 bytes/);
  });
});

void describe('data converter', () => {
  void it('wires the codec and the encoding failure converter', () => {
    const dc = createDataConverter({ payloadKeys: ringK1 });
    assert.equal(dc.payloadCodecs?.length, 1);
    assert.ok(dc.payloadCodecs?.[0] instanceof EncryptionCodec);
    assert.equal(dc.failureConverterPath, FAILURE_CONVERTER_PATH);
    const cfg = { payloadKeys: ringK1 };
    assert.equal(dataConverterFor(cfg), dataConverterFor(cfg), 'memoised per key ring');
  });

  void it('encrypts failure messages and stack traces', async () => {
    const loaded = loadDataConverter(dataConverterFor({ payloadKeys: ringK1 }));
    const err = ApplicationFailure.nonRetryable(`CreateJob failed for key ${BITLOCKER} at ${ADDRESS}`, 'AzureError');
    const failure = await encodeErrorToFailure(loaded, err);
    const wire = Buffer.from(temporal.api.failure.v1.Failure.encode(failure).finish());
    assert.ok(!wire.includes(BITLOCKER), 'BitLocker key visible in failure');
    assert.ok(!wire.includes(ADDRESS), 'address visible in failure');
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    assert.equal(str(failure.encodedAttributes?.metadata?.encoding), ENCODING_ENCRYPTED);
    // The receiving side (client/worker with the same converter) gets the message back.
    const back = await decodeOptionalFailureToOptionalError(loaded, failure);
    assert.ok(back instanceof ApplicationFailure);
    assert.match(back.message, /CreateJob failed for key 123456-/);
    const decoded = await decodeFailure(loaded.payloadCodecs, failure);
    assert.ok(str(decoded.encodedAttributes?.data).includes(BITLOCKER));
  });

  void it('encodes values end to end through the loaded converter', async () => {
    const loaded = loadDataConverter(dataConverterFor({ payloadKeys: ringK1K2 }));
    const payloads = await encodeToPayloads(loaded, secretValue);
    assert.ok(payloads?.[0]);
    assert.ok(!allBytes(payloads[0]).includes(BITLOCKER));
    assert.equal(str(payloads[0].metadata?.['encryption-key-id']), 'k2');
  });
});
