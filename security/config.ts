/**
 * The security configuration of a process: one zod schema keyed by the environment variables it reads, and one
 * loader that validates them and reads the key (and token) files they name. Loading has no side effects: it never
 * creates a file or runs a program. Local runs create their key file and codec-server token once, explicitly, with
 * {@link ensureLocalSecurityFiles} (what `npm start` does before it starts anything).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { formatProblems, problemsFromZodError } from '../common/problems';
import { KEY_BYTES, KEY_ID_PATTERN, generateKey, type PayloadKeyRing } from './keys';

/** Where local runs keep their generated payload keys, relative to the data folder (gitignored `data/`). */
export const LOCAL_KEY_FILE_IN_DATA_DIR = path.join('keys', 'payload-keys.json');
/** Where local runs keep their generated codec-server token, relative to the data folder. */
export const LOCAL_CODEC_TOKEN_FILE_IN_DATA_DIR = path.join('keys', 'codec-server-token');
/** Default location of the generated local key file, relative to the project root. */
export const DEFAULT_LOCAL_KEY_FILE = path.join('data', LOCAL_KEY_FILE_IN_DATA_DIR);
/** Default location of the generated local codec-server token, relative to the project root. */
export const DEFAULT_LOCAL_CODEC_TOKEN_FILE = path.join('data', LOCAL_CODEC_TOKEN_FILE_IN_DATA_DIR);
export const DEFAULT_SECRET_STORE_DIR = 'data/secrets';
export const DEFAULT_CODEC_SERVER_PORT = 8888;
export const DEFAULT_CODEC_SERVER_HOST = '127.0.0.1';
/** The dev server's Web UI, under the one host name the local stack uses everywhere. */
export const DEFAULT_CODEC_CORS_ORIGINS: readonly string[] = ['http://127.0.0.1:8233'];
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
  .object({ currentKeyId: KeyIdSchema, keys: z.record(KeyIdSchema, Base64KeySchema) })
  .strict()
  .refine((r) => Object.prototype.hasOwnProperty.call(r.keys, r.currentKeyId), {
    message: 'the current key id must be one of the keys',
    path: ['currentKeyId'],
  });

/** What a key file (or JSON in PAYLOAD_KEYS) holds: `{ "current": "k2", "keys": {...} }` or a plain `{ "k1": "<b64>" }`. */
const KeyJsonSchema = z.union([
  z.object({ current: z.string().optional(), keys: z.record(z.string(), z.string()) }).strict(),
  z.record(z.string(), z.string()).transform((keys) => ({ current: undefined, keys })),
]);
type RawKeyRing = { current?: string | undefined; keys: Record<string, string> };

const OriginSchema = z.string().transform((s, ctx) => {
  const trimmed = s.trim().replace(/\/$/, '');
  let origin: string | undefined;
  try {
    origin = new URL(trimmed).origin;
  } catch {
    origin = undefined;
  }
  if (origin === undefined || origin === 'null' || origin !== trimmed) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not an origin like http://127.0.0.1:8233 (no path, no "*")` });
    return z.NEVER;
  }
  return origin;
});

/** An http(s) URL under which a server is reached by browsers (e.g. behind a TLS proxy). */
export const PublicUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. https://codec.example.com' })
  .transform((u) => u.replace(/\/+$/, ''));

