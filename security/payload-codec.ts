import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { aesGcmDecrypt, aesGcmEncrypt, findKey, keyIds, KEY_BYTES, KEY_ID_PATTERN, type PayloadKeyRing } from './keys';

/** Metadata `encoding` value of payloads produced by {@link EncryptionCodec}. */
export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_ENCODING_KEY = 'encoding';
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';

/**
 * Absolute path of the module exporting `failureConverter` (DefaultFailureConverter with encodeCommonAttributes).
 * SDK 1.24's DataConverter only accepts failure converters by path, because the workflow bundle must load it too.
 */
export const FAILURE_CONVERTER_PATH: string = require.resolve('./failure-converter');

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Thrown when a payload names a key id this process does not hold. */
export class UnknownEncryptionKeyError extends Error {
  override name = 'UnknownEncryptionKeyError';
  constructor(
    readonly keyId: string,
    known: readonly string[],
  ) {
    super(
      `payload was encrypted with key id "${keyId}", which is not in this process's key ring ` +
        `(known: ${known.join(', ') || 'none'}); add it to PAYLOAD_KEYS / PAYLOAD_KEY_FILE`,
    );
  }
}

/** Thrown when an encrypted payload cannot be decrypted (wrong key material for the id, or tampered data). */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

function validateKeyRing(ring: PayloadKeyRing): void {
  const ids = keyIds(ring);
  if (ids.length === 0) throw new Error('payload key ring is empty');
  for (const id of ids) {
    if (!KEY_ID_PATTERN.test(id)) throw new Error(`payload key id "${id}" is not valid (${KEY_ID_PATTERN.source})`);
    const k = findKey(ring, id);
    if (k === undefined || k.length !== KEY_BYTES) throw new Error(`payload key "${id}" must be ${KEY_BYTES} bytes`);
  }
  if (findKey(ring, ring.currentKeyId) === undefined) {
    throw new Error(`current payload key id "${ring.currentKeyId}" is not in the key ring (${ids.join(', ')})`);
  }
}

/**
 * AES-256-GCM payload codec. Encode serialises the whole original Payload protobuf and encrypts it with the current
 * key (random 12-byte IV per payload; layout `iv | ciphertext | tag`), tagging the result with
 * `encoding: binary/encrypted` and `encryption-key-id: <id>`. Decode accepts any key in the ring and passes through
 * payloads that are not `binary/encrypted`.
 */
export class EncryptionCodec implements PayloadCodec {
  /**
   * An ES private field, not a TS `private`: the Worker logs its whole options object at DEBUG ("Creating worker",
   * `dataConverter.payloadCodecs` included) and `util.inspect` / `JSON.stringify` / `redactObject` see every own
   * enumerable property, so a plain field would print the key bytes. `#ring` is invisible to all of them.
   */
  readonly #ring: PayloadKeyRing;

  constructor(keyRing: PayloadKeyRing) {
    validateKeyRing(keyRing);
    // Private copy so later mutation of the caller's object cannot swap keys underneath us.
    const keys: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>;
    for (const id of keyIds(keyRing)) keys[id] = Uint8Array.from(findKey(keyRing, id) ?? []);
    this.#ring = { currentKeyId: keyRing.currentKeyId, keys };
  }

  /** The key id new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.#ring.currentKeyId;
  }

  /** Ids (never the key material) of the keys this codec can decrypt with. */
  get keyIds(): string[] {
    return keyIds(this.#ring);
  }

  /** What logs and dumps show: ids only. */
  toJSON(): { codec: 'EncryptionCodec'; currentKeyId: string; keyIds: string[] } {
    return { codec: 'EncryptionCodec', currentKeyId: this.currentKeyId, keyIds: this.keyIds };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `EncryptionCodec { currentKeyId: '${this.currentKeyId}', keyIds: [${this.keyIds.map((k) => `'${k}'`).join(', ')}] }`;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.#ring.currentKeyId;
    const key = findKey(this.#ring, keyId);
    if (key === undefined) throw new UnknownEncryptionKeyError(keyId, keyIds(this.#ring));
    return payloads.map((payload) => ({
      metadata: {
        [METADATA_ENCODING_KEY]: utf8.encode(ENCODING_ENCRYPTED),
        [METADATA_ENCRYPTION_KEY_ID]: utf8.encode(keyId),
      },
      data: aesGcmEncrypt(key, temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || utf8d.decode(encoding) !== ENCODING_ENCRYPTED) return payload;
      const keyIdBytes = payload.metadata?.[METADATA_ENCRYPTION_KEY_ID];
      if (!keyIdBytes) throw new PayloadDecryptionError(`encrypted payload has no "${METADATA_ENCRYPTION_KEY_ID}" metadata`);
      if (!payload.data) throw new PayloadDecryptionError('encrypted payload has no data');
      const keyId = utf8d.decode(keyIdBytes);
      const key = findKey(this.#ring, keyId);
      if (key === undefined) throw new UnknownEncryptionKeyError(keyId, keyIds(this.#ring));
      let plain: Buffer;
      try {
        plain = aesGcmDecrypt(key, payload.data);
      } catch {
        throw new PayloadDecryptionError(
          `cannot decrypt payload with key id "${keyId}": wrong key material for that id, or the payload was altered`,
        );
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** Anything carrying a payload key ring: a SecurityConfig, or `{ payloadKeys: ring }`. */
export interface HasPayloadKeys {
  readonly payloadKeys: PayloadKeyRing;
}

/**
 * Builds a new DataConverter: EncryptionCodec over the key ring, plus the failure converter that encodes (and so
 * encrypts) failure messages and stack traces.
 */
export function createDataConverter(config: HasPayloadKeys): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(config.payloadKeys)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

const memo = new WeakMap<PayloadKeyRing, DataConverter>();

/**
 * The DataConverter every Client, Worker, TestWorkflowEnvironment and replay run must use (memoised per key ring).
 * Workers bundling workflows themselves (bundleWorkflowCode) must also pass `failureConverterPath` to the bundler.
 */
export function dataConverterFor(config: HasPayloadKeys): DataConverter {
  let dc = memo.get(config.payloadKeys);
  if (dc === undefined) {
    dc = createDataConverter(config);
    memo.set(config.payloadKeys, dc);
  }
  return dc;
}
