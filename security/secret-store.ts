import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import type { SecretClient } from '@azure/keyvault-secrets';
import { z } from 'zod';
import { SecretRefSchema, type SecretBinding, type SecretRef, type SecretStore } from '../common/secret-ref';
import { aesGcmDecrypt, aesGcmEncrypt, deriveKey, findKey, keyIds, type PayloadKeyRing } from './keys';

type StoreKind = SecretRef['store'];

/** A secret name that is not known to the store. */
export class SecretNotFoundError extends Error {
  override name = 'SecretNotFoundError';
}

/** `put` of a different value under a name that already holds one. */
export class SecretConflictError extends Error {
  override name = 'SecretConflictError';
}

/** A secret asked for on behalf of a job it does not belong to. Not retryable: the reference itself is wrong. */
export class SecretBindingError extends Error {
  override name = 'SecretBindingError';
}

const SecretNameSchema = SecretRefSchema.shape.name;

function checkName(name: string): string {
  const r = SecretNameSchema.safeParse(name);
  // The name is not secret, so it may appear in the message.
  if (!r.success) throw new Error(`invalid secret name "${name}": letters, digits and dashes, 1-127 characters`);
  return r.data;
}

function checkRef(ref: SecretRef, store: StoreKind): SecretRef {
  const r = SecretRefSchema.safeParse(ref);
  if (!r.success) throw new Error('invalid secret reference (expected { kind: "secret-ref", store, name })');
  if (r.data.store !== store) {
    throw new Error(`secret reference "${r.data.name}" belongs to the "${r.data.store}" store, not "${store}"`);
  }
  return r.data;
}