/** Empty or blank variables count as unset. */
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** The variables this module reads, each validated on its own; cross-variable rules follow in superRefine. */
export const SecurityEnvSchema = z
  .object({
    PAYLOAD_KEYS: optionalText,
    PAYLOAD_KEY_FILE: optionalText,
    PAYLOAD_CURRENT_KEY_ID: optionalText,
    SECRET_STORE: optionalText.pipe(z.enum(['local', 'keyvault'], { error: 'must be "local" or "keyvault"' }).default('local')),
    SECRET_STORE_DIR: optionalText,
    KEY_VAULT_URL: optionalText.pipe(z.url({ protocol: /^https$/, error: 'must be an https:// URL (https://<vault>.vault.azure.net)' }).optional()),
    CODEC_SERVER_HOST: optionalText.pipe(z.string().default(DEFAULT_CODEC_SERVER_HOST)),
    CODEC_SERVER_PORT: optionalText.pipe(
      z
        .string()
        .regex(/^\d{1,5}$/, 'must be an integer 0-65535')
        .transform(Number)
        .pipe(z.number().max(65535, 'must be an integer 0-65535'))
        .default(DEFAULT_CODEC_SERVER_PORT),
    ),
    CODEC_SERVER_TOKEN: optionalText.pipe(
      z.string().min(MIN_CODEC_TOKEN_LENGTH, `must hold at least ${MIN_CODEC_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)`).optional(),
    ),
    CODEC_SERVER_TOKEN_FILE: optionalText,
    CODEC_CORS_ORIGINS: optionalText.pipe(
      z
        .string()
        .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o !== ''))
        .pipe(z.array(OriginSchema))
        .optional(),
    ),
    /** How browsers reach the codec server; https here makes its cookies Secure. */
    CODEC_SERVER_PUBLIC_URL: optionalText.pipe(PublicUrlSchema.optional()),
  })
  .superRefine((e, ctx) => {
    if (e.PAYLOAD_KEYS !== undefined && e.PAYLOAD_KEY_FILE !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['PAYLOAD_KEYS'], message: 'set either PAYLOAD_KEYS or PAYLOAD_KEY_FILE, not both' });
    }
    if (e.CODEC_SERVER_TOKEN !== undefined && e.CODEC_SERVER_TOKEN_FILE !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['CODEC_SERVER_TOKEN'], message: 'set either CODEC_SERVER_TOKEN or CODEC_SERVER_TOKEN_FILE, not both' });
    }
    if (e.SECRET_STORE === 'keyvault' && e.KEY_VAULT_URL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['KEY_VAULT_URL'], message: 'SECRET_STORE=keyvault needs KEY_VAULT_URL (https://<vault>.vault.azure.net)' });
    }
  });
export type SecurityEnv = z.output<typeof SecurityEnvSchema>;

export interface SecurityConfig {
  /** Keys for the payload codec (and, via HKDF sub-keys, the local secret store). */
  payloadKeys: PayloadKeyRing;
  secretStore: { kind: 'local'; dir: string } | { kind: 'keyvault'; vaultUrl: string };
  codecServer: {
    host: string;
    port: number;
    /** Bearer token the codec server requires. Optional here; the codec server itself refuses to start without. */
    token?: string;
    corsOrigins: string[];
    /** How browsers reach the codec server, when it is not its bind address (TLS proxy). */
    publicUrl?: string;
  };
}

export interface LoadSecurityConfigOptions {
  /** Directory that relative paths (and the default data/… files) resolve against. Default: process.cwd(). */
  baseDir?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const formatIssues = (err: z.ZodError): string => formatProblems(problemsFromZodError(err)).join('; ');

function parseKeyJson(text: string, where: string): RawKeyRing {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SecurityConfigError(`${where} is not valid JSON`);
  }
  const r = KeyJsonSchema.safeParse(parsed);
  if (!r.success) {
    throw new SecurityConfigError(`${where} must be {"current": "<id>", "keys": {"<id>": "<base64 32 bytes>"}} or {"<id>": "<base64>"}`);
  }
  return r.data;
}

/** PAYLOAD_KEYS: JSON, or `id:base64,id2:base64`. */
function parsePayloadKeysEnv(value: string): RawKeyRing {
  if (value.startsWith('{')) return parseKeyJson(value, 'PAYLOAD_KEYS');
  const keys: Record<string, string> = {};
  for (const item of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const colon = item.indexOf(':');
    if (colon <= 0) throw new SecurityConfigError('PAYLOAD_KEYS entries must look like id:base64key (comma-separated)');
    const id = item.slice(0, colon).trim();
    if (Object.prototype.hasOwnProperty.call(keys, id)) throw new SecurityConfigError(`PAYLOAD_KEYS lists key id "${id}" twice`);
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
    throw new SecurityConfigError(`${what} ${file} has mode 0${mode.toString(8)}; it holds secrets and must be 0600 (run: chmod 600 '${file}')`);
  }
}

