import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { KEY_BYTES, KEY_ID_PATTERN, generateKey, type PayloadKeyRing } from './keys';

/** Default location of the generated local key file (under data/, which is gitignored). */
export const DEFAULT_LOCAL_KEY_FILE = 'data/keys/payload-keys.json';
/** Default location of the generated local codec-server token. */
export const DEFAULT_LOCAL_CODEC_TOKEN_FILE = 'data/keys/codec-server-token';
export const DEFAULT_SECRET_STORE_DIR = 'data/secrets';
export const DEFAULT_CODEC_SERVER_PORT = 8888;
export const DEFAULT_CODEC_SERVER_HOST = '127.0.0.1';
export const DEFAULT_CODEC_CORS_ORIGINS: readonly string[] = ['http://localhost:8233', 'http://127.0.0.1:8233'];
/** Shortest accepted codec-server token (characters). */
export const MIN_CODEC_TOKEN_LENGTH = 24;

/** A configuration problem; the message names the env var or file to fix. */
export class SecurityConfigError extends Error {
  override name = 'SecurityConfigError';
}

const KeyIdSchema = z.string().regex(KEY_ID_PATTERN, 'key ids use letters, digits, ".", "_" and "-" (1-64 chars)');

/** Standard base64 of exactly 32 bytes, decoded to a Buffer. */
const Base64KeySchema = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const buf = Buffer.from(s, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || buf.length !== KEY_BYTES || buf.toString('base64') !== s) {
      // Never echo the value: it is key material.
      ctx.addIssue({ code: 'custom', message: `must be standard base64 of exactly ${KEY_BYTES} bytes` });
      return z.NEVER;
    }
    return buf;
  });

export const PayloadKeyRingSchema = z
  .object({
    currentKeyId: KeyIdSchema,
    keys: z.record(KeyIdSchema, Base64KeySchema),
  })
  .strict()
  .refine((r) => Object.prototype.hasOwnProperty.call(r.keys, r.currentKeyId), {
    message: 'the current key id must be one of the keys',
    path: ['currentKeyId'],
  });

const OriginSchema = z.string().transform((s, ctx) => {
  const trimmed = s.trim().replace(/\/$/, '');
  let origin: string | undefined;
  try {
    origin = new URL(trimmed).origin;
  } catch {
    origin = undefined;
  }
  if (origin === undefined || origin === 'null' || origin !== trimmed) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not an origin like http://localhost:8233 (no path, no "*")` });
    return z.NEVER;
  }
  return origin;
});

export const SecurityConfigSchema = z
  .object({
    /** Keys for the payload codec (and, via HKDF sub-keys, the local secret store). */
    payloadKeys: PayloadKeyRingSchema,
    secretStore: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('local'), dir: z.string().min(1) }).strict(),
      z
        .object({
          kind: z.literal('keyvault'),
          vaultUrl: z.url({ protocol: /^https$/, error: 'KEY_VAULT_URL must be an https:// URL' }),
        })
        .strict(),
    ]),
    codecServer: z
      .object({
        host: z.string().min(1).default(DEFAULT_CODEC_SERVER_HOST),
        port: z.number().int().min(0).max(65535).default(DEFAULT_CODEC_SERVER_PORT),
        /** Bearer token the codec server requires. Optional here; the codec server itself refuses to start without. */
        token: z.string().min(MIN_CODEC_TOKEN_LENGTH).optional(),
        corsOrigins: z.array(OriginSchema).default([...DEFAULT_CODEC_CORS_ORIGINS]),
      })
      .strict(),
  })
  .strict();

export type SecurityConfig = z.output<typeof SecurityConfigSchema>;
export type SecurityConfigInput = z.input<typeof SecurityConfigSchema>;