/** Constant-time string equality (hash first so lengths do not leak either). */
function sameValue(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Whether a secret recorded as belonging to `owner` may be handed out for `binding`. Secrets written without a
 * binding (before bindings existed, or by tools that prepare drives before any job exists) belong to no job and
 * are handed out to whoever holds the reference; every secret a job spec brings in is written bound.
 */
function checkBinding(name: string, owner: string | undefined, binding: SecretBinding | undefined): void {
  if (binding === undefined || owner === undefined || owner === binding.jobName) return;
  throw new SecretBindingError(`secret "${name}" belongs to another job, not to ${binding.jobName}`);
}

/** A put for a job may reuse an existing secret only when it is unbound or already that job's. */
function sameOwner(owner: string | undefined, binding: SecretBinding | undefined): boolean {
  return binding === undefined || owner === undefined || owner === binding.jobName;
}

function conflict(name: string, store: StoreKind): SecretConflictError {
  return new SecretConflictError(
    `secret "${name}" already exists in the ${store} secret store with a different value; ` +
      `secrets are write-once: use a new name`,
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// In-memory (tests)
// ---------------------------------------------------------------------------------------------------------------------

/** Process-local store for tests. Same semantics as the real stores (write-once, idempotent put). */
export class InMemorySecretStore implements SecretStore {
  /** ES private, so logging or inspecting the store never prints the secrets. */
  readonly #values = new Map<string, { value: string; owner?: string }>();

  constructor(private readonly store: StoreKind = 'local') {}

  async put(name: string, value: string, binding?: SecretBinding): Promise<SecretRef> {
    checkName(name);
    const existing = this.#values.get(name);
    if (existing !== undefined) {
      if (!sameValue(existing.value, value) || !sameOwner(existing.owner, binding)) throw conflict(name, this.store);
    } else this.#values.set(name, binding ? { value, owner: binding.jobName } : { value });
    return { kind: 'secret-ref', store: this.store, name };
  }

  async get(ref: SecretRef, binding?: SecretBinding): Promise<string> {
    const { name } = checkRef(ref, this.store);
    const v = this.#values.get(name);
    if (v === undefined) throw new SecretNotFoundError(`secret "${name}" not found in the in-memory secret store`);
    checkBinding(name, v.owner, binding);
    return v.value;
  }

  /** Number of stored secrets (tests). */
  get size(): number {
    return this.#values.size;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Local encrypted files
// ---------------------------------------------------------------------------------------------------------------------

const LOCAL_STORE_KEY_PURPOSE = 'azure-import-orchestrator/local-secret-store/v1';

/** v1 files (written before secrets were bound to jobs) are still read; new files are v2. */
const LocalSecretFileSchema = z.discriminatedUnion('format', [
  z
    .object({
      format: z.literal('aio-secret/v1'),
      name: z.string(),
      keyId: z.string(),
      /** base64 of `iv | ciphertext | tag`; AAD = format + name. */
      ciphertext: z.string(),
    })
    .strict(),
  z
    .object({
      format: z.literal('aio-secret/v2'),
      name: z.string(),
      /** The job the secret belongs to (bound into the AAD, so it cannot be edited to hand the key to another job). */
      jobName: z.string().optional(),
      keyId: z.string(),
      /** base64 of `iv | ciphertext | tag`; AAD = format + name + jobName. */
      ciphertext: z.string(),
    })
    .strict(),
]);
type LocalSecretFile = z.infer<typeof LocalSecretFileSchema>;

export interface LocalFileSecretStoreOptions {
  /** Directory holding one `<name>.secret.json` file per secret (created 0700). */
  dir: string;
  /** Ring whose keys (HKDF-derived per purpose) encrypt the files: current key to write, any key to read. */
  keyRing: PayloadKeyRing;
}

/**
 * One AES-256-GCM encrypted file per secret under a directory (mode 0600, directory 0700). Writes are atomic and
 * write-once: the file is created via a temp file + hard link, so concurrent puts of the same name cannot both win.
 * The secret name is bound into the ciphertext (AAD), so files cannot be swapped between names.
 */
export class LocalFileSecretStore implements SecretStore {
  readonly dir: string;
  /** ES private (not TS `private`): never shown by util.inspect / JSON.stringify / redactObject if the store is logged. */
  readonly #ring: PayloadKeyRing;

  constructor(opts: LocalFileSecretStoreOptions) {
    this.dir = path.resolve(opts.dir);
    if (findKey(opts.keyRing, opts.keyRing.currentKeyId) === undefined) {
      throw new Error(`current key id "${opts.keyRing.currentKeyId}" is not in the key ring`);
    }
    this.#ring = opts.keyRing;
  }

  /** Path of the file that holds `name` (exported for tests/ops; the content is ciphertext). */
  fileFor(name: string): string {
    return path.join(this.dir, `${checkName(name)}.secret.json`);
  }

  private aad(file: Pick<LocalSecretFile, 'name'> & { format: LocalSecretFile['format']; jobName?: string }): Buffer {
    if (file.format === 'aio-secret/v1') return Buffer.from(`aio-secret/v1\0${file.name}`, 'utf8');
    return Buffer.from(`aio-secret/v2\0${file.name}\0${file.jobName ?? ''}`, 'utf8');
  }

  private encrypt(name: string, value: string, binding: SecretBinding | undefined): string {
    const keyId = this.#ring.currentKeyId;
    const key = findKey(this.#ring, keyId);
    if (key === undefined) throw new Error(`current key id "${keyId}" is not in the key ring`);
    const header = { format: 'aio-secret/v2' as const, name, ...(binding ? { jobName: binding.jobName } : {}) };
    const blob = aesGcmEncrypt(deriveKey(key, LOCAL_STORE_KEY_PURPOSE), Buffer.from(value, 'utf8'), this.aad(header));
    const file: LocalSecretFile = { ...header, keyId, ciphertext: blob.toString('base64') };
    return `${JSON.stringify(file)}\n`;
  }

  private async readFile(name: string): Promise<{ value: string; owner?: string } | undefined> {
    const file = this.fileFor(name);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let parsed: LocalSecretFile;
    try {
      parsed = LocalSecretFileSchema.parse(JSON.parse(text));
    } catch {
      throw new Error(`secret file ${file} is not a valid aio-secret file`);
    }
    if (parsed.name !== name) throw new Error(`secret file ${file} holds secret "${parsed.name}", not "${name}"`);
    const key = findKey(this.#ring, parsed.keyId);
    if (key === undefined) {
      throw new Error(
        `secret "${name}" was encrypted with key id "${parsed.keyId}", which is not in the key ring ` +
          `(known: ${keyIds(this.#ring).join(', ')}); add it to PAYLOAD_KEYS / PAYLOAD_KEY_FILE`,
      );
    }
    const owner = parsed.format === 'aio-secret/v2' ? parsed.jobName : undefined;
    try {
      const value = aesGcmDecrypt(deriveKey(key, LOCAL_STORE_KEY_PURPOSE), Buffer.from(parsed.ciphertext, 'base64'), this.aad(parsed)).toString('utf8');
      return owner === undefined ? { value } : { value, owner };
    } catch {
      throw new Error(`cannot decrypt secret "${name}" with key id "${parsed.keyId}" (wrong key or file altered): ${file}`);
    }
  }

  async put(name: string, value: string, binding?: SecretBinding): Promise<SecretRef> {
    const file = this.fileFor(name);
    const ref: SecretRef = { kind: 'secret-ref', store: 'local', name };
    const existing = await this.readFile(name);
    if (existing !== undefined) {
      if (!sameValue(existing.value, value) || !sameOwner(existing.owner, binding)) throw conflict(name, 'local');
      return ref;
    }
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(this.encrypt(name, value, binding), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.link(tmp, file); // atomic create-if-absent
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Lost a race with another put of the same name: same value is fine, different is a conflict.
      const winner = await this.readFile(name);
      if (winner === undefined || !sameValue(winner.value, value) || !sameOwner(winner.owner, binding)) throw conflict(name, 'local');
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return ref;
  }

  async get(ref: SecretRef, binding?: SecretBinding): Promise<string> {
    const { name } = checkRef(ref, 'local');
    const v = await this.readFile(name);
    if (v === undefined) throw new SecretNotFoundError(`secret "${name}" not found in the local secret store at ${this.dir}`);
    checkBinding(name, v.owner, binding);
    return v.value;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Azure Key Vault
// ---------------------------------------------------------------------------------------------------------------------

/** The part of SecretClient this store uses (lets tests pass a fake). */
export type KeyVaultSecretsClient = Pick<SecretClient, 'getSecret' | 'setSecret'>;

export interface KeyVaultSecretStoreOptions {
  /** https://<vault>.vault.azure.net */
  vaultUrl: string;
  /** Default: DefaultAzureCredential. */
  credential?: TokenCredential;
  /** Injected client (tests); overrides vaultUrl/credential. */
  client?: KeyVaultSecretsClient;
  /**
   * What `put` does when the name already holds a different value: 'error' (default, write-once like the local store)
   * or 'new-version' (setSecret adds a version; references then resolve to the newest).
   */
  onConflict?: 'error' | 'new-version';
}

function statusOf(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'statusCode' in e) {
    const s = (e as { statusCode?: unknown }).statusCode;
    return typeof s === 'number' ? s : undefined;
  }
  return undefined;
}

/** Error text of an Azure SDK failure without request/response bodies (which could hold the value). */
function azureErrorSummary(e: unknown): string {
  const status = statusOf(e);
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code?: unknown }).code) : undefined;
  return [status !== undefined ? `HTTP ${status}` : undefined, code].filter(Boolean).join(' ') || (e instanceof Error ? e.name : 'error');
}

/** Key Vault tag naming the job a secret belongs to (who may set tags is governed by the vault's access policy). */
const JOB_TAG = 'import-job';

/** Secrets in Azure Key Vault: put = setSecret unless the same value already exists; get = getSecret (latest version). */
export class KeyVaultSecretStore implements SecretStore {
  private client: KeyVaultSecretsClient | undefined;
  private readonly credential: TokenCredential | undefined;
  private readonly onConflict: 'error' | 'new-version';
  readonly vaultUrl: string;

  constructor(opts: KeyVaultSecretStoreOptions) {
    this.vaultUrl = opts.vaultUrl;
    this.client = opts.client;
    this.credential = opts.credential;
    this.onConflict = opts.onConflict ?? 'error';
  }

  /** The Azure SDK loads on first use: it is large, and most processes using the local store never need it. */
  private async sdk(): Promise<KeyVaultSecretsClient> {
    if (!this.client) {
      const [{ SecretClient: Client }, { DefaultAzureCredential }] = await Promise.all([import('@azure/keyvault-secrets'), import('@azure/identity')]);
      this.client = new Client(this.vaultUrl, this.credential ?? new DefaultAzureCredential());
    }
    return this.client;
  }

  private async current(name: string): Promise<{ value: string; owner?: string } | undefined> {
    try {
      const s = await (await this.sdk()).getSecret(name);
      if (s.value === undefined) return undefined;
      const owner = s.properties.tags?.[JOB_TAG];
      return owner === undefined ? { value: s.value } : { value: s.value, owner };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw new Error(`Key Vault getSecret("${name}") at ${this.vaultUrl} failed: ${azureErrorSummary(e)}`);
    }
  }

  async put(name: string, value: string, binding?: SecretBinding): Promise<SecretRef> {
    checkName(name);
    const ref: SecretRef = { kind: 'secret-ref', store: 'keyvault', name };
    const existing = await this.current(name);
    if (existing !== undefined) {
      // A new version never moves a secret to another job: that would hand the first job's reference a foreign key.
      if (!sameOwner(existing.owner, binding)) throw conflict(name, 'keyvault');
      if (sameValue(existing.value, value)) return ref;
      if (this.onConflict === 'error') throw conflict(name, 'keyvault');
    }
    try {
      await (await this.sdk()).setSecret(name, value, { contentType: 'text/plain', ...(binding ? { tags: { [JOB_TAG]: binding.jobName } } : {}) });
    } catch (e) {
      const hint = statusOf(e) === 409 ? ' (a deleted secret with this name may be awaiting purge)' : '';
      throw new Error(`Key Vault setSecret("${name}") at ${this.vaultUrl} failed: ${azureErrorSummary(e)}${hint}`);
    }
    return ref;
  }

  async get(ref: SecretRef, binding?: SecretBinding): Promise<string> {
    const { name } = checkRef(ref, 'keyvault');
    const v = await this.current(name);
    if (v === undefined) throw new SecretNotFoundError(`secret "${name}" not found in Key Vault ${this.vaultUrl}`);
    checkBinding(name, v.owner, binding);
    return v.value;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Factory
// ---------------------------------------------------------------------------------------------------------------------

export interface SecretStoreConfig {
  readonly payloadKeys: PayloadKeyRing;
  readonly secretStore: { readonly kind: 'local'; readonly dir: string } | { readonly kind: 'keyvault'; readonly vaultUrl: string };
}

/** Builds the store selected by SECRET_STORE (see loadSecurityConfig). */
export function createSecretStore(config: SecretStoreConfig, deps: { credential?: TokenCredential } = {}): SecretStore {
  const s = config.secretStore;
  if (s.kind === 'local') return new LocalFileSecretStore({ dir: s.dir, keyRing: config.payloadKeys });
  return new KeyVaultSecretStore({ vaultUrl: s.vaultUrl, ...(deps.credential ? { credential: deps.credential } : {}) });
}