function readSecretFile(file: string, what: string): string {
  assertOwnerOnlyFile(file, what);
  return fs.readFileSync(file, 'utf8');
}

function resolveCurrent(raw: RawKeyRing, fromEnv: string | undefined, source: string): string {
  if (fromEnv !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(raw.keys, fromEnv)) {
      throw new SecurityConfigError(`PAYLOAD_CURRENT_KEY_ID="${fromEnv}" is not one of the keys in ${source} (${Object.keys(raw.keys).join(', ')})`);
    }
    return fromEnv;
  }
  if (raw.current !== undefined) return raw.current;
  const ids = Object.keys(raw.keys);
  if (ids.length === 1 && ids[0] !== undefined) return ids[0];
  throw new SecurityConfigError(
    `${source} holds ${ids.length} keys (${ids.join(', ')}); set PAYLOAD_CURRENT_KEY_ID (or "current" in the JSON) to the one new payloads are encrypted with`,
  );
}

function loadKeyRing(e: SecurityEnv, baseDir: string): PayloadKeyRing {
  let raw: RawKeyRing;
  let source: string;
  if (e.PAYLOAD_KEYS !== undefined) {
    raw = parsePayloadKeysEnv(e.PAYLOAD_KEYS);
    source = 'PAYLOAD_KEYS';
  } else {
    const localDefault = path.resolve(baseDir, DEFAULT_LOCAL_KEY_FILE);
    const useLocalDefault = e.PAYLOAD_KEY_FILE === undefined && e.SECRET_STORE === 'local' && fs.existsSync(localDefault);
    if (e.PAYLOAD_KEY_FILE === undefined && !useLocalDefault) {
      throw new SecurityConfigError(
        `no payload keys: set PAYLOAD_KEYS (id:base64key,…) or PAYLOAD_KEY_FILE (JSON key file, mode 0600)` +
          (e.SECRET_STORE === 'local' ? `, or run \`npm start\` once to create ${DEFAULT_LOCAL_KEY_FILE}` : ''),
      );
    }
    const file = e.PAYLOAD_KEY_FILE !== undefined ? path.resolve(baseDir, e.PAYLOAD_KEY_FILE) : localDefault;
    source = `PAYLOAD_KEY_FILE ${file}`;
    raw = parseKeyJson(readSecretFile(file, 'PAYLOAD_KEY_FILE'), source);
  }
  if (Object.keys(raw.keys).length === 0) throw new SecurityConfigError(`${source} holds no keys`);
  const currentKeyId = resolveCurrent(raw, e.PAYLOAD_CURRENT_KEY_ID, source);
  const r = PayloadKeyRingSchema.safeParse({ currentKeyId, keys: raw.keys });
  if (!r.success) throw new SecurityConfigError(`${source}: ${formatIssues(r.error)}`);
  return r.data;
}

function loadToken(e: SecurityEnv, baseDir: string): string | undefined {
  if (e.CODEC_SERVER_TOKEN !== undefined) return e.CODEC_SERVER_TOKEN;
  if (e.CODEC_SERVER_TOKEN_FILE === undefined) return undefined;
  const file = path.resolve(baseDir, e.CODEC_SERVER_TOKEN_FILE);
  const token = readSecretFile(file, 'CODEC_SERVER_TOKEN_FILE').trim();
  if (token.length < MIN_CODEC_TOKEN_LENGTH) {
    throw new SecurityConfigError(`CODEC_SERVER_TOKEN_FILE ${file} must hold at least ${MIN_CODEC_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)`);
  }
  return token;
}

/**
 * Reads the security configuration from the environment ({@link SecurityEnvSchema}) and the key/token files it
 * names; without PAYLOAD_KEYS / PAYLOAD_KEY_FILE a local run uses data/keys/payload-keys.json if it exists.
 * Throws {@link SecurityConfigError} naming the variable or file at fault, never echoing key material.
 */