export interface LoadSecurityConfigOptions {
  /** Directory that relative default paths (data/…) resolve against. Default: process.cwd(). */
  baseDir?: string;
  /**
   * When neither PAYLOAD_KEYS nor PAYLOAD_KEY_FILE is set: generate/reuse `data/keys/payload-keys.json` (local
   * runs). Default: true unless SECRET_STORE=keyvault (a deployed setup must bring its keys).
   */
  generateLocalKeyFile?: boolean;
  /** Where notices go (generated files, …). Default: console.warn. */
  onWarning?: (message: string) => void;
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function formatIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Raw (string) key ring before validation. */
interface RawKeyRing {
  current?: string;
  keys: Record<string, string>;
}

/** Parses the JSON form `{ "current": "k2", "keys": { ... } }` or a plain `{ "k1": "<b64>", ... }` map. */
function parseKeyJson(text: string, where: string): RawKeyRing {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SecurityConfigError(`${where} is not valid JSON`);
  }
  const Shape = z.union([
    z.object({ current: z.string().optional(), keys: z.record(z.string(), z.string()) }).strict(),
    z.record(z.string(), z.string()),
  ]);
  const r = Shape.safeParse(parsed);
  if (!r.success) {
    throw new SecurityConfigError(
      `${where} must be {"current": "<id>", "keys": {"<id>": "<base64 32 bytes>"}} or {"<id>": "<base64>"}`,
    );
  }
  const v = r.data;
  if ('keys' in v && typeof v.keys === 'object') {
    const out: RawKeyRing = { keys: v.keys as Record<string, string> };
    if (typeof v.current === 'string') out.current = v.current;
    return out;
  }
  return { keys: v as Record<string, string> };
}

/** Parses PAYLOAD_KEYS: JSON, or `id:base64,id2:base64`. */
function parsePayloadKeysEnv(value: string): RawKeyRing {
  if (value.startsWith('{')) return parseKeyJson(value, 'PAYLOAD_KEYS');
  const keys: Record<string, string> = {};
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) throw new SecurityConfigError('PAYLOAD_KEYS entries must look like id:base64key (comma-separated)');
    const id = item.slice(0, colon).trim();
    if (Object.prototype.hasOwnProperty.call(keys, id)) {
      throw new SecurityConfigError(`PAYLOAD_KEYS lists key id "${id}" twice`);
    }
    keys[id] = item.slice(colon + 1).trim();
  }
  return { keys };
}

