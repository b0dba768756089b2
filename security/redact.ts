/**
 * Project-wide redaction of secrets from text, log messages and log metadata. Standalone on purpose (no imports from
 * activities/); safe to use anywhere outside the workflow sandbox.
 */
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';

export const REDACTED = '[REDACTED]';

export interface RedactOptions {
  /** Payload key ring (or anything with `keys`): base64, base64url and hex forms of each key are redacted. */
  keyRing?: { readonly keys: Readonly<Record<string, Uint8Array>> };
  /** Further literal secrets to redact wherever they appear (values shorter than 8 characters are ignored). */
  secrets?: readonly string[];
}

interface Rule {
  re: RegExp;
  replace: string | ((match: string, ...groups: string[]) => string);
}

// Order matters: header/field rules first, so their whole value goes, then shape rules.
const RULES: readonly Rule[] = [
  // Authorization / Proxy-Authorization headers, in HTTP text, JSON or JS-ish dumps.
  {
    re: /((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|sharedkey|sharedkeylite|digest|negotiate)\s+)?[^"'\r\n,}]+/gi,
    replace: (_m, prefix: string, scheme: string | undefined) => `${prefix}${scheme ? `${scheme} ` : ''}${REDACTED}`,
  },
  // Bearer tokens anywhere else.
  { re: /\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, replace: `$1${REDACTED}` },
  // Connection-string secrets.
  {
    re: /\b(AccountKey|SharedAccessKey|SharedAccessSignature|SharedAccessKeyName_?Value|Password|Pwd)=([^;"'\s]+)/gi,
    replace: `$1=${REDACTED}`,
  },
  // SAS signature (and similar signed-URL secrets).
  { re: /([?&;]|\b)(sig|signature|x-ms-signature)=([^&\s"'<>;]+)/gi, replace: `$1$2=${REDACTED}` },
  // JSON / object-literal fields whose name says they hold a secret.
  {
    re: /(["']?[A-Za-z0-9_-]*(?:password|passwd|secret|token|accountkey|apikey|api_key|privatekey|private_key|clientsecret|sas)["']?\s*[:=]\s*)("([^"\\]|\\.)*"|'([^'\\]|\\.)*')/gi,
    replace: (_m, prefix: string, value: string) => `${prefix}${value[0] ?? '"'}${REDACTED}${value[0] ?? '"'}`,
  },
  // BitLocker recovery passwords: 8 groups of 6 digits.
  { re: /(?<!\d)\d{6}(?:-\d{6}){7}(?!\d)/g, replace: '[REDACTED:bitlocker-recovery-password]' },
  // Storage account keys: 64 bytes base64 = 86 chars + "==".
  { re: /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/g, replace: '[REDACTED:storage-account-key]' },
  // JWTs (access tokens without a "Bearer" prefix).
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: '[REDACTED:jwt]' },
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const literalCache = new WeakMap<object, RegExp | null>();

function literalsOf(options: RedactOptions): string[] {
  const out: string[] = [];
  for (const key of Object.values(options.keyRing?.keys ?? {})) {
    const b = Buffer.from(key);
    out.push(b.toString('base64'), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase());
  }
  for (const s of options.secrets ?? []) if (s.length >= 8) out.push(s);
  return out;
}

function literalRegex(options: RedactOptions): RegExp | null {
  const cached = literalCache.get(options);
  if (cached !== undefined) return cached;
  const lits = literalsOf(options).sort((a, b) => b.length - a.length);
  const re = lits.length ? new RegExp(lits.map(escapeRegExp).join('|'), 'g') : null;
  literalCache.set(options, re);
  return re;
}

/**
 * Replaces secrets in `text`: BitLocker recovery passwords, bearer tokens, Authorization headers, storage account
 * keys (88-char base64 ending "=="), SAS `sig=` values, connection-string keys, JSON fields named like secrets,
 * JWTs, and — when given — the key ring's keys and other literal secrets.
 */
export function redactSecrets(text: string, options: RedactOptions = {}): string {
  let out = text;
  const lit = literalRegex(options);
  if (lit) out = out.replace(lit, REDACTED);
  for (const { re, replace } of RULES) {
    re.lastIndex = 0;
    out = typeof replace === 'string' ? out.replace(re, replace) : out.replace(re, replace as (...a: string[]) => string);
  }
  return out;
}

/** Object keys whose string values are replaced wholesale in {@link redactObject}. */
const SENSITIVE_KEY =
  /^(?:.*(?:password|passwd|secret|token|apikey|api_key|accountkey|account_key|privatekey|private_key|sas|signature|credential)s?|authorization|proxy-authorization|cookie|set-cookie|key|recoverykey|bitlockerkey)$/i;

/** True for keys like `password`, `accessToken`, `authorization`, `accountKey` (but not `secretRef`, `tokenCount`). */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

const MAX_DEPTH = 12;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Deep copy of `value` with every string redacted by {@link redactSecrets} and string values under sensitive keys
 * replaced by "[REDACTED]". Handles arrays, plain objects, Maps, Sets, Errors (message, stack, own fields; prototype
 * kept), cycles and symbol keys. Binary data equal to a ring key is redacted; other binary data is kept.
 */
export function redactObject<T>(value: T, options: RedactOptions = {}): T {
  const seen = new WeakMap<object, unknown>();
  const ringKeys = Object.values(options.keyRing?.keys ?? {});

  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redactSecrets(v, options);
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return seen.get(v);
    if (depth > MAX_DEPTH) return '[REDACTED:too-deep]';
    if (v instanceof Uint8Array) return ringKeys.some((k) => sameBytes(k, v)) ? REDACTED : v;
    if (v instanceof Date || v instanceof RegExp) return v;
    if (Array.isArray(v)) {
      const arr: unknown[] = [];
      seen.set(v, arr);
      for (const item of v) arr.push(walk(item, depth + 1));
      return arr;
    }
    if (v instanceof Map) {
      const m = new Map<unknown, unknown>();
      seen.set(v, m);
      for (const [k, item] of v) {
        m.set(k, typeof k === 'string' && isSensitiveKey(k) && typeof item === 'string' ? REDACTED : walk(item, depth + 1));
      }
      return m;
    }
    if (v instanceof Set) {
      const s = new Set<unknown>();
      seen.set(v, s);
      for (const item of v) s.add(walk(item, depth + 1));
      return s;
    }
    const copy: Record<string | symbol, unknown> = Object.create(
      v instanceof Error ? Object.getPrototypeOf(v) : Object.getPrototypeOf(v) === null ? null : Object.prototype,
    ) as Record<string | symbol, unknown>;
    seen.set(v, copy);
    if (v instanceof Error) {
      for (const k of ['name', 'message', 'stack'] as const) {
        const raw: unknown = (v as unknown as Record<string, unknown>)[k];
        if (typeof raw === 'string') {
          Object.defineProperty(copy, k, { value: walk(raw, depth + 1), writable: true, configurable: true, enumerable: false });
        }
      }
      if ('cause' in v && v.cause !== undefined) {
        Object.defineProperty(copy, 'cause', { value: walk(v.cause, depth + 1), writable: true, configurable: true, enumerable: false });
      }
    }
    for (const k of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (!d || !d.enumerable) continue;
      const item: unknown = 'value' in d ? d.value : undefined;
      copy[k] = typeof k === 'string' && isSensitiveKey(k) && (typeof item === 'string' || typeof item === 'number') ? REDACTED : walk(item, depth + 1);
    }
    return copy;
  };
  return walk(value, 0) as T;
}

/** Log levels from least to most severe, as Temporal's loggers order them. */
const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * Wraps a Temporal `Logger` (e.g. `DefaultLogger` for `Runtime.install({ logger })`) so every message and meta value
 * passes through {@link redactSecrets} / {@link redactObject} before reaching `inner`. With `level`, entries below it are
 * dropped before redaction: the SDK logs every workflow and activity start at DEBUG/INFO, and running the secret
 * patterns over lines nobody will see cost a tenth of a busy worker's main thread.
 */
export function redactingLogger(inner: Logger, options: RedactOptions & { level?: LogLevel } = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'TRACE');
  const meta = (m: LogMetadata | undefined): LogMetadata | undefined => (m === undefined ? undefined : redactObject(m, options));
  const msg = (s: string): string => redactSecrets(String(s), options);
  const log = (level: LogLevel, message: string, m?: LogMetadata): unknown =>
    LOG_LEVELS.indexOf(level) < threshold ? undefined : inner.log(level, msg(message), meta(m));
  return {
    log,
    trace: (message: string, m?: LogMetadata): unknown => log('TRACE', message, m),
    debug: (message: string, m?: LogMetadata): unknown => log('DEBUG', message, m),
    info: (message: string, m?: LogMetadata): unknown => log('INFO', message, m),
    warn: (message: string, m?: LogMetadata): unknown => log('WARN', message, m),
    error: (message: string, m?: LogMetadata): unknown => log('ERROR', message, m),
  };
}