export function loadSecurityConfig(env: Env = process.env, options: LoadSecurityConfigOptions = {}): SecurityConfig {
  const baseDir = options.baseDir ?? process.cwd();
  const parsed = SecurityEnvSchema.safeParse(env);
  if (!parsed.success) throw new SecurityConfigError(formatIssues(parsed.error));
  const e = parsed.data;
  const token = loadToken(e, baseDir);
  return {
    payloadKeys: loadKeyRing(e, baseDir),
    secretStore:
      e.SECRET_STORE === 'keyvault'
        ? { kind: 'keyvault', vaultUrl: e.KEY_VAULT_URL ?? '' }
        : { kind: 'local', dir: path.resolve(baseDir, e.SECRET_STORE_DIR ?? DEFAULT_SECRET_STORE_DIR) },
    codecServer: {
      host: e.CODEC_SERVER_HOST,
      port: e.CODEC_SERVER_PORT,
      ...(token !== undefined ? { token } : {}),
      corsOrigins: e.CODEC_CORS_ORIGINS ?? [...DEFAULT_CODEC_CORS_ORIGINS],
      ...(e.CODEC_SERVER_PUBLIC_URL !== undefined ? { publicUrl: e.CODEC_SERVER_PUBLIC_URL } : {}),
    },
  };
}

// ---------- explicit set-up for local runs (the only code here that writes files) ----------

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
  } catch (e) {
    if ((e as { status?: number | null }).status === 1) {
      throw new SecurityConfigError(
        `refusing to create secret file ${abs}: it is inside the git work tree ${root} and not gitignored (use a path under data/ or outside the repository)`,
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

function ensureSecretFile(file: string, what: string, content: () => string): { path: string; created: boolean } {
  const abs = path.resolve(file);
  let created = false;
  if (!fs.existsSync(abs)) {
    assertNotTrackable(abs);
    created = createSecretFileExclusive(abs, content());
  }
  assertOwnerOnlyFile(abs, what);
  return { path: abs, created };
}

/**
 * Returns `file`, creating it first if missing with one fresh random key (`{ "current": "k1", "keys": { "k1": … } }`,
 * mode 0600, directory 0700). Refuses paths git would track. An existing file is left alone but must be mode 0600.
 */
export function ensureLocalKeyFile(file: string = DEFAULT_LOCAL_KEY_FILE): { path: string; created: boolean } {
  return ensureSecretFile(file, 'PAYLOAD_KEY_FILE', () => `${JSON.stringify({ current: 'k1', keys: { k1: generateKey().toString('base64') } }, null, 2)}\n`);
}

/** Returns a codec-server token file, creating it (random 32 bytes, base64url, mode 0600) if missing. */
export function ensureLocalTokenFile(file: string = DEFAULT_LOCAL_CODEC_TOKEN_FILE): { path: string; created: boolean } {
  return ensureSecretFile(file, 'CODEC_SERVER_TOKEN_FILE', () => `${randomBytes(32).toString('base64url')}\n`);
}

export interface LocalSecurityFiles {
  keyFile: { path: string; created: boolean };
  tokenFile: { path: string; created: boolean };
}

/**
 * The explicit set-up step of a local run: `<dataDir>/keys/payload-keys.json` and `<dataDir>/keys/codec-server-token`,
 * each created once (mode 0600, folder 0700) and reused afterwards. Call it before {@link loadSecurityConfig} in
 * the process that owns the data folder (`npm start`); with `dataDir` = `<project>/data`, every process of the
 * project then finds the keys without configuration.
 */
export function ensureLocalSecurityFiles(dataDir: string): LocalSecurityFiles {
  return {
    keyFile: ensureLocalKeyFile(path.join(dataDir, LOCAL_KEY_FILE_IN_DATA_DIR)),
    tokenFile: ensureLocalTokenFile(path.join(dataDir, LOCAL_CODEC_TOKEN_FILE_IN_DATA_DIR)),
  };
}