/** Throws unless `file` is readable by its owner only (POSIX); a no-op on Windows. */
export function assertOwnerOnlyFile(file: string, what: string): void {
  if (process.platform === 'win32') return;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new SecurityConfigError(`${what} ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (!st.isFile()) throw new SecurityConfigError(`${what} ${file} is not a regular file`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecurityConfigError(
      `${what} ${file} has mode 0${mode.toString(8)}; it holds secrets and must be 0600 (run: chmod 600 '${file}')`,
    );
  }
}

function readKeyFile(file: string): RawKeyRing {
  assertOwnerOnlyFile(file, 'PAYLOAD_KEY_FILE');
  return parseKeyJson(fs.readFileSync(file, 'utf8'), `PAYLOAD_KEY_FILE ${file}`);
}

function readTokenFile(file: string): string {
  assertOwnerOnlyFile(file, 'CODEC_SERVER_TOKEN_FILE');
  return fs.readFileSync(file, 'utf8').trim();
}

/** Walks up from `dir` to the directory holding `.git`, if any. */
function findGitRoot(dir: string): string | undefined {
  let cur = path.resolve(dir);
  for (;;) {
    if (fs.existsSync(path.join(cur, '.git'))) return cur;
    const parent = path.dirname(cur);
    if (parent === cur) return undefined;
    cur = parent;
  }
}

/**
 * Refuses to write a secret file inside a git work tree unless git ignores that path, so a generated key can never
 * be committed by `git add -A`.
 */
export function assertNotTrackable(file: string): void {
  const abs = path.resolve(file);
  const root = findGitRoot(path.dirname(abs));
  if (root === undefined) return;
  const rel = path.relative(root, abs);
  try {
    execFileSync('git', ['-C', root, 'check-ignore', '-q', '--no-index', '--', rel], { stdio: 'ignore' });
    return; // exit 0: ignored
  } catch (e) {
    const status = (e as { status?: number | null }).status;
    if (status === 1) {
      throw new SecurityConfigError(
        `refusing to create secret file ${abs}: it is inside the git work tree ${root} and not gitignored ` +
          `(use a path under data/ or outside the repository)`,
      );
    }
    throw new SecurityConfigError(`cannot verify that ${abs} is gitignored (git check-ignore failed): ${String(e)}`);
  }
}

/** Writes `content` to a new file with mode 0600, failing if it exists (atomic create via link). */
function createSecretFileExclusive(file: string, content: string): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Local runs: returns `path`, creating it first if missing with one fresh random key
 * (`{ "current": "k1", "keys": { "k1": "<base64>" } }`, mode 0600, directory 0700). Refuses paths git would track.
 * An existing file is left alone but must be mode 0600.
 */
export function ensureLocalKeyFile(file: string = DEFAULT_LOCAL_KEY_FILE): { path: string; created: boolean } {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    assertNotTrackable(abs);
    const content = `${JSON.stringify({ current: 'k1', keys: { k1: generateKey().toString('base64') } }, null, 2)}\n`;
    const created = createSecretFileExclusive(abs, content);
    assertOwnerOnlyFile(abs, 'PAYLOAD_KEY_FILE');
    return { path: abs, created };
  }
  assertOwnerOnlyFile(abs, 'PAYLOAD_KEY_FILE');
  return { path: abs, created: false };
}

/** Local runs: returns a codec-server token file, creating it (random 32 bytes, base64url, mode 0600) if missing. */
export function ensureLocalTokenFile(file: string = DEFAULT_LOCAL_CODEC_TOKEN_FILE): {
  path: string;
  created: boolean;
} {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    assertNotTrackable(abs);
    const created = createSecretFileExclusive(abs, `${randomBytes(32).toString('base64url')}\n`);
    assertOwnerOnlyFile(abs, 'CODEC_SERVER_TOKEN_FILE');
    return { path: abs, created };
  }
  assertOwnerOnlyFile(abs, 'CODEC_SERVER_TOKEN_FILE');
  return { path: abs, created: false };
}

function resolveCurrent(raw: RawKeyRing, env: Env, source: string): string {
  const fromEnv = nonEmpty(env, 'PAYLOAD_CURRENT_KEY_ID');
  if (fromEnv !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(raw.keys, fromEnv)) {
      throw new SecurityConfigError(
        `PAYLOAD_CURRENT_KEY_ID="${fromEnv}" is not one of the keys in ${source} (${Object.keys(raw.keys).join(', ')})`,
      );
    }
    return fromEnv;
  }
  if (raw.current !== undefined) return raw.current;
  const ids = Object.keys(raw.keys);
  if (ids.length === 1 && ids[0] !== undefined) return ids[0];
  throw new SecurityConfigError(
    `${source} holds ${ids.length} keys (${ids.join(', ')}); set PAYLOAD_CURRENT_KEY_ID (or "current" in the JSON) ` +
      `to the one new payloads are encrypted with`,
  );
}

function loadKeyRing(env: Env, opts: Required<LoadSecurityConfigOptions>, storeKind: string): PayloadKeyRing {
  const inline = nonEmpty(env, 'PAYLOAD_KEYS');
  const fileVar = nonEmpty(env, 'PAYLOAD_KEY_FILE');
  if (inline !== undefined && fileVar !== undefined) {
    throw new SecurityConfigError('set either PAYLOAD_KEYS or PAYLOAD_KEY_FILE, not both');
  }
  let raw: RawKeyRing;
  let source: string;
  if (inline !== undefined) {
    raw = parsePayloadKeysEnv(inline);
    source = 'PAYLOAD_KEYS';
  } else if (fileVar !== undefined) {
    const file = path.resolve(opts.baseDir, fileVar);
    raw = readKeyFile(file);
    source = `PAYLOAD_KEY_FILE ${file}`;
  } else {
    const generate = opts.generateLocalKeyFile && storeKind !== 'keyvault';
    if (!generate) {
      throw new SecurityConfigError(
        'no payload keys: set PAYLOAD_KEYS (id:base64key,…) or PAYLOAD_KEY_FILE (JSON key file, mode 0600)',
      );
    }
    const { path: file, created } = ensureLocalKeyFile(path.resolve(opts.baseDir, DEFAULT_LOCAL_KEY_FILE));
    if (created) opts.onWarning(`generated a local payload key file at ${file} (mode 0600); back it up or lose access to encrypted histories`);
    raw = readKeyFile(file);
    source = `PAYLOAD_KEY_FILE ${file}`;
  }
  if (Object.keys(raw.keys).length === 0) throw new SecurityConfigError(`${source} holds no keys`);
  const currentKeyId = resolveCurrent(raw, env, source);
  const r = PayloadKeyRingSchema.safeParse({ currentKeyId, keys: raw.keys });
  if (!r.success) throw new SecurityConfigError(`${source}: ${formatIssues(r.error)}`);
  return r.data;
}

/**
 * Reads the security configuration from environment variables:
 * PAYLOAD_KEYS | PAYLOAD_KEY_FILE, PAYLOAD_CURRENT_KEY_ID, SECRET_STORE (local|keyvault), SECRET_STORE_DIR,
 * KEY_VAULT_URL, CODEC_SERVER_HOST, CODEC_SERVER_PORT, CODEC_SERVER_TOKEN | CODEC_SERVER_TOKEN_FILE, CODEC_CORS_ORIGINS.
 * Throws {@link SecurityConfigError} naming the variable or file at fault.
 */
export function loadSecurityConfig(env: Env = process.env, options: LoadSecurityConfigOptions = {}): SecurityConfig {
  const opts: Required<LoadSecurityConfigOptions> = {
    baseDir: options.baseDir ?? process.cwd(),
    generateLocalKeyFile: options.generateLocalKeyFile ?? true,
    onWarning: options.onWarning ?? ((m: string) => console.warn(`[security] ${m}`)),
  };

  const storeKind = nonEmpty(env, 'SECRET_STORE') ?? 'local';
  if (storeKind !== 'local' && storeKind !== 'keyvault') {
    throw new SecurityConfigError(`SECRET_STORE must be "local" or "keyvault", got "${storeKind}"`);
  }
  let secretStore: SecurityConfigInput['secretStore'];
  if (storeKind === 'keyvault') {
    const vaultUrl = nonEmpty(env, 'KEY_VAULT_URL');
    if (vaultUrl === undefined) throw new SecurityConfigError('SECRET_STORE=keyvault needs KEY_VAULT_URL (https://<vault>.vault.azure.net)');
    secretStore = { kind: 'keyvault', vaultUrl };
  } else {
    secretStore = { kind: 'local', dir: path.resolve(opts.baseDir, nonEmpty(env, 'SECRET_STORE_DIR') ?? DEFAULT_SECRET_STORE_DIR) };
  }

  const payloadKeys = loadKeyRing(env, opts, storeKind);

  const portText = nonEmpty(env, 'CODEC_SERVER_PORT');
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!Number.isInteger(port) || port > 65535) {
      throw new SecurityConfigError(`CODEC_SERVER_PORT must be an integer 0-65535, got "${portText}"`);
    }
  }
  const tokenInline = nonEmpty(env, 'CODEC_SERVER_TOKEN');
  const tokenFile = nonEmpty(env, 'CODEC_SERVER_TOKEN_FILE');
  if (tokenInline !== undefined && tokenFile !== undefined) {
    throw new SecurityConfigError('set either CODEC_SERVER_TOKEN or CODEC_SERVER_TOKEN_FILE, not both');
  }
  const token = tokenInline ?? (tokenFile !== undefined ? readTokenFile(path.resolve(opts.baseDir, tokenFile)) : undefined);
  if (token !== undefined && token.length < MIN_CODEC_TOKEN_LENGTH) {
    throw new SecurityConfigError(
      `${tokenInline !== undefined ? 'CODEC_SERVER_TOKEN' : `CODEC_SERVER_TOKEN_FILE ${tokenFile}`} must hold at least ` +
        `${MIN_CODEC_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)`,
    );
  }
  const originsText = nonEmpty(env, 'CODEC_CORS_ORIGINS');
  const corsOrigins = originsText?.split(',').map((s) => s.trim()).filter((s) => s !== '');

  const input: SecurityConfigInput = {
    payloadKeys: { currentKeyId: payloadKeys.currentKeyId, keys: Object.fromEntries(Object.entries(payloadKeys.keys).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) },
    secretStore,
    codecServer: {
      ...(nonEmpty(env, 'CODEC_SERVER_HOST') !== undefined ? { host: nonEmpty(env, 'CODEC_SERVER_HOST') } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(corsOrigins !== undefined ? { corsOrigins } : {}),
    },
  };
  const r = SecurityConfigSchema.safeParse(input);
  if (!r.success) {
    const names: Record<string, string> = {
      'secretStore.vaultUrl': 'KEY_VAULT_URL',
      'codecServer.host': 'CODEC_SERVER_HOST',
      'codecServer.port': 'CODEC_SERVER_PORT',
      'codecServer.token': 'CODEC_SERVER_TOKEN',
    };
    const msg = r.error.issues
      .map((i) => {
        const p = i.path.join('.');
        const envName = p.startsWith('codecServer.corsOrigins') ? 'CODEC_CORS_ORIGINS' : names[p] ?? p;
        return `${envName}: ${i.message}`;
      })
      .join('; ');
    throw new SecurityConfigError(msg);
  }
  return r.data;
}
