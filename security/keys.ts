import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;
/** AES-GCM IV length in bytes (random per message). */
export const IV_BYTES = 12;
/** AES-GCM authentication tag length in bytes. */
export const TAG_BYTES = 16;

/** Key ids travel in payload metadata and file names: keep them short and boring. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A set of AES-256 keys addressed by id. Data is encrypted with `currentKeyId` and decrypted with whichever key
 * id it names, so old keys stay in the ring until nothing encrypted with them is needed any more.
 */
export interface PayloadKeyRing {
  readonly currentKeyId: string;
  readonly keys: Readonly<Record<string, Uint8Array>>;
}

/** 32 cryptographically random bytes. */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** Looks a key up by id (own properties only); undefined when the ring does not hold it. */
export function findKey(ring: PayloadKeyRing, keyId: string): Uint8Array | undefined {
  return Object.prototype.hasOwnProperty.call(ring.keys, keyId) ? ring.keys[keyId] : undefined;
}

/** Ids of the keys in the ring, for error messages (never the key material). */
export function keyIds(ring: PayloadKeyRing): string[] {
  return Object.keys(ring.keys);
}

/** Derives a purpose-bound sub-key so the same ring key is never used directly for two different formats. */
export function deriveKey(key: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(purpose, 'utf8'), KEY_BYTES));
}

/** AES-256-GCM encrypt; output layout `iv (12) | ciphertext | tag (16)` (same as WebCrypto + prepended IV). */
export function aesGcmEncrypt(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`AES-256-GCM needs a ${KEY_BYTES}-byte key, got ${key.length} bytes`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  if (aad) cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Inverse of {@link aesGcmEncrypt}; throws when the key is wrong or the data was tampered with. */
export function aesGcmDecrypt(key: Uint8Array, blob: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES) throw new Error(`AES-256-GCM needs a ${KEY_BYTES}-byte key, got ${key.length} bytes`);
  if (blob.length < IV_BYTES + TAG_BYTES) throw new Error('ciphertext is too short to be AES-256-GCM output');
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const iv = buf.subarray(0, IV_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const body = buf.subarray(IV_BYTES, buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}
